"""`bazaar chaos set|clear|show`: faults injected into the running shop's services."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from bazaar_local.chaos import Chaos, ChaosError, FaultInjectionDisabled, Faults
from bazaar_local.commands.options import DataDirOption, console, resolve_data_dir
from bazaar_local.run_lock import AlreadyRunningError, acquire_run_lock

chaos_app = typer.Typer(
    help="Inject faults into the running system (its services' /admin/faults endpoints).",
    no_args_is_help=True,
)


def _chaos(data_dir: Path | None) -> Chaos:
    data = resolve_data_dir(data_dir)
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
