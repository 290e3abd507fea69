"""What every benchmark is handed: the mode, the phase lengths, the cores, the tools and the
children it may start."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .cpus import CpuPlan
from .debian_tools import Tools
from .processes import Children
from .profiling import Profiler


@dataclass
class BenchContext:
    quick: bool
    # Alternating rounds per figure: each figure reports the median over them.
    runs: int
    # Length of one measured load phase, seconds.
    seconds: float
    # wrk's connections for throughput phases, and for the latency phases (below saturation).
    connections: int
    latency_connections: int
    out_dir: Path
    work_dir: Path
    plan: CpuPlan
    tools: Tools
    profiler: Profiler
    # PostgreSQL with fsync on (as `bazaar up`), rather than off (as the system tests).
    durable: bool = False

    def children(self, name: str) -> Children:
        """A scope for one benchmark's children: all stopped when it is left."""
        return Children(self.plan, self.work_dir / name / "logs")

    @property
    def order_seconds(self) -> float:
        """Order phases run at least 2 s: an order takes a good fraction of a second end to
        end, so a 1 s window would count almost none."""
        return max(self.seconds, 2.0)

    @classmethod
    def phases(cls, *, quick: bool, runs: int | None) -> tuple[int, float]:
        """(rounds, seconds per phase): about a second per benchmark in quick mode."""
        if quick:
            return runs or 1, 1.0
        return runs or 3, 4.0
