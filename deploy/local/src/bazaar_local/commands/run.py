"""`bazaar up`, `down` and `status`: run the whole shop in the foreground, stop it from another
terminal, and see what runs."""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn
from rich.table import Table
from rich.text import Text

from bazaar_local.child_processes import log_tail, pid_alive
from bazaar_local.commands.options import DataDirOption, console, resolve_data_dir
from bazaar_local.log_follow import Follower, LogPrinter
from bazaar_local.log_view import LogEntry, LogFilter, Style, format_entry, log_files
from bazaar_local.nats import NatsError, greets
from bazaar_local.ports import port_in_use
from bazaar_local.postgres import PostgresError
from bazaar_local.postgres_binaries import PostgresNotFoundError
from bazaar_local.readiness import answers_ready
from bazaar_local.run_lock import AlreadyRunningError, acquire_run_lock
from bazaar_local.run_state import RunState, clear_state, read_state
from bazaar_local.system import ProgressEvent, System, SystemConfig, SystemStartError


def up(
    data_dir: DataDirOption = None,
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="Show every log line, not just warnings+")
    ] = False,
) -> None:
    """Start PostgreSQL, NATS and every service, and run until Ctrl-C or `bazaar down`."""
    data = resolve_data_dir(data_dir)
    try:
        lock = acquire_run_lock(data)
    except AlreadyRunningError as running:
        console.print(
            f"Bazaar is already running (pid {running.pid}) — use `bazaar status` or `bazaar down`"
        )
        raise typer.Exit(1) from None
    with lock:
        exit_code = _run(data, verbose=verbose)
    raise typer.Exit(exit_code)


def _run(data: Path, *, verbose: bool = False) -> int:
    phase = "starting"
    stop_requested = threading.Event()

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        stop_requested.set()
        if phase == "starting":
            raise KeyboardInterrupt  # abandon the start; System.start() cleans up

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    exit_code = 0
    progress = Progress(
        SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
        console=console, transient=True,
    )  # fmt: skip
    task = progress.add_task("Starting Bazaar", total=None)

    def on_progress(event: ProgressEvent) -> None:
        progress.update(task, description=event.message, completed=event.done, total=event.total)

    system = System(SystemConfig(data_dir=data), on_progress=on_progress)
    names = [spec.name for spec in system.config.services]
    # Taken before the start, so the services' start-up warnings are shown too.
    follower = Follower(log_files(system.config.logs_dir, names))
    printer = LogPrinter(
        follower,
        LogFilter.build(level=None if verbose else "warning"),
        _console_emitter(Style.for_services(names, color=True)),
    )
    try:
        with progress:
            system.start()
        phase = "running"
        _print_running(system)
        printer.start()
        # From here on a stop request is the normal way out (exit 0).
        while not stop_requested.wait(0.5):
            dead = system.dead_components()
            if dead:
                for name, code in dead.items():
                    log = system.config.log_file(name)
                    console.print(f"[red]{name} exited with code {code}[/] — last lines of {log}:")
                    console.print(log_tail(log, 20), markup=False, highlight=False)
                exit_code = 1
                break
    except KeyboardInterrupt:
        console.print("Interrupted.")
        exit_code = 130
    except (SystemStartError, PostgresError, PostgresNotFoundError, NatsError) as error:
        console.print("[red]Bazaar could not start:[/]")
        console.print(str(error), markup=False, highlight=False)
        exit_code = 1
    finally:
        phase = "stopping"
        with console.status("Stopping Bazaar…"):
            system.stop()
        printer.stop()
    console.print("Bazaar stopped." if exit_code in (0, 130) else "Bazaar stopped after a failure.")
    return exit_code


def _print_running(system: System) -> None:
    table = Table(title="Bazaar is running")
    for column in ("service", "pid", "port", "URL", "status"):
        table.add_column(column)
    for component in system.state().components:
        table.add_row(
            component.name, str(component.pid or "-"), str(component.port), component.url,
            "[green]ready[/]",
        )  # fmt: skip
    console.print(table)
    console.print(f"Shop: [bold]{system.gateway_url}[/]")
    console.print(
        f"Admin: {system.admin_email} (password in {system.config.secrets_file})", highlight=False
    )
    console.print(f"Logs: {system.config.logs_dir} (see `bazaar logs --help`)", highlight=False)
    if system.config.fault_injection:
        console.print("Fault injection is on (local only): see `bazaar chaos --help`.")
    console.print("Press Ctrl-C (or run `bazaar down`) to stop.")


def _console_emitter(style: Style) -> Callable[[LogEntry], None]:
    def emit(entry: LogEntry) -> None:
        # Through the console (not stdout) so it interleaves cleanly with the stop spinner;
        # rich drops the colours itself when the output is not a terminal.
        console.print(Text.from_ansi(format_entry(entry, style)), soft_wrap=True)

    return emit


def down(data_dir: DataDirOption = None, timeout: float = 60.0) -> None:
    """Stop a running `bazaar up` and wait until it has stopped."""
    data = resolve_data_dir(data_dir)
    try:
        acquire_run_lock(data).release()
    except AlreadyRunningError as running:
        if running.pid is None:
            console.print("Bazaar is running but its pid is unknown; stop it with Ctrl-C.")
            raise typer.Exit(1) from None
        os.kill(running.pid, signal.SIGTERM)
        with console.status(f"Stopping Bazaar (pid {running.pid})…"):
            deadline = time.monotonic() + timeout
            while pid_alive(running.pid) and time.monotonic() < deadline:
                time.sleep(0.2)
        if pid_alive(running.pid):
            console.print(f"[red]Bazaar (pid {running.pid}) is still stopping after {timeout}s[/]")
            raise typer.Exit(1) from None
        console.print("Bazaar stopped.")
        return
    clear_state(data)
    console.print("Bazaar is not running.")


def status(data_dir: DataDirOption = None) -> None:
    """Show what runs, and whether each service answers /ready."""
    state = running_state(resolve_data_dir(data_dir))
    if state is None:
        console.print("Bazaar is not running.")
        raise typer.Exit(1)
    table = Table(title=f"Bazaar (launcher pid {state.launcher_pid})")
    for column in ("service", "pid", "alive", "port", "URL", "ready"):
        table.add_column(column)
    for component in state.components:
        alive = component.pid is not None and pid_alive(component.pid)
        ready = _component_ready(component.name, component.port)
        table.add_row(
            component.name, str(component.pid or "-"), _mark(alive), str(component.port),
            component.url, _mark(ready),
        )  # fmt: skip
    console.print(table)


def _component_ready(name: str, port: int) -> bool:
    if name == "postgres":
        return port_in_use(port)
    if name == "nats":
        return greets(port)
    return answers_ready(port)


def _mark(ok: bool) -> str:
    return "[green]yes[/]" if ok else "[red]no[/]"


def running_state(data: Path) -> RunState | None:
    """The run state of the `bazaar up` running in `data`; None if none runs (a state file
    left by a crash does not count: the run lock says whether its launcher is alive)."""
    state = read_state(data)
    try:
        acquire_run_lock(data).release()
    except AlreadyRunningError:
        return state
    return None
