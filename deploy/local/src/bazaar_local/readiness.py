"""Asking a service over HTTP whether it is ready, and waiting until it is."""

from __future__ import annotations

import http.client
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from bazaar_local.child_processes import log_tail


class NotReadyError(RuntimeError):
    """A process exited, or did not answer `/ready` in time; the message has its log's tail."""


@dataclass(frozen=True)
class ReadinessTarget:
    name: str
    port: int
    process: subprocess.Popen[bytes]
    log_file: Path


def answers_ready(port: int, path: str = "/ready", timeout: float = 2.0) -> bool:
    """True when `GET http://127.0.0.1:<port><path>` answers 200."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", path)
        return conn.getresponse().status == 200
    except (OSError, http.client.HTTPException):
        return False
    finally:
        conn.close()


def wait_until_ready(
    targets: Sequence[ReadinessTarget],
    *,
    timeout: float,
    on_ready: Callable[[ReadinessTarget], None] | None = None,
) -> None:
    """Poll every target's `/ready` until all answer 200; fail fast when one exits."""
    waiting = list(targets)
    deadline = time.monotonic() + timeout
    while waiting:
        for target in list(waiting):
            if answers_ready(target.port, timeout=1.0):
                waiting.remove(target)
                if on_ready is not None:
                    on_ready(target)
            elif target.process.poll() is not None:
                raise NotReadyError(
                    f"{target.name} exited with code {target.process.returncode} while starting; "
                    f"last lines of {target.log_file}:\n{log_tail(target.log_file)}"
                )
            elif time.monotonic() > deadline:
                raise NotReadyError(
                    f"{target.name} did not answer 200 on /ready within {timeout:.0f}s; "
                    f"last lines of {target.log_file}:\n{log_tail(target.log_file)}"
                )
        if waiting:
            time.sleep(0.05)
