"""`System` with a stand-in service: NATS beside PostgreSQL, and the fault tools tests rely on.

The stand-in is a tiny HTTP server run with `python -m`, like a real service, that answers
`/ready` and shows the broker variables it was given.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import subprocess
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import nats
import pytest
from nats.js.api import StreamConfig

from bazaar_local.nats import greets
from bazaar_local.readiness import answers_ready
from bazaar_local.run_state import read_state
from bazaar_local.services import ServiceSpec
from bazaar_local.system import System, SystemConfig, SystemStartError
from bazaar_local.testing import make_shared_temp_dir

pytestmark = pytest.mark.integration

STAND_IN = """
import json, os
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        keys = ("NATS_URL", "EVENT_SCHEMAS_DIR", "PORT")
        body = json.dumps({key: os.environ.get(key) for key in keys}).encode()
        self.send_response(200 if self.path in ("/ready", "/env") else 404)
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass

ThreadingHTTPServer(("127.0.0.1", int(os.environ["PORT"])), Handler).serve_forever()
"""
SPEC = ServiceSpec("standin", "bazaar_standin_service", "standin", ("common", "broker"))
STREAM = "BAZAAR_FAULTS"


@pytest.fixture(scope="module")
def system() -> Iterator[System]:
    root = make_shared_temp_dir("bazaar-faults-")
    modules = root / "modules"
    modules.mkdir()
    (modules / f"{SPEC.module}.py").write_text(STAND_IN)
    old_path = os.environ.get("PYTHONPATH")
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(modules), old_path]))
    config = SystemConfig.with_free_ports(
        root / "data", services=(SPEC,), fast_postgres=True, stop_grace=5.0
    )
    system = System(config)
    try:
        system.start()
        yield system
    finally:
        system.stop()
        if old_path is None:
            os.environ.pop("PYTHONPATH", None)
        else:
            os.environ["PYTHONPATH"] = old_path
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(autouse=True)
def healthy(system: System) -> Iterator[None]:
    """Every test starts and must end with the whole system up and nothing reported dead."""
    assert system.dead_components() == {}
    yield
    if not system.nats.is_running():
        system.start_broker()
    if system.processes[SPEC.name].poll() is not None:
        system.restart_service(SPEC.name)
    assert system.dead_components() == {}


def port(system: System) -> int:
    return system.config.service_ports[SPEC.port_key]


def stand_in_env(system: System) -> dict[str, str]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port(system)}/env", timeout=5) as answer:
        env: dict[str, str] = json.loads(answer.read())
        return env


def test_nats_runs_beside_postgres_and_services_get_the_broker(system: System) -> None:
    assert system.nats.is_running()
    assert greets(system.config.nats_port)
    assert system.nats.store_dir == system.config.data_dir / "nats"
    env = stand_in_env(system)
    assert env["NATS_URL"] == system.nats_url
    assert Path(env["EVENT_SCHEMAS_DIR"]).name == "events"
    assert Path(env["EVENT_SCHEMAS_DIR"]).parent.name == "contracts"
    state = read_state(system.config.data_dir)
    assert state is not None
    assert [c.name for c in state.components] == ["postgres", "nats", SPEC.name]
    assert state.components[1].pid == system.nats.pid


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM], ids=lambda s: s.name)
def test_a_killed_service_is_not_dead_while_expected_down(
    system: System, sig: signal.Signals
) -> None:
    before = system.processes[SPEC.name]
    system.kill_service(SPEC.name, sig)

    assert before.poll() is not None
    assert not answers_ready(port(system))
    assert system.dead_components() == {}

    system.restart_service(SPEC.name)
    after = system.processes[SPEC.name]
    assert after.pid != before.pid
    assert answers_ready(port(system))
    assert stand_in_env(system)["NATS_URL"] == system.nats_url  # the same environment
    assert system.dead_components() == {}


def test_a_service_that_dies_on_its_own_is_reported(system: System) -> None:
    process = system.processes[SPEC.name]
    os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=10)

    assert system.dead_components() == {SPEC.name: -signal.SIGKILL}
    system.restart_service(SPEC.name)
    assert system.dead_components() == {}


def test_restart_of_a_running_service_replaces_it(system: System) -> None:
    before = system.processes[SPEC.name]
    system.restart_service(SPEC.name, wait=False)
    system.wait_ready(SPEC.name)
    assert before.poll() is not None
    assert system.processes[SPEC.name].pid != before.pid


def test_a_service_restarted_from_a_short_lived_thread_outlives_it(system: System) -> None:
    # Children get a death signal when the thread that forked them ends; the System forks
    # from its own spawner thread, so a test may restart things from any thread.
    worker = threading.Thread(target=system.restart_service, args=(SPEC.name,))
    worker.start()
    worker.join()
    process = system.processes[SPEC.name]
    with pytest.raises(subprocess.TimeoutExpired):
        process.wait(timeout=1)  # a death signal would end it at once
    assert answers_ready(port(system))


def test_wait_ready_fails_fast_for_a_dead_service(system: System) -> None:
    system.kill_service(SPEC.name)
    with pytest.raises(SystemStartError, match="exited with code"):
        system.wait_ready(SPEC.name, timeout=5)


def test_kill_service_refuses_a_signal_that_does_not_end_a_process(system: System) -> None:
    with pytest.raises(ValueError, match="SIGSTOP"):
        system.kill_service(SPEC.name, signal.SIGSTOP)
    assert system.processes[SPEC.name].poll() is None


async def _publish_and_count(url: str, payload: str) -> int:
    client = await nats.connect(url, allow_reconnect=False)
    try:
        js = client.jetstream()
        await js.add_stream(StreamConfig(name=STREAM, subjects=["bazaar.faults.>"]))
        await js.publish("bazaar.faults.x", payload.encode(), headers={"Nats-Msg-Id": payload})
        return int((await js.stream_info(STREAM)).state.messages)
    finally:
        await client.close()


async def _count(url: str) -> int:
    client = await nats.connect(url, allow_reconnect=False)
    try:
        return int((await client.jetstream().stream_info(STREAM)).state.messages)
    finally:
        await client.close()


@pytest.mark.parametrize("kill", [False, True], ids=["clean", "sigkill"])
def test_broker_outage_keeps_the_streams(system: System, kill: bool) -> None:
    stored = asyncio.run(_publish_and_count(system.nats_url, f"before-{kill}"))

    system.stop_broker(kill=kill)
    assert not greets(system.config.nats_port)
    assert system.dead_components() == {}  # an outage on purpose is not a crash
    state = read_state(system.config.data_dir)
    assert state is not None
    assert state.components[1].pid is None

    system.start_broker()
    assert greets(system.config.nats_port)
    assert asyncio.run(_count(system.nats_url)) == stored
    assert asyncio.run(_publish_and_count(system.nats_url, f"after-{kill}")) == stored + 1


def test_a_broker_crash_is_reported_and_start_broker_recovers(system: System) -> None:
    pid = system.nats.pid
    assert pid is not None
    os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while not (reported := system.dead_components()) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert reported == {"nats": -signal.SIGKILL}
    system.start_broker()
    assert system.dead_components() == {}
