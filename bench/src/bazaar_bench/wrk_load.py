"""`wrk` as the HTTP load generator: closed loop, a fixed number of connections, one thread (one
core), and a Lua `done` hook that prints exact latency percentiles as one JSON line."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from .processes import Children

# Headers come from BENCH_HEADER_<n> variables ("Name: value"): wrk's own -H would do, but the
# script is where a POST body would go too, and one script serves every run.
WRK_SCRIPT = r"""
local i = 0
while true do
  local header = os.getenv("BENCH_HEADER_" .. i)
  if header == nil then break end
  local name, value = header:match("^([^:]+):%s*(.*)$")
  wrk.headers[name] = value
  i = i + 1
end
wrk.method = os.getenv("BENCH_METHOD") or "GET"
local body = os.getenv("BENCH_BODY")
if body ~= nil and body ~= "" then wrk.body = body end

done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests": %d, "duration_us": %d, "bytes": %d, "connect_errors": %d, ' ..
    '"read_errors": %d, "write_errors": %d, "status_errors": %d, "timeouts": %d, ' ..
    '"p50_us": %d, "p90_us": %d, "p99_us": %d, "p999_us": %d, "max_us": %d, "mean_us": %.1f}\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status,
    e.timeout, latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency:percentile(99.9), latency.max, latency.mean))
end
"""


class WrkError(RuntimeError):
    """wrk failed or printed no result line."""


@dataclass(frozen=True)
class HttpLoad:
    """One wrk run's outcome; `rps` counts only successful (2xx/3xx) answers."""

    requests: int
    errors: int
    seconds: float
    p50_ms: float
    p99_ms: float
    raw: dict[str, float] = field(default_factory=dict)

    @property
    def rps(self) -> float:
        return (self.requests - self.errors) / self.seconds if self.seconds > 0 else math.nan

    def to_json(self) -> dict[str, float | int]:
        return {
            "rps": round(self.rps, 1),
            "requests": self.requests,
            "errors": self.errors,
            "p50_ms": round(self.p50_ms, 3),
            "p99_ms": round(self.p99_ms, 3),
        }


@dataclass(frozen=True)
class Wrk:
    binary: Path
    script: Path
    children: Children
    threads: int = 1

    @classmethod
    def prepare(cls, binary: Path, work_dir: Path, children: Children) -> Wrk:
        work_dir.mkdir(parents=True, exist_ok=True)
        script = work_dir / "bench.lua"
        script.write_text(WRK_SCRIPT, encoding="utf-8")
        return cls(binary, script, children)

    def run(
        self,
        url: str,
        *,
        seconds: float,
        connections: int,
        headers: Mapping[str, str] | None = None,
        method: str = "GET",
        body: str = "",
    ) -> HttpLoad:
        env = {"BENCH_METHOD": method, "BENCH_BODY": body, "PATH": "/usr/bin:/bin"}
        for n, (name, value) in enumerate((headers or {}).items()):
            env[f"BENCH_HEADER_{n}"] = f"{name}: {value}"
        argv = [
            str(self.binary),
            f"-t{self.threads}",
            f"-c{connections}",
            f"-d{max(1, round(seconds))}s",
            "--timeout", "10s",
            "-s", str(self.script),
            url,
        ]  # fmt: skip
        result = self.children.run(argv, timeout=seconds + 30, env=env)
        line = next((x for x in result.stdout.splitlines() if x.startswith("BENCH_JSON ")), None)
        if result.returncode != 0 or line is None:
            raise WrkError(f"wrk {url} failed ({result.returncode}): {result.stderr[-2000:]}")
        raw = json.loads(line.removeprefix("BENCH_JSON "))
        errors = sum(
            int(raw[k])
            for k in ("connect_errors", "read_errors", "write_errors", "status_errors", "timeouts")
        )
        return HttpLoad(
            requests=int(raw["requests"]),
            errors=min(errors, int(raw["requests"])),
            seconds=raw["duration_us"] / 1e6,
            p50_ms=raw["p50_us"] / 1000,
            p99_ms=raw["p99_us"] / 1000,
            raw=raw,
        )
