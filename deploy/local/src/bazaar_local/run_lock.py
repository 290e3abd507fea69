"""One `bazaar up` per data folder, enforced with an advisory lock the kernel drops on exit."""

from __future__ import annotations

import fcntl
import os
from pathlib import Path


class AlreadyRunningError(RuntimeError):
    def __init__(self, pid: int | None) -> None:
        super().__init__(f"Bazaar is already running (pid {pid if pid else 'unknown'})")
        self.pid = pid


class RunLock:
    """Held while `up` runs; the lock file records the holder's pid."""

    def __init__(self, path: Path, fd: int) -> None:
        self.path = path
        self._fd: int | None = fd

    def release(self) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> RunLock:
        return self

    def __exit__(self, *_: object) -> None:
        self.release()


def lock_path(data_dir: Path) -> Path:
    return data_dir / "run" / "lock"


def acquire_run_lock(data_dir: Path) -> RunLock:
    """Take the data folder's lock or raise `AlreadyRunningError` without changing anything."""
    path = lock_path(data_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    # No O_TRUNC: the holder's pid must survive a failed attempt.
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = _read_pid(fd)
        os.close(fd)
        raise AlreadyRunningError(holder) from None
    os.ftruncate(fd, 0)
    os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
    return RunLock(path, fd)


def _read_pid(fd: int) -> int | None:
    text = os.pread(fd, 64, 0).decode(errors="replace").strip()
    return int(text) if text.isdigit() else None
