"""The memory of a running Bazaar's processes, from /proc/<pid>/smaps_rollup.

RSS counts every page a process maps; PSS splits the shared ones between the processes that
share them (PostgreSQL's backends share its buffers, so their summed RSS over-counts).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from bazaar_local.system import System

from .bench_system import children_of


@dataclass(frozen=True)
class Memory:
    name: str
    pid: int
    rss_mb: float
    pss_mb: float


def read_memory(name: str, pid: int) -> Memory | None:
    """RSS and PSS (MB) from smaps_rollup; None when the process is gone or unreadable."""
    try:
        text = Path(f"/proc/{pid}/smaps_rollup").read_text(encoding="utf-8")
    except OSError:
        return None
    fields: dict[str, float] = {}
    for line in text.splitlines():
        parts = line.split()
        if len(parts) >= 2 and parts[0] in ("Rss:", "Pss:"):
            fields[parts[0]] = int(parts[1]) / 1024
    return Memory(name, pid, fields.get("Rss:", 0.0), fields.get("Pss:", 0.0))


def system_memory(system: System) -> list[Memory]:
    """Every process of the system: services, NATS, the PostgreSQL server and its backends."""
    pids: list[tuple[str, int]] = [(name, p.pid) for name, p in system.processes.items()]
    if system.nats.pid is not None:
        pids.append(("nats", system.nats.pid))
    postmaster = system.postgres.pid
    if postmaster is not None:
        pids.append(("postgres", postmaster))
        pids.extend(("postgres backend", child) for child in children_of(postmaster))
    found = [read_memory(name, pid) for name, pid in pids]
    return [m for m in found if m is not None]
