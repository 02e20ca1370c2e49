"""Checksummed, atomic downloads for the datasets that are not built in.

fetch() either leaves a file whose SHA-256 matches the expected digest at `dest`, or raises and leaves
nothing new behind: the bytes go to a temporary file beside `dest` and are moved into place with
os.replace only after the digest checks out, so an interrupted or corrupted download can never be
mistaken for a good one on the next run.
"""
from __future__ import annotations

import hashlib
import http.client
import os
import socket
import sys
import urllib.error
import urllib.request
from pathlib import Path

from ..files import publish, temp_file

_CHUNK = 1 << 20  # bytes per read: large enough to be fast, small enough to stream a 78 MB file
_USER_AGENT = "vaelab (https://pypi.org/project/vaelab)"


class DownloadError(RuntimeError):
    """The server answered but the file is wrong: HTTP error, truncated body, digest mismatch, bad format."""


class OfflineError(RuntimeError):
    """No network (or nothing prepared and download=False); the message says what works offline instead."""


def sha256_file(path: str | os.PathLike) -> str:
    """Lower-case hex SHA-256 of a file, read in chunks so large files need no large memory."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def offline_message(wanted: str, reason: str, prepared_name: str | None = None) -> str:
    """The text of every OfflineError: what was wanted, why it failed, and the ways forward."""
    # Built from vaelab.data.offline rather than registry.OFFLINE: same list, without importing torch.
    from .offline import TOY

    always = ", ".join(("digits",) + tuple(TOY))
    example = prepared_name or "binarized_mnist.npz"
    return (f"could not get {wanted}: {reason}.\n"
            f"  - Datasets that always work with no network: {always}.\n"
            f"  - Or set VAELAB_DATA_DIR (or pass root=...) to a folder that already holds the prepared "
            f"file ({example}); copy it there from a machine that has a network connection.")


def fetch(url: str, dest: str | os.PathLike, sha256: str | None, *, timeout: float = 60,
          allow_unverified: bool = False, prepared_name: str | None = None) -> Path:
    """Download `url` to `dest` (creating its folder) and return dest as a Path.

    sha256: the expected lower-case hex digest. None means unknown: refused with DownloadError unless
    allow_unverified=True. If dest already holds the right bytes, no network is used.
    timeout: seconds for connecting and for each read. prepared_name only sharpens the OfflineError text.
    Raises OfflineError when the host cannot be reached, DownloadError when what arrives is wrong.
    """
    dest = Path(dest)
    expected = sha256.lower() if sha256 else None
    if expected is None and not allow_unverified:
        raise DownloadError(f"no SHA-256 digest is known for {dest.name} ({url}), so its download could not be "
                            "verified; to accept it anyway pass allow_unverified=True (Python) or "
                            "--allow-unverified-download (python -m vaelab train)")
    if dest.is_file() and (expected is None or sha256_file(dest) == expected):
        return dest
    wanted = f"{dest.name} from {url}"
    fd, tmp_name = temp_file(dest, suffix=".part")     # also sweeps what a killed download left behind
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as out:
            actual, size = _stream(url, out, timeout, wanted, prepared_name)
        if expected is not None and actual != expected:
            raise DownloadError(f"SHA-256 mismatch for {url}: expected {expected}, got {actual} "
                                f"({size} bytes); the file was discarded")
        publish(tmp_name, dest)
    finally:
        # Every failure path ends here with the temp file still present; success has already moved it.
        tmp.unlink(missing_ok=True)
    return dest


def _stream(url: str, out, timeout: float, wanted: str, prepared_name: str | None) -> tuple[str, int]:
    """Copy the body of `url` into the open file `out`; return (sha256 hex, byte count)."""
    request = urllib.request.Request(url, headers={"User-Agent": _USER_AGENT})
    digest = hashlib.sha256()
    size = 0
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            length = response.headers.get("Content-Length")
            mb = f" ({int(length) / 1e6:.1f} MB)" if length and length.isdigit() else ""
            print(f"vaelab: downloading {url}{mb}", file=sys.stderr)
            for chunk in iter(lambda: response.read(_CHUNK), b""):
                digest.update(chunk)
                out.write(chunk)
                size += len(chunk)
    except urllib.error.HTTPError as err:
        # HTTPError is a URLError, but the network works: the server said no. Not an offline problem.
        raise DownloadError(f"{url} answered HTTP {err.code} {err.reason}") from err
    except (urllib.error.URLError, socket.timeout, TimeoutError, ConnectionError, socket.gaierror) as err:
        reason = getattr(err, "reason", err)
        raise OfflineError(offline_message(wanted, f"the network is unreachable ({reason})", prepared_name)) from err
    except http.client.HTTPException as err:
        raise DownloadError(f"download of {url} broke off: {err!r}") from err
    # Without a digest this is the only truncation check there is; with one it gives a clearer message.
    if length and length.isdigit() and size != int(length):
        raise DownloadError(f"download of {url} is truncated: got {size} of {length} bytes")
    return digest.hexdigest(), size
