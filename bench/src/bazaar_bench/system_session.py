"""One bench System shared by the figures that need a whole Bazaar (catalog, orders, event
lag, footprint, tracing): started once (twice when its start-up is measured: cold, then warm),
always stopped, its data folder removed."""

from __future__ import annotations

import shutil
from pathlib import Path
from types import TracebackType

from bazaar_local.system import System
from bazaar_local.testing import make_shared_temp_dir

from .bench_system import Shop, bench_config, start_system
from .context import BenchContext
from .memory import Memory, system_memory
from .order_driver import shop_for


class SystemSession:
    def __init__(self, ctx: BenchContext, *, measure_start: bool) -> None:
        self.ctx = ctx
        self.measure_start = measure_start
        self.root: Path | None = None
        self.system: System | None = None
        self.cold_start_seconds: float | None = None
        self.warm_start_seconds: float | None = None
        # Every process's memory right after the measured start (before any load).
        self.started_memory: list[Memory] | None = None
        # Confirmed orders/s at saturation, once the orders figure has found it.
        self.saturation_rate: float | None = None
        self.saturation_concurrency: int | None = None

    def start(self) -> System:
        self.root = make_shared_temp_dir("bazaar-bench-")
        config = bench_config(self.root / "data", durable=self.ctx.durable)
        system, seconds = start_system(config, self.ctx.plan)
        self.system = system
        self.cold_start_seconds = seconds
        if self.measure_start:
            # `bazaar up` on an installed shop: the data folder (cluster, databases, streams)
            # is there already; that start, on every core as `up` runs, is the figure.
            system.stop()
            self.system = None
            system, self.warm_start_seconds = start_system(
                config, self.ctx.plan, pinned_start=False
            )
            self.started_memory = system_memory(system)
            self.system = system
        return system

    @property
    def running(self) -> System:
        if self.system is None:
            raise RuntimeError("the bench system is not running")
        return self.system

    async def shop(self) -> Shop:
        return await shop_for(self.running)

    def stop(self) -> None:
        system, self.system = self.system, None
        if system is not None:
            system.stop()
        if self.root is not None:
            shutil.rmtree(self.root, ignore_errors=True)
            self.root = None

    def __enter__(self) -> SystemSession:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
