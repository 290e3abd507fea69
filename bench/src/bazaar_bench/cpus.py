"""Keeping the load generator and the servers on different cores.

On a 2-core machine a load generator sharing a core with the servers it loads measures itself as
much as them. Servers go on the first core, load on the second; with one core (or `--no-pin`)
nothing is pinned and the report says so.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass


@dataclass(frozen=True)
class CpuPlan:
    servers: frozenset[int] | None
    load: frozenset[int] | None

    @property
    def pinned(self) -> bool:
        return self.servers is not None

    def describe(self) -> str:
        if self.servers is None or self.load is None:
            return "not pinned (servers and load share every core)"
        return f"servers on CPU {_cpus(self.servers)}, load generators on CPU {_cpus(self.load)}"

    def preexec(self, role: str) -> Callable[[], None] | None:
        """A `preexec_fn` putting a child (and all it forks) on the role's cores."""
        cpus = self.servers if role == "servers" else self.load
        if cpus is None:
            return None
        chosen = set(cpus)
        return lambda: os.sched_setaffinity(0, chosen)

    def pin(self, pid: int, role: str) -> None:
        cpus = self.servers if role == "servers" else self.load
        if cpus is not None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.sched_setaffinity(pid, cpus)

    def pin_process(self, pid: int, role: str) -> None:
        """Every thread of a running process (its main thread's affinity alone would leave
        the threads it has started where they were)."""
        try:
            threads = [int(tid) for tid in os.listdir(f"/proc/{pid}/task")]
        except OSError:
            return
        for tid in threads:
            self.pin(tid, role)

    @contextlib.contextmanager
    def as_everything(self) -> Iterator[None]:
        """The calling thread (and what it starts) on every core, as `bazaar up` runs."""
        if self.servers is None or self.load is None:
            yield
            return
        os.sched_setaffinity(0, self.servers | self.load)
        try:
            yield
        finally:
            os.sched_setaffinity(0, self.load)

    @contextlib.contextmanager
    def as_servers(self) -> Iterator[None]:
        """The calling thread on the servers' cores while it starts children it cannot pin
        itself (the System's launcher forks from a thread that inherits this affinity)."""
        if self.servers is None or self.load is None:
            yield
            return
        os.sched_setaffinity(0, self.servers)
        try:
            yield
        finally:
            os.sched_setaffinity(0, self.load)


def _cpus(cpus: frozenset[int]) -> str:
    return ",".join(str(c) for c in sorted(cpus))


def plan_cpus(*, pin: bool = True) -> CpuPlan:
    available = sorted(os.sched_getaffinity(0))
    if not pin or len(available) < 2:
        return CpuPlan(None, None)
    return CpuPlan(frozenset(available[:1]), frozenset(available[1:]))


def enter_load_role(plan: CpuPlan) -> None:
    """The bench process itself is a load generator (the order driver runs in it)."""
    if plan.load is not None:
        os.sched_setaffinity(0, plan.load)
