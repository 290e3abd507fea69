"""`bazaar chaos` and `Chaos`: admin tokens from the data folder's key, the calls each command
makes, and the errors a human sees; against a stand-in fault endpoint on loopback."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from bazaar_local import credentials
from bazaar_local.chaos import (
    CHAOS_SUBJECT,
    Chaos,
    ChaosError,
    FaultInjectionDisabled,
    Faults,
    NotRunningError,
)
from bazaar_local.cli import app
from bazaar_local.ports import free_port
from bazaar_local.run_lock import acquire_run_lock
from bazaar_local.run_state import ComponentState, RunState, write_state
from bazaar_local.services import JWT_AUDIENCE, JWT_ISSUER
from bazaar_local.system_config import SystemConfig
from chassis import StaticJwks, TokenSigner, TokenVerifier, load_private_key


@dataclass
class FaultEndpoint:
    """Answers /admin/faults like a service would: it keeps the last PUT body."""

    port: int
    status: int = 200
    faults: dict[str, Any] = field(default_factory=dict)
    calls: list[tuple[str, str, str | None, dict[str, Any] | None]] = field(default_factory=list)


def serve(endpoint: FaultEndpoint) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def _answer(self, body: dict[str, Any] | None) -> None:
            length = int(self.headers.get("content-length") or 0)
            sent = json.loads(self.rfile.read(length)) if length else None
            endpoint.calls.append(
                (self.command, self.path, self.headers.get("authorization"), sent)
            )
            if endpoint.status != 200:
                self.send_response(endpoint.status)
                self.end_headers()
                return
            if self.command == "PUT":
                endpoint.faults = sent or {}
            elif self.command == "DELETE":
                endpoint.faults = {}
            payload = json.dumps(endpoint.faults).encode()
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def do_GET(self) -> None:
            self._answer(None)

        do_PUT = do_DELETE = do_GET

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", endpoint.port), Handler)
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    return server


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    credentials.ensure_signing_key(SystemConfig(data_dir=tmp_path).signing_key_file)
    return tmp_path


@pytest.fixture
def endpoints() -> Iterator[dict[str, FaultEndpoint]]:
    found = {name: FaultEndpoint(free_port()) for name in ("payments", "products")}
    servers = [serve(endpoint) for endpoint in found.values()]
    yield found
    for server in servers:
        server.shutdown()
        server.server_close()


@pytest.fixture
def chaos(data_dir: Path, endpoints: dict[str, FaultEndpoint]) -> Chaos:
    ports = {name: endpoint.port for name, endpoint in endpoints.items()}
    return Chaos(ports, SystemConfig(data_dir=data_dir).signing_key_file)


def running(data_dir: Path, endpoints: dict[str, FaultEndpoint]) -> None:
    """The run state `bazaar up` leaves behind (postgres is not a service: never called)."""
    components = [ComponentState(name="postgres", pid=None, port=1, url="", log="")]
    components += [
        ComponentState(name=name, pid=None, port=e.port, url="", log="")
        for name, e in endpoints.items()
    ]
    write_state(data_dir, RunState(launcher_pid=1, data_dir=str(data_dir), components=components))


def test_faults_travel_as_camel_case_json() -> None:
    faults = Faults(latency_ms=250, error_rate=0.5, dependencies=("database", "broker", "broker"))
    assert faults.to_json() == {
        "latencyMs": 250,
        "errorRate": 0.5,
        "errorStatus": 500,
        "abortRate": 0.0,
        "dependencies": ["broker", "database"],
    }


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"latency_ms": -1}, "latency"),
        ({"error_rate": 1.5}, "error rate"),
        ({"abort_rate": -0.1}, "abort rate"),
        ({"error_status": 200}, "error status"),
    ],
)
def test_impossible_faults_are_refused(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Faults(**kwargs)


def test_the_admin_token_is_one_every_service_accepts(chaos: Chaos, data_dir: Path) -> None:
    key_file = SystemConfig(data_dir=data_dir).signing_key_file
    signer = TokenSigner(load_private_key(key_file), issuer=JWT_ISSUER, audience=JWT_AUDIENCE)
    verifier = TokenVerifier(StaticJwks(signer.jwks()), issuer=JWT_ISSUER, audience=JWT_AUDIENCE)
    principal = asyncio.run(verifier.verify(chaos.admin_token()))
    assert str(principal.user_id) == CHAOS_SUBJECT
    assert principal.has_role("admin")


def test_set_show_and_clear_call_the_service_directly(
    chaos: Chaos, endpoints: dict[str, FaultEndpoint]
) -> None:
    now = chaos.set("payments", Faults(error_rate=1.0, error_status=503))
    assert now["errorRate"] == 1.0
    assert now["errorStatus"] == 503
    assert chaos.show("payments") == now
    chaos.clear("payments")
    assert chaos.show("payments") == {}
    methods = [(method, path) for method, path, _, _ in endpoints["payments"].calls]
    assert methods == [
        ("PUT", "/admin/faults"),
        ("GET", "/admin/faults"),
        ("DELETE", "/admin/faults"),
        ("GET", "/admin/faults"),
    ]
    assert all(auth and auth.startswith("Bearer ") for _, _, auth, _ in endpoints["payments"].calls)
    assert endpoints["products"].calls == []


@pytest.mark.parametrize("status", [404, 403])
def test_a_service_without_fault_injection_says_so(
    chaos: Chaos, endpoints: dict[str, FaultEndpoint], status: int
) -> None:
    endpoints["products"].status = status
    with pytest.raises(FaultInjectionDisabled, match="products"):
        chaos.set("products", Faults(latency_ms=100))


def test_clear_all_goes_on_past_a_service_that_refuses(
    chaos: Chaos, endpoints: dict[str, FaultEndpoint]
) -> None:
    endpoints["products"].status = 404
    chaos.set("payments", Faults(abort_rate=0.2))
    outcome = chaos.clear_all()
    assert outcome["payments"] is None
    assert isinstance(outcome["products"], FaultInjectionDisabled)
    assert endpoints["payments"].faults == {}


def test_unknown_and_silent_services_are_clear_errors(chaos: Chaos, data_dir: Path) -> None:
    with pytest.raises(ChaosError, match="no service named 'billing'"):
        chaos.show("billing")
    silent = Chaos({"orders": free_port()}, SystemConfig(data_dir=data_dir).signing_key_file)
    with pytest.raises(ChaosError, match="orders does not answer"):
        silent.show("orders")


def test_nothing_running_means_no_run_state(data_dir: Path) -> None:
    with pytest.raises(NotRunningError):
        Chaos.from_run_state(data_dir)


def test_ports_come_from_the_run_state(data_dir: Path, endpoints: dict[str, FaultEndpoint]) -> None:
    running(data_dir, endpoints)
    chaos = Chaos.from_run_state(data_dir)
    assert chaos.ports == {name: e.port for name, e in endpoints.items()}


def test_the_cli_refuses_when_bazaar_is_not_running(data_dir: Path) -> None:
    result = CliRunner().invoke(app, ["chaos", "show", "--data-dir", str(data_dir)])
    assert result.exit_code == 1
    assert "not running" in result.output


def test_clear_needs_a_service_or_all(data_dir: Path) -> None:
    result = CliRunner().invoke(app, ["chaos", "clear", "--data-dir", str(data_dir)])
    assert result.exit_code == 2
    assert "--all" in result.output


def test_set_refuses_an_impossible_rate(data_dir: Path) -> None:
    args = ["chaos", "set", "payments", "--error-rate", "2", "--data-dir", str(data_dir)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2


def test_the_cli_sets_shows_and_clears_on_a_running_system(
    data_dir: Path, endpoints: dict[str, FaultEndpoint]
) -> None:
    running(data_dir, endpoints)
    endpoints["products"].status = 404
    where = ["--data-dir", str(data_dir)]
    runner = CliRunner()
    with acquire_run_lock(data_dir):  # as `bazaar up` holds it
        set_ = runner.invoke(
            app,
            ["chaos", "set", "payments", "--error-rate", "1", "--error-status", "503",
             "--dependency", "database", "--dependency", "broker", *where],
        )  # fmt: skip
        assert set_.exit_code == 0, set_.output
        assert endpoints["payments"].faults == {
            "latencyMs": 0,
            "errorRate": 1.0,
            "errorStatus": 503,
            "abortRate": 0.0,
            "dependencies": ["broker", "database"],
        }
        shown = runner.invoke(app, ["chaos", "show", *where])
        assert shown.exit_code == 0, shown.output
        assert "payments" in shown.output
        assert "no fault injection" in shown.output
        refused = runner.invoke(app, ["chaos", "set", "products", "--latency-ms", "5", *where])
        assert refused.exit_code == 1
        assert "FAULT_INJECTION_ENABLED" in refused.output
        cleared = runner.invoke(app, ["chaos", "clear", "--all", *where])
        assert cleared.exit_code == 0, cleared.output
        assert "payments: cleared" in cleared.output
    assert endpoints["payments"].faults == {}
