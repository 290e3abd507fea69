"""`bazaar top`: every service's rate, errors and latency, refreshed in place."""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Annotated

import typer
from rich.live import Live
from rich.table import Table

from bazaar_local.commands.options import DataDirOption, console, resolve_data_dir
from bazaar_local.commands.run import running_state
from bazaar_local.services import SERVICES
from bazaar_local.top import ServiceRow, Top

COLUMNS = (
    "service", "state", "req/s", "5xx/s", "err %", "p50 ms", "p99 ms",
    "shed/s", "429/s", "outbox", "lag", "breakers",
)  # fmt: skip
_NUMERIC = frozenset(COLUMNS[2:-1])
_NONE = "-"


def top(
    interval: Annotated[
        float, typer.Option("--interval", "-i", min=0.05, help="Seconds between refreshes")
    ] = 1.0,
    count: Annotated[
        int | None, typer.Option("--count", "-n", min=1, help="Stop after N refreshes")
    ] = None,
    data_dir: DataDirOption = None,
) -> None:
    """Show each service's requests/s, 5xx, p50/p99 and overload signals (from /metrics)."""
    state = running_state(resolve_data_dir(data_dir))
    if state is None:
        console.print("Bazaar is not running.")
        raise typer.Exit(1)
    names = {spec.name for spec in SERVICES}
    watcher = Top(
        {c.name: c.port for c in state.components if c.name in names},
        timeout=min(1.0, interval),
    )
    try:
        first = watcher.refresh()  # the baseline the first rates are measured from
        if console.is_terminal:
            with Live(_table(first, interval), console=console, auto_refresh=False) as live:
                for rows in _refreshes(watcher, interval, count):
                    live.update(_table(rows, interval), refresh=True)
        else:
            for rows in _refreshes(watcher, interval, count):
                console.print(_plain(rows), markup=False, highlight=False, soft_wrap=True)
    except KeyboardInterrupt:
        pass


def _refreshes(watcher: Top, interval: float, count: int | None) -> Iterator[list[ServiceRow]]:
    done = 0
    while count is None or done < count:
        time.sleep(interval)  # the interval the rates are measured over
        yield watcher.refresh()
        done += 1


def cells(row: ServiceRow) -> list[str]:
    """A service's line of the table, as text."""
    if not row.up:
        return [row.name, "down", *[_NONE] * (len(COLUMNS) - 3), row.problem[:60]]
    r = row.rates
    if r is None:
        return [row.name, "up", *[_NONE] * (len(COLUMNS) - 2)]
    breakers = ", ".join(f"{name} {state}" for name, state in sorted(r.breakers.items()))
    return [
        row.name,
        "up",
        f"{r.requests_per_s:.1f}",
        f"{r.server_errors_per_s:.1f}",
        _number(r.error_percent, "{:.1f}"),
        _number(r.p50_ms, "{:.1f}"),
        _number(r.p99_ms, "{:.1f}"),
        f"{r.shed_per_s:.1f}",
        f"{r.rate_limited_per_s:.1f}",
        _number(r.outbox_pending, "{:.0f}"),
        _number(r.consumer_lag, "{:.0f}"),
        breakers or _NONE,
    ]


def _number(value: float | None, form: str) -> str:
    return _NONE if value is None else form.format(value)


def _table(rows: Sequence[ServiceRow], interval: float) -> Table:
    clock = datetime.now().strftime("%H:%M:%S")
    table = Table(title=f"Bazaar services, last {interval:g}s ({clock}; Ctrl-C to quit)")
    for column in COLUMNS:
        table.add_column(column, justify="right" if column in _NUMERIC else "left")
    for row in rows:
        line = cells(row)
        if not row.up:
            line[1] = f"[red]{line[1]}[/]"
        elif row.rates is not None and row.rates.breakers:
            line[-1] = f"[yellow]{line[-1]}[/]"
        table.add_row(*line)
    return table


def _plain(rows: Sequence[ServiceRow]) -> str:
    """Aligned text with a time stamp: for pipes and files, one block per refresh."""
    lines = [list(COLUMNS), *(cells(row) for row in rows)]
    widths = [max(len(line[i]) for line in lines) for i in range(len(COLUMNS))]
    text = [datetime.now().strftime("%H:%M:%S")]
    for line in lines:
        text.append(
            "  ".join(
                cell.rjust(width) if column in _NUMERIC else cell.ljust(width)
                for cell, width, column in zip(line, widths, COLUMNS, strict=True)
            ).rstrip()
        )
    return "\n".join(text)
