"""`bazaar chaos` against real services: every service exposes its fault endpoint to the
launcher's admin token, a fault set from the command line takes effect, and clearing works."""

from __future__ import annotations

import httpx
import pytest
from typer.testing import CliRunner

from bazaar_local.chaos import Chaos
from bazaar_local.cli import app
from bazaar_local.run_lock import acquire_run_lock
from bazaar_local.system import System

pytestmark = pytest.mark.system

SERVICES_WITH_FAULTS = ("users", "products", "payments", "orders", "notifications")
NO_FAULTS = {
    "latencyMs": 0,
    "errorRate": 0.0,
    "errorStatus": 500,
    "abortRate": 0.0,
    "dependencies": [],
}


def test_chaos_sets_shows_and_clears_faults_on_the_running_services(
    resilient_shop: System,
    resilient_gateway: httpx.Client,
    resilient_register,
    chaos: Chaos,
    metrics,
) -> None:  # type: ignore[no-untyped-def]
    for service in SERVICES_WITH_FAULTS:
        assert chaos.show(service) == NO_FAULTS, service

    shopper = resilient_register()
    where = ["--data-dir", str(resilient_shop.config.data_dir)]
    runner = CliRunner()
    injected_before = metrics.read("users").value("bazaar_faults_injected_total", kind="error")
    with acquire_run_lock(resilient_shop.config.data_dir):  # as `bazaar up` holds it
        result = runner.invoke(
            app, ["chaos", "set", "users", "--error-rate", "1", "--error-status", "503", *where]
        )
        assert result.exit_code == 0, result.output
        assert chaos.show("users")["errorStatus"] == 503

        # Through the gateway, users now fails (and gets counted as failing).
        answer = resilient_gateway.get(f"/users/{shopper.user_id}", headers=shopper.headers)
        assert answer.status_code == 503
        injected = metrics.read("users").value("bazaar_faults_injected_total", kind="error")
        assert injected > injected_before

        shown = runner.invoke(app, ["chaos", "show", *where])
        assert shown.exit_code == 0, shown.output
        assert "users" in shown.output

        cleared = runner.invoke(app, ["chaos", "clear", "users", *where])
        assert cleared.exit_code == 0, cleared.output
    assert chaos.show("users") == NO_FAULTS
