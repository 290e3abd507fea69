"""Injecting faults into a running system: what `bazaar chaos` and the resilience tests use.

Each service (started with `FAULT_INJECTION_ENABLED=true`, as `bazaar up` does) serves
`GET/PUT/DELETE /admin/faults` to admins. We call it on the service's own port, never through
the gateway (which does not route it), with a short-lived admin token signed by the key in the
data folder: the same key the users service signs with, so every service already trusts it.
"""

from __future__ import annotations

import http.client
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bazaar_local.run_state import read_state
from bazaar_local.services import JWT_AUDIENCE, JWT_ISSUER, SERVICES
from bazaar_local.system_config import SystemConfig

FAULTS_PATH = "/admin/faults"
# The subject of the tokens we mint: fixed, so the services' logs show who injected a fault.
CHAOS_SUBJECT = "00000000-0000-4000-8000-0000000c4a05"
TOKEN_TTL_SECONDS = 60
_SERVICE_NAMES = frozenset(spec.name for spec in SERVICES)


class ChaosError(RuntimeError):
    """The fault could not be set, cleared or read; the message says why, for a human."""


class NotRunningError(ChaosError):
    """No system is running in this data folder."""


class FaultInjectionDisabled(ChaosError):
    """The service answers, but has no fault endpoint (started without fault injection)."""


@dataclass(frozen=True)
class Faults:
    """What a service is told to do wrong: added latency, errors, aborted connections, and
    dependencies (e.g. "database", "broker", "payments") that it must treat as unavailable."""

    latency_ms: int = 0
    error_rate: float = 0.0
    error_status: int = 500
    abort_rate: float = 0.0
    dependencies: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.latency_ms < 0:
            raise ValueError("latency must not be negative")
        for name, rate in (("error rate", self.error_rate), ("abort rate", self.abort_rate)):
            if not 0.0 <= rate <= 1.0:
                raise ValueError(f"{name} must be between 0 and 1")
        if not 400 <= self.error_status <= 599:
            raise ValueError("error status must be a 4xx or 5xx")

    def to_json(self) -> dict[str, Any]:
        """The body of `PUT /admin/faults` (camelCase, as every Bazaar JSON API)."""
        return {
            "latencyMs": self.latency_ms,
            "errorRate": self.error_rate,
            "errorStatus": self.error_status,
            "abortRate": self.abort_rate,
            "dependencies": sorted(set(self.dependencies)),
        }


class Chaos:
    """Talks to the fault endpoints of the services listening on `ports` (name → port)."""

    def __init__(
        self, ports: Mapping[str, int], signing_key_file: Path, *, timeout: float = 5.0
    ) -> None:
        # Imported here: the chassis package loads the whole service stack (~1 s), which every
        # other `bazaar` command (`up` above all) must not pay for.
        from chassis import TokenSigner, load_private_key

        self.ports = dict(ports)
        self._signer = TokenSigner(
            load_private_key(signing_key_file),
            issuer=JWT_ISSUER,
            audience=JWT_AUDIENCE,
            ttl_seconds=TOKEN_TTL_SECONDS,
        )
        self._timeout = timeout

    @classmethod
    def for_config(cls, config: SystemConfig) -> Chaos:
        """For a `System` this process runs (the tests)."""
        ports = {spec.name: config.service_ports[spec.port_key] for spec in config.services}
        return cls(ports, config.signing_key_file)

    @classmethod
    def from_run_state(cls, data_dir: Path) -> Chaos:
        """For the system `bazaar up` runs in `data_dir` (ports from its run state)."""
        state = read_state(data_dir)
        if state is None:
            raise NotRunningError(f"Bazaar is not running (no run state in {data_dir})")
        ports = {c.name: c.port for c in state.components if c.name in _SERVICE_NAMES}
        return cls(ports, SystemConfig(data_dir=data_dir).signing_key_file)

    def admin_token(self) -> str:
        return self._signer.issue(CHAOS_SUBJECT, roles=["admin"])

    def set(self, service: str, faults: Faults) -> dict[str, Any]:
        """Replaces the service's faults; returns them as the service now reports them."""
        return self._call(service, "PUT", faults.to_json())

    def show(self, service: str) -> dict[str, Any]:
        return self._call(service, "GET")

    def clear(self, service: str) -> None:
        self._call(service, "DELETE")

    def clear_all(self, services: Iterable[str] | None = None) -> dict[str, ChaosError | None]:
        """Clears every service's faults; a service without fault injection is reported, not
        raised, so the others still get cleared."""
        outcome: dict[str, ChaosError | None] = {}
        for service in services or self.ports:
            try:
                self.clear(service)
                outcome[service] = None
            except ChaosError as error:
                outcome[service] = error
        return outcome

    def show_all(self) -> dict[str, dict[str, Any] | ChaosError]:
        shown: dict[str, dict[str, Any] | ChaosError] = {}
        for service in self.ports:
            try:
                shown[service] = self.show(service)
            except ChaosError as error:
                shown[service] = error
        return shown

    def _call(
        self, service: str, method: str, body: Mapping[str, Any] | None = None
    ) -> dict[str, Any]:
        port = self.ports.get(service)
        if port is None:
            known = ", ".join(sorted(self.ports))
            raise ChaosError(f"no service named {service!r} (known: {known})")
        headers = {"authorization": f"Bearer {self.admin_token()}", "accept": "application/json"}
        payload = None
        if body is not None:
            payload = json.dumps(body).encode()
            headers["content-type"] = "application/json"
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=self._timeout)
        try:
            conn.request(method, FAULTS_PATH, body=payload, headers=headers)
            response = conn.getresponse()
            status, text = response.status, response.read().decode("utf-8", "replace")
        except (OSError, http.client.HTTPException) as error:
            raise ChaosError(f"{service} does not answer on port {port}: {error}") from None
        finally:
            conn.close()
        return _answer(service, method, status, text)


def _answer(service: str, method: str, status: int, text: str) -> dict[str, Any]:
    if status in (404, 405):
        raise FaultInjectionDisabled(
            f"{service} has no fault injection (start it with FAULT_INJECTION_ENABLED=true)"
        )
    if status in (401, 403):
        raise FaultInjectionDisabled(
            f"{service} refused the admin token ({status}): fault injection is off, or the "
            f"service does not verify tokens from this data folder's signing key: {text[:300]}"
        )
    if status >= 300:
        raise ChaosError(f"{method} {FAULTS_PATH} on {service} answered {status}: {text[:300]}")
    if not text.strip():
        return {}
    try:
        parsed = json.loads(text)
    except ValueError:
        raise ChaosError(f"{service} answered {status} with something not JSON") from None
    return parsed if isinstance(parsed, dict) else {"faults": parsed}
