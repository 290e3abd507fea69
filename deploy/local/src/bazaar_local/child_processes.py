"""Starting and ending the launcher's child processes so none outlives it."""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path

PR_SET_PDEATHSIG = 1
HEADER_MARK = "===== bazaar:"


def death_signal_setter(sig: signal.Signals) -> Callable[[], None]:
    """A `preexec_fn` asking the kernel to send `sig` to the child when the launcher dies.

    The signal fires when the *thread* that forked exits, so children must be started from a
    long-lived thread (the main one in practice).
    """

    def set_death_signal() -> None:
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(PR_SET_PDEATHSIG, int(sig), 0, 0, 0)
        except (OSError, AttributeError):
            # Not Linux: children still get a SIGTERM from stop(); only crash cleanup is lost.
            pass

    return set_death_signal


def append_log_header(log_file: Path, title: str) -> None:
    log_file.parent.mkdir(parents=True, exist_ok=True)
    with log_file.open("a", encoding="utf-8") as log:
        stamp = datetime.now(UTC).isoformat(timespec="seconds")
        log.write(f"\n{HEADER_MARK} {title} at {stamp} =====\n")


def spawn_logged(
    argv: Sequence[str],
    *,
    log_file: Path,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    user: str | None = None,
    death_signal: signal.Signals = signal.SIGTERM,
) -> subprocess.Popen[bytes]:
    """Start `argv` in its own session with stdout and stderr appended to `log_file`.

    Its own session keeps a terminal's Ctrl-C away from it, so the launcher decides the order
    in which things stop.
    """
    append_log_header(log_file, f"starting {' '.join(argv)}")
    with log_file.open("ab") as log:
        return subprocess.Popen(
            list(argv),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=dict(env) if env is not None else None,
            cwd=cwd,
            user=user,
            group=user,
            extra_groups=[] if user else None,
            start_new_session=True,
            preexec_fn=death_signal_setter(death_signal),
        )


def signal_group(process: subprocess.Popen[bytes], sig: signal.Signals) -> None:
    """Send `sig` to the child's whole process group (it leads its own session)."""
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, sig)
    except ProcessLookupError:
        pass
    except PermissionError:
        process.send_signal(sig)


def terminate_all(
    processes: Sequence[subprocess.Popen[bytes]],
    *,
    grace: float = 10.0,
    first_signal: signal.Signals = signal.SIGTERM,
) -> None:
    """Ask every process to stop, wait up to `grace` seconds in total, then kill what is left."""
    for process in processes:
        signal_group(process, first_signal)
    deadline = time.monotonic() + grace
    for process in processes:
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=max(0.0, deadline - time.monotonic()))
    for process in processes:
        if process.poll() is None:
            signal_group(process, signal.SIGKILL)
            process.wait()
        else:
            # Workers the child forked may still be in its group after it exits.
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(process.pid, signal.SIGKILL)


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def log_tail(log_file: Path, lines: int = 40) -> str:
    """The last `lines` lines of a log, to put in an error message."""
    try:
        with log_file.open("rb") as log:
            log.seek(0, os.SEEK_END)
            size = log.tell()
            log.seek(max(0, size - 64 * 1024))
            text = log.read().decode("utf-8", errors="replace")
    except OSError:
        return f"(no log at {log_file})"
    # Only this run's lines: earlier runs appended to the same file before the last header.
    header = text.rfind(HEADER_MARK)
    if header >= 0:
        text = text[header:]
    return "\n".join(text.splitlines()[-lines:])
