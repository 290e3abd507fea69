"""`<data>/run/state.json`: what `up` started, for `down` and `status` to read."""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import BaseModel


class ComponentState(BaseModel):
    name: str
    pid: int | None
    port: int
    url: str
    log: str


class RunState(BaseModel):
    launcher_pid: int
    data_dir: str
    components: list[ComponentState]


def state_path(data_dir: Path) -> Path:
    return data_dir / "run" / "state.json"


def write_state(data_dir: Path, state: RunState) -> None:
    path = state_path(data_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(state.model_dump_json(indent=2) + "\n", encoding="utf-8")
    tmp.replace(path)


def read_state(data_dir: Path) -> RunState | None:
    try:
        return RunState.model_validate(json.loads(state_path(data_dir).read_text("utf-8")))
    except (FileNotFoundError, ValueError):
        return None


def clear_state(data_dir: Path) -> None:
    state_path(data_dir).unlink(missing_ok=True)
