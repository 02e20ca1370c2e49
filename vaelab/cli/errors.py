"""The CLI's one error surface: any failure becomes one line on stderr (what, which file, what to do) and an exit code.

Exit codes: 2 wrong input (ValueError, TypeError: the message names the argument and what is accepted), 1 any
other failure, 130 Ctrl-C. `python -m vaelab --debug ...` re-raises instead, with the full traceback.
"""
from __future__ import annotations

import pickle
import zipfile

UNSAFE_HINTS = ("weights_only", "allow_pickle")   # torch's and numpy's texts suggest unsafe loading: never shown


def _flat(text: str) -> str:
    return " ".join(line.strip() for line in str(text).splitlines() if line.strip())


def _os_error(err: OSError) -> str:
    where = err.filename if err.filename is not None else "a file"
    if isinstance(err, FileNotFoundError):
        return f"{where} does not exist; check the path"
    if isinstance(err, IsADirectoryError):
        return f"{where} is a folder where a file was expected; give the file's path"
    if isinstance(err, NotADirectoryError):
        return f"{where}: part of this path is a regular file, not a folder; choose another path"
    if isinstance(err, PermissionError):
        return (f"{where}: permission denied; use a folder you can write to (VAELAB_CACHE for trained models, "
                "VAELAB_DATA_DIR for datasets) or fix its permissions")
    if isinstance(err, FileExistsError):
        return f"{where} already exists; choose another path or remove it"
    return f"{where}: {err.strerror or _flat(str(err)) or type(err).__name__}"


def describe(err: BaseException) -> tuple[str, int]:
    """(one-line message, exit code) for an error raised by a subcommand."""
    from ..data.download import DownloadError, OfflineError
    from ..train.loop import NonFiniteLossError

    if isinstance(err, KeyboardInterrupt):
        return _flat(str(err)) or "interrupted (Ctrl-C)", 130
    if isinstance(err, (ValueError, TypeError)) and not isinstance(err, UnicodeError):
        text, code = _flat(str(err)), 2
    elif isinstance(err, NonFiniteLossError):
        text, code = f"training stopped: {_flat(str(err))}", 1
    elif isinstance(err, (OfflineError, DownloadError)):
        text, code = _flat(str(err)), 1
    elif isinstance(err, OSError):
        text, code = _os_error(err), 1
    elif isinstance(err, ImportError):        # an optional extra that is not installed (e.g. --ray): how to install it
        text, code = _flat(str(err)), 1
    elif isinstance(err, pickle.UnpicklingError):
        text, code = ("a file holds pickled Python objects other than tensors and plain data, which vaelab never "
                      "loads; it is not a vaelab file, or it is corrupt: delete it and create it again"), 1
    elif isinstance(err, (zipfile.BadZipFile, EOFError, UnicodeError)):
        text, code = f"a file is corrupt or truncated ({type(err).__name__}: {_flat(str(err))}); delete it and "\
                     "create it again", 1
    elif isinstance(err, (RuntimeError, MemoryError)):
        text, code = _flat(str(err)) or type(err).__name__, 1
    else:   # a bug in vaelab rather than a problem with the input: still one line, and how to see more
        text, code = (f"internal error {type(err).__name__}: {_flat(str(err))}; run again with --debug for the "
                      "traceback and report it"), 1
    if any(hint in text for hint in UNSAFE_HINTS):
        text = (f"{type(err).__name__}: a file could not be loaded safely (it holds more than tensors and plain "
                "data); it is not a vaelab file, or it is corrupt: delete it and create it again")
    return text, code
