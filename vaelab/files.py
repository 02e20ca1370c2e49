"""Files written safely: atomic replacement, stray temporary files swept, shared permissions, and file locks.

Every file vaelab writes into its cache or data directory goes through atomic_write_bytes (or temp_file): the
bytes go to `.NAME.<pid>.<random>.tmp` beside the target and are renamed over it only when complete, so a crash
leaves at worst a temporary file, never a half-written target. A process killed outright (SIGKILL, power loss)
cannot remove its temporary file; the next write into that folder does (sweep_stale_temps).
"""
from __future__ import annotations

import os
import re
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

STALE_SECONDS = 3600  # a temporary file this old is abandoned even if its pid is alive (pid reuse, another host)
_TEMP = re.compile(r"\.(?P<name>.+?)\.(?:(?P<pid>\d+)\.)?[a-z0-9_]+\.(?:tmp|part)")


def _pid_alive(pid: int) -> bool:
    if os.name != "posix":        # os.kill(pid, 0) would terminate the process on Windows: rely on age there
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:                # EPERM: alive, owned by someone else
        return True
    return True


def sweep_stale_temps(folder: Path, now: float | None = None) -> list[Path]:
    """Remove the temporary files a killed writer left in `folder`: those whose writer pid (in the name) is no
    longer running, and any older than STALE_SECONDS. Returns the paths removed; unreadable folders are skipped."""
    now = time.time() if now is None else now
    removed = []
    try:
        candidates = [p for p in Path(folder).iterdir() if p.name.startswith(".") and _TEMP.fullmatch(p.name)]
    except OSError:
        return removed
    for p in candidates:
        pid = _TEMP.fullmatch(p.name)["pid"]
        try:
            old = now - p.stat().st_mtime > STALE_SECONDS
            if old or (pid is not None and int(pid) != os.getpid() and not _pid_alive(int(pid))):
                p.unlink()
                removed.append(p)
        except OSError:            # gone already (another process swept it) or not ours to remove
            continue
    return removed


def _umask() -> int:
    try:                           # Linux: read it without changing it (os.umask is process-wide, racy in threads)
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def temp_file(path: Path, suffix: str = ".tmp") -> tuple[int, str]:
    """(fd, name) of a new temporary file beside `path`, named .NAME.<pid>.<random><suffix>; sweeps stale ones."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    sweep_stale_temps(path.parent)
    return tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.{os.getpid()}.", suffix=suffix)


def publish(tmp: str, path: Path) -> None:
    """Give the finished temporary file the permissions of a normally created file (mkstemp makes it 0600, so
    the group could not read a shared cache), then rename it over `path`."""
    os.chmod(tmp, 0o666 & ~_umask())
    os.replace(tmp, path)


def atomic_write_bytes(path: Path, write) -> None:
    """Call write(file_object) on a temp file beside `path`, fsync, then rename over `path`."""
    path = Path(path)
    fd, tmp = temp_file(path)
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        publish(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


@contextmanager
def file_lock(path: Path):
    """Hold an exclusive lock on PATH.lock (beside `path`) for a read-modify-write of `path` across processes."""
    lock = Path(path).with_name(Path(path).name + ".lock")
    lock.parent.mkdir(parents=True, exist_ok=True)
    with open(lock, "a+b") as f:
        if sys.platform == "win32":
            import msvcrt
            f.seek(0)
            while True:
                try:
                    msvcrt.locking(f.fileno(), msvcrt.LK_LOCK, 1)   # retries for 10 s, then raises
                    break
                except OSError:
                    continue
            try:
                yield
            finally:
                f.seek(0)
                msvcrt.locking(f.fileno(), msvcrt.LK_UNLCK, 1)
        else:
            import fcntl
            fcntl.flock(f.fileno(), fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(f.fileno(), fcntl.LOCK_UN)
