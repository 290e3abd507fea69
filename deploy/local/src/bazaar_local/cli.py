"""`bazaar`: start the shop (`up`), stop it (`down`), look at it (`status`, `logs`), test it
(`test`), break it on purpose (`chaos`)."""

import json
import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn
from rich.table import Table
from rich.text import Text

from bazaar_local.chaos import Chaos, ChaosError, FaultInjectionDisabled, Faults
from bazaar_local.child_processes import log_tail, pid_alive
from bazaar_local.contracts import write_contracts
from bazaar_local.log_follow import Follower, LogPrinter
from bazaar_local.log_view import (
    LogEntry,
    LogFilter,
    Style,
    format_entry,
    format_raw,
    log_files,
    merge,
    read_entries,
    select,
)
from bazaar_local.nats import NatsError, greets
from bazaar_local.paths import default_data_dir, repo_root
from bazaar_local.ports import port_in_use
from bazaar_local.postgres import PostgresError
from bazaar_local.postgres_binaries import PostgresNotFoundError
from bazaar_local.project_checks import project_checks, run_check
from bazaar_local.readiness import answers_ready
from bazaar_local.run_lock import AlreadyRunningError, acquire_run_lock
from bazaar_local.run_state import clear_state, read_state
from bazaar_local.services import SERVICES
from bazaar_local.system import ProgressEvent, System, SystemConfig, SystemStartError

app = typer.Typer(help="Run and test Bazaar locally.", no_args_is_help=True, add_completion=False)
chaos_app = typer.Typer(
    help="Inject faults into the running system (its services' /admin/faults endpoints).",
    no_args_is_help=True,
)
app.add_typer(chaos_app, name="chaos")
console = Console()

DataDirOption = Annotated[
    Path | None,
    typer.Option(
        "--data-dir", help="Where Bazaar keeps its data (default: $BAZAAR_HOME or .bazaar)"
    ),
]


def _data_dir(option: Path | None) -> Path:
    return option.expanduser().resolve() if option else default_data_dir()


@app.command()
def up(
    data_dir: DataDirOption = None,
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="Show every log line, not just warnings+")
    ] = False,
) -> None:
    """Start PostgreSQL, NATS and every service, and run until Ctrl-C or `bazaar down`."""
    data = _data_dir(data_dir)
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


@app.command()
def logs(
    services: Annotated[
        list[str] | None, typer.Argument(help="Only these services (default: all)")
    ] = None,
    trace: Annotated[str | None, typer.Option("--trace", help="Only this trace id")] = None,
    request: Annotated[str | None, typer.Option("--request", help="Only this request id")] = None,
    level: Annotated[
        str | None,
        typer.Option("--level", help="Minimum level: debug, info, warning, error, critical"),
    ] = None,
    follow: Annotated[
        bool, typer.Option("--follow", "-f", help="Keep printing new lines until Ctrl-C")
    ] = False,
    lines: Annotated[
        int | None,
        typer.Option("--lines", "-n", min=0, help="Only the last N events (-f: default 10)"),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the raw JSON lines")] = False,
    data_dir: DataDirOption = None,
) -> None:
    """Show the services' logs merged by time, optionally filtered (e.g. by --trace)."""
    known = [spec.name for spec in SERVICES]
    unknown = [name for name in services or () if name not in known]
    if unknown:
        console.print(f"[red]Unknown service(s): {', '.join(unknown)}; known: {', '.join(known)}")
        raise typer.Exit(2)
    try:
        log_filter = LogFilter.build(trace_id=trace, request_id=request, level=level)
    except ValueError as error:
        console.print(f"[red]{error}[/]", highlight=False)
        raise typer.Exit(2) from None
    chosen = [name for name in known if not services or name in services]
    files = log_files(_data_dir(data_dir) / "logs", chosen)
    color = sys.stdout.isatty() and "NO_COLOR" not in os.environ
    style = Style.for_services(known, color=color)

    def show(entry: LogEntry) -> None:
        typer.echo(format_raw(entry) if as_json else format_entry(entry, style))

    # Followed from the sizes seen now, so nothing is shown twice or missed in between.
    follower = Follower(files) if follow else None
    ends = follower.positions if follower is not None else {}
    history = merge(read_entries(path, name, end=ends.get(name)) for name, path in files.items())
    last = 10 if follow and lines is None else lines
    for entry in select(history, log_filter, last=last):
        show(entry)
    if follower is None:
        return
    try:
        for entry in follower.follow(threading.Event()):
            if log_filter.matches(entry):
                show(entry)
    except KeyboardInterrupt:
        pass


@app.command()
def down(data_dir: DataDirOption = None, timeout: float = 60.0) -> None:
    """Stop a running `bazaar up` and wait until it has stopped."""
    data = _data_dir(data_dir)
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


@app.command()
def status(data_dir: DataDirOption = None) -> None:
    """Show what runs, and whether each service answers /ready."""
    data = _data_dir(data_dir)
    state = read_state(data)
    try:
        acquire_run_lock(data).release()
        running = False
    except AlreadyRunningError:
        running = True
    if not running or state is None:
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


@app.command(context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def test(ctx: typer.Context) -> None:
    """Run ruff, mypy, import-linter and pytest (extra arguments go to pytest)."""
    root = repo_root()
    failed: list[str] = []
    for check in project_checks(ctx.args):
        console.rule(f"[bold]{check.title}")
        code = run_check(check, root)
        if code != 0:
            console.print(f"[red]{check.title} failed (exit {code})[/]")
            failed.append(check.title)
    console.rule()
    if failed:
        console.print(f"[red]Failed: {', '.join(failed)}[/]")
        raise typer.Exit(1)
    console.print("[green]All checks passed.[/]")


@app.command()
def contracts(
    check: Annotated[
        bool, typer.Option("--check", help="Only report drift; write nothing (exit 1 on drift)")
    ] = False,
) -> None:
    """Write each service's live OpenAPI document to contracts/openapi/<service>.json."""
    folder = repo_root() / "contracts" / "openapi"
    drifted = write_contracts(folder, check=check)
    for name in drifted:
        console.print(f"{'drifted' if check else 'updated'}: contracts/openapi/{name}.json")
    if not drifted:
        console.print("Contracts match the services.")
    raise typer.Exit(1 if check and drifted else 0)


# -- chaos -------------------------------------------------------------------------------------


def _chaos(data_dir: Path | None) -> Chaos:
    data = _data_dir(data_dir)
    try:
        acquire_run_lock(data).release()
    except AlreadyRunningError:
        try:
            return Chaos.from_run_state(data)
        except (ChaosError, OSError, ValueError) as error:
            console.print(f"[red]{error}[/]", highlight=False)
            raise typer.Exit(1) from None
    console.print("Bazaar is not running (start it with `bazaar up`).")
    raise typer.Exit(1)


@chaos_app.command("set")
def chaos_set(
    service: Annotated[str, typer.Argument(help="users, products, orders, payments, ...")],
    latency_ms: Annotated[int, typer.Option(help="Added to every request", min=0)] = 0,
    error_rate: Annotated[
        float, typer.Option(help="Share of requests answered with --error-status", min=0, max=1)
    ] = 0.0,
    error_status: Annotated[int, typer.Option(help="Status of injected errors")] = 500,
    abort_rate: Annotated[
        float, typer.Option(help="Share of connections dropped without an answer", min=0, max=1)
    ] = 0.0,
    dependency: Annotated[
        list[str] | None,
        typer.Option(help="A dependency to make unavailable (database, broker, payments, ...)"),
    ] = None,
    data_dir: DataDirOption = None,
) -> None:
    """Replace a service's faults (options not given are off)."""
    try:
        faults = Faults(latency_ms, error_rate, error_status, abort_rate, tuple(dependency or ()))
    except ValueError as error:
        console.print(f"[red]{error}[/]")
        raise typer.Exit(2) from None
    chaos = _chaos(data_dir)
    try:
        now = chaos.set(service, faults)
    except ChaosError as error:
        console.print(f"[red]{error}[/]", highlight=False)
        raise typer.Exit(1) from None
    console.print(f"{service}: {json.dumps(now, sort_keys=True)}", highlight=False)


@chaos_app.command("clear")
def chaos_clear(
    service: Annotated[str | None, typer.Argument(help="The service (or --all)")] = None,
    all_services: Annotated[bool, typer.Option("--all", help="Every service")] = False,
    data_dir: DataDirOption = None,
) -> None:
    """Remove the injected faults of one service, or of all."""
    if (service is None) == (not all_services):
        console.print("[red]Name a service or pass --all (not both).[/]")
        raise typer.Exit(2)
    chaos = _chaos(data_dir)
    outcome = chaos.clear_all([service] if service else None)
    failed = False
    for name, error in outcome.items():
        if error is None:
            console.print(f"{name}: cleared")
        elif service is None and isinstance(error, FaultInjectionDisabled):
            console.print(f"{name}: no fault injection", highlight=False)
        else:
            console.print(f"[red]{name}: {error}[/]", highlight=False)
            failed = True
    raise typer.Exit(1 if failed else 0)


@chaos_app.command("show")
def chaos_show(data_dir: DataDirOption = None) -> None:
    """Show every service's current faults."""
    table = Table(title="Injected faults")
    for column in ("service", "faults"):
        table.add_column(column)
    for name, faults in _chaos(data_dir).show_all().items():
        shown = json.dumps(faults, sort_keys=True) if isinstance(faults, dict) else str(faults)
        table.add_row(name, shown)
    console.print(table)
