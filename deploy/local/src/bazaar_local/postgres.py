"""A real PostgreSQL cluster in a directory of its own, run as a child of the launcher."""

from __future__ import annotations

import os
import pwd
import secrets
import shutil
import signal
import subprocess
import time
from pathlib import Path
from urllib.parse import quote

from bazaar_local import databases
from bazaar_local.child_processes import log_tail, pid_alive, spawn_logged
from bazaar_local.postgres_binaries import PostgresBinaries, find_binaries
from bazaar_local.private_files import write_private_file
from bazaar_local.run_async import run_coroutine

SUPERUSER = "postgres"
# PostgreSQL refuses to run as root; this account runs it when the launcher is root.
SERVICE_ACCOUNT = "postgres"
FAST_SETTINGS = ("fsync=off", "synchronous_commit=off", "full_page_writes=off")


class PostgresError(RuntimeError):
    """PostgreSQL could not be initialised, started or stopped."""


class PostgresServer:
    """One cluster under `root`: `root/data` (PGDATA), `root/superuser-password` and a log.

    `fast` trades durability for speed (no fsync); meant for throwaway test clusters.
    """

    def __init__(
        self,
        root: Path,
        port: int,
        *,
        fast: bool = False,
        log_file: Path | None = None,
        binaries: PostgresBinaries | None = None,
    ) -> None:
        self.root = root
        self.port = port
        self.fast = fast
        self.data_dir = root / "data"
        self.password_file = root / "superuser-password"
        self.log_file = log_file or root / "postgres.log"
        self._binaries = binaries
        self._process: subprocess.Popen[bytes] | None = None

    # -- programs and accounts ------------------------------------------------------------

    def find_binaries(self) -> PostgresBinaries:
        if self._binaries is None:
            self._binaries = find_binaries()
        return self._binaries

    @property
    def run_as(self) -> str | None:
        """The account to run the server as, or None for the current one."""
        return SERVICE_ACCOUNT if os.geteuid() == 0 else None

    def _give_to_server_account(self, path: Path) -> None:
        if self.run_as is None:
            return
        account = pwd.getpwnam(self.run_as)
        os.chown(path, account.pw_uid, account.pw_gid)

    def _check_reachable(self) -> None:
        """Fail early, and clearly, when the server account cannot reach its data directory."""
        if self.run_as is None:
            return
        uid = pwd.getpwnam(self.run_as).pw_uid
        for directory in [self.root, *self.root.parents]:
            st = directory.stat()
            if st.st_uid != uid and not st.st_mode & 0o001:
                raise PostgresError(
                    f"{directory} is not traversable by the `{self.run_as}` account that runs "
                    "PostgreSQL when the launcher is root; use a data directory whose parents "
                    "are world-traversable (chmod o+x)."
                )

    # -- lifecycle ------------------------------------------------------------------------

    @property
    def password(self) -> str:
        return self.password_file.read_text(encoding="utf-8").strip()

    def is_initialized(self) -> bool:
        return (self.data_dir / "PG_VERSION").exists()

    def init(self, *, no_sync: bool | None = None) -> None:
        """Create the cluster once; later calls do nothing."""
        if self.is_initialized():
            return
        binaries = self.find_binaries()
        self.root.mkdir(parents=True, exist_ok=True)
        if not self.password_file.exists():
            write_private_file(self.password_file, secrets.token_urlsafe(24))
        if self.data_dir.exists():
            shutil.rmtree(self.data_dir)  # a half-made cluster from an interrupted initdb
        self._check_reachable()
        self.data_dir.mkdir(mode=0o700)
        self._give_to_server_account(self.data_dir)
        # initdb reads the password from a file; the server account must be able to read it.
        pwfile = self.root / ".initdb-password"
        write_private_file(pwfile, self.password)
        self._give_to_server_account(pwfile)
        argv = [
            str(binaries.initdb),
            "--pgdata", str(self.data_dir),
            "--username", SUPERUSER,
            "--pwfile", str(pwfile),
            "--auth-local=trust",
            "--auth-host=scram-sha-256",
            "--encoding=UTF8",
            "--locale=C.UTF-8",
        ]  # fmt: skip
        if self.fast if no_sync is None else no_sync:
            argv.append("--no-sync")
        try:
            result = subprocess.run(
                argv,
                capture_output=True,
                text=True,
                cwd=self.root,
                user=self.run_as,
                group=self.run_as,
                extra_groups=[] if self.run_as else None,
                check=False,
            )
        finally:
            pwfile.unlink(missing_ok=True)
        if result.returncode != 0:
            raise PostgresError(f"initdb failed ({result.returncode}):\n{result.stderr[-4000:]}")

    def server_argv(self) -> list[str]:
        settings = [
            "listen_addresses=127.0.0.1",
            # No Unix socket: nothing outside the launcher's TCP clients should reach it.
            "unix_socket_directories=",
            "logging_collector=off",
        ]
        if self.fast:
            settings.extend(FAST_SETTINGS)
        argv = [str(self.find_binaries().postgres), "-D", str(self.data_dir), "-p", str(self.port)]
        for setting in settings:
            argv.extend(["-c", setting])
        return argv

    def start(self) -> None:
        """Start the server as a child process; it gets a fast shutdown if the launcher dies."""
        if self.is_running():
            return
        self._stop_leftover()
        self._process = spawn_logged(
            self.server_argv(),
            log_file=self.log_file,
            cwd=self.data_dir,
            user=self.run_as,
            # SIGINT is PostgreSQL's "fast shutdown": clean, without waiting for clients.
            death_signal=signal.SIGINT,
        )

    def wait_ready(self, timeout: float = 30.0) -> None:
        """Block until the server accepts connections (it says so in postmaster.pid)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process is not None and self._process.poll() is not None:
                raise PostgresError(
                    f"PostgreSQL exited with {self._process.returncode}:\n{log_tail(self.log_file)}"
                )
            if self._status_in_pid_file() == "ready":
                return
            time.sleep(0.02)
        raise PostgresError(
            f"PostgreSQL not ready after {timeout:.0f}s:\n{log_tail(self.log_file)}"
        )

    def stop(self, timeout: float = 30.0) -> None:
        """Fast shutdown; idempotent."""
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.send_signal(signal.SIGQUIT)  # immediate shutdown; recovery on next start
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

    def is_running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    @property
    def pid(self) -> int | None:
        return self._process.pid if self.is_running() and self._process else None

    def exit_code(self) -> int | None:
        """The exit code if the server we started has died, else None."""
        return None if self._process is None else self._process.poll()

    def _postmaster_pid(self) -> list[str]:
        try:
            return (self.data_dir / "postmaster.pid").read_text(encoding="utf-8").splitlines()
        except (FileNotFoundError, PermissionError):
            return []

    def _status_in_pid_file(self) -> str:
        lines = self._postmaster_pid()
        return lines[7].strip() if len(lines) > 7 else ""

    def _stop_leftover(self) -> None:
        """Stop a server a crashed launcher left behind in this data directory."""
        lines = self._postmaster_pid()
        if not lines or not lines[0].strip().isdigit():
            return
        pid = int(lines[0])
        if not pid_alive(pid) or not _is_postgres(pid):
            return
        os.kill(pid, signal.SIGINT)
        deadline = time.monotonic() + 30
        while pid_alive(pid) and time.monotonic() < deadline:
            time.sleep(0.05)

    # -- databases ------------------------------------------------------------------------

    @property
    def admin_dsn(self) -> str:
        return (
            f"postgresql://{SUPERUSER}:{quote(self.password, safe='')}"
            f"@127.0.0.1:{self.port}/postgres"
        )

    async def ensure_database(self, name: str, role: str, password: str) -> str:
        """Create (or repair) `role` and its own database `name`; returns its asyncpg URL."""
        await databases.ensure_database(self.admin_dsn, name, role, password)
        return databases.database_url(self.port, name, role, password)

    async def drop_database(self, name: str, role: str) -> None:
        await databases.drop_database(self.admin_dsn, name, role)

    def ensure_database_sync(self, name: str, role: str, password: str) -> str:
        """`ensure_database` for callers without an event loop (or inside one)."""
        return run_coroutine(lambda: self.ensure_database(name, role, password))


def _is_postgres(pid: int) -> bool:
    try:
        return b"postgres" in Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return True  # cannot tell (not Linux): trust postmaster.pid
