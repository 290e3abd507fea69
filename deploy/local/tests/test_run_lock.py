from __future__ import annotations

import os
from pathlib import Path

import pytest

from bazaar_local.run_lock import AlreadyRunningError, acquire_run_lock, lock_path
from bazaar_local.run_state import ComponentState, RunState, clear_state, read_state, write_state


def test_second_up_is_refused_with_the_holders_pid(tmp_path: Path) -> None:
    with acquire_run_lock(tmp_path):
        before = lock_path(tmp_path).read_text()
        with pytest.raises(AlreadyRunningError) as refused:
            acquire_run_lock(tmp_path)
        assert refused.value.pid == os.getpid()
        assert "already running" in str(refused.value)
        # A refused attempt leaves the holder's record alone.
        assert lock_path(tmp_path).read_text() == before


def test_lock_is_free_again_after_release(tmp_path: Path) -> None:
    acquire_run_lock(tmp_path).release()
    acquire_run_lock(tmp_path).release()


def test_state_round_trip(tmp_path: Path) -> None:
    assert read_state(tmp_path) is None
    state = RunState(
        launcher_pid=123,
        data_dir=str(tmp_path),
        components=[ComponentState(name="users", pid=7, port=8001, url="http://x", log="l")],
    )
    write_state(tmp_path, state)
    assert read_state(tmp_path) == state
    clear_state(tmp_path)
    assert read_state(tmp_path) is None
