"""The CI smoke test: every benchmark end to end for about a second (`--quick`), so the suite
cannot rot. It asserts the results are complete and sane, never how fast anything was."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

import pytest
from bazaar_bench.cli import NAMES, main
from bazaar_bench.debian_tools import ensure_tools

pytestmark = pytest.mark.system


def _descendants(pid: int) -> list[int]:
    parents: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text(encoding="utf-8")
            except OSError:
                continue
            parents[int(entry)] = int(stat.rsplit(")", 1)[1].split()[1])
    found: list[int] = []
    frontier = [pid]
    while frontier:
        parent = frontier.pop()
        children = [p for p, pp in parents.items() if pp == parent]
        found.extend(children)
        frontier.extend(children)
    return found


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    ensure_tools()  # installs wrk, nginx and pgbench from Debian where they are missing
    out = tmp_path_factory.mktemp("bench-results")
    before = set(_descendants(os.getpid()))
    code = main(["--quick", "--out", str(out)])
    left = [p for p in _descendants(os.getpid()) if p not in before]
    document = json.loads((out / "latest.json").read_text(encoding="utf-8"))
    return {"code": code, "document": document, "out": out, "left": left}


def _positive(value: object) -> bool:
    return isinstance(value, int | float) and value > 0 and not math.isinf(value)


@pytest.mark.parametrize("key", list(NAMES.values()))
def test_each_benchmark_reports_a_sane_figure(quick_run: dict[str, Any], key: str) -> None:
    figure = quick_run["document"]["figures"][key]
    assert figure["skipped"] is None, figure["skipped"]
    assert figure["ratios"], f"{key} computed no ratio"
    for ratio in figure["ratios"]:
        assert ratio["ratio"] is not None, ratio
        assert ratio["ratio"] >= 0, ratio
        assert _positive(ratio["baseline"]), ratio
    rates = {name: v for name, v in figure["values"].items() if name.endswith(("_rps", "_second"))}
    for name, value in rates.items():
        assert _positive(value), f"{key}.{name} = {value}"


def test_the_run_writes_both_reports_and_leaves_nothing_running(
    quick_run: dict[str, Any],
) -> None:
    assert quick_run["code"] == 0
    document = quick_run["document"]
    assert document["mode"] == "quick"
    assert set(document["figures"]) == set(NAMES.values())
    table = (quick_run["out"] / "latest.md").read_text(encoding="utf-8")
    assert "| figure | measure |" in table
    assert quick_run["left"] == []
