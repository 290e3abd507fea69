"""`bazaar logs`: the services' JSON logs merged by time, filtered, optionally followed."""

from __future__ import annotations

import threading
from typing import Annotated

import typer

from bazaar_local.commands.options import (
    DataDirOption,
    console,
    resolve_data_dir,
    stdout_wants_color,
)
from bazaar_local.log_follow import Follower
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
from bazaar_local.services import SERVICES


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
    files = log_files(resolve_data_dir(data_dir) / "logs", chosen)
    style = Style.for_services(known, color=stdout_wants_color())

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
