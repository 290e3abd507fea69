"""`bazaar trace`: one trace from the local trace store, as a waterfall across the services."""

from __future__ import annotations

import shutil
from typing import Annotated

import typer

from bazaar_local.commands.options import (
    DataDirOption,
    console,
    resolve_data_dir,
    stdout_wants_color,
)
from bazaar_local.system_config import SystemConfig
from bazaar_local.trace_store import (
    last_order_trace_id,
    normalize_trace_id,
    read_trace,
    trace_files,
)
from bazaar_local.trace_view import DEFAULT_WIDTH, render_waterfall


def trace(
    trace_id: Annotated[
        str | None, typer.Argument(help="The trace id (an answer's x-trace-id header)")
    ] = None,
    last: Annotated[
        bool, typer.Option("--last", help="The trace of the most recent order instead")
    ] = False,
    width: Annotated[
        int | None,
        typer.Option("--width", min=40, help="Line width (default: the terminal's)"),
    ] = None,
    data_dir: DataDirOption = None,
) -> None:
    """Show one request's trace: every span of every service on one timeline."""
    if (trace_id is None) == (not last):
        console.print("[red]Give a trace id or --last (not both).[/]")
        raise typer.Exit(2)
    traces = SystemConfig(data_dir=resolve_data_dir(data_dir)).traces_dir
    if not trace_files(traces):
        console.print(
            f"No trace store in {traces}: the services write their spans there while Bazaar "
            "runs (`bazaar up`).",
            highlight=False,
        )
        raise typer.Exit(1)
    if trace_id is None:
        trace_id = last_order_trace_id(traces)
        if trace_id is None:
            console.print(f"No order's trace in {traces} yet: place an order.", highlight=False)
            raise typer.Exit(1)
    found = read_trace(traces, trace_id)
    if not found.spans:
        console.print(
            f"No span of trace {normalize_trace_id(trace_id)} in {traces}.", highlight=False
        )
        raise typer.Exit(1)
    columns = width or shutil.get_terminal_size((DEFAULT_WIDTH, 24)).columns
    # Through typer, not the rich console: the waterfall carries its own ANSI colours.
    typer.echo(render_waterfall(found.spans, width=columns, color=stdout_wants_color()))
    if found.skipped_lines:
        typer.echo(f"({found.skipped_lines} unreadable line(s) skipped)")
