"""Who the client is for rate limiting: the peer, or X-Forwarded-For only behind trusted proxies;
and how the settings read TRUSTED_PROXIES and RATE_LIMITS."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from bazaar_gateway.client_identity import UNKNOWN, ClientIdentity, parse_networks
from bazaar_gateway.rate_limits import LimitRule
from bazaar_gateway.settings import Settings


def _settings(**values: Any) -> Settings:
    return Settings(openapi_dir=Path("/contracts"), jwks_url="http://users/jwks", **values)


def test_without_trusted_proxies_the_peer_is_the_client_whatever_the_header_says() -> None:
    identity = ClientIdentity()
    assert identity.address("198.51.100.4", b"203.0.113.9") == "198.51.100.4"
    assert identity.address(None, b"203.0.113.9") == UNKNOWN


def test_an_untrusted_peer_cannot_claim_another_address() -> None:
    identity = ClientIdentity(parse_networks(["10.0.0.0/8"]))
    assert identity.address("198.51.100.4", b"203.0.113.9") == "198.51.100.4"


def test_behind_a_trusted_proxy_the_first_untrusted_hop_from_the_right_is_the_client() -> None:
    identity = ClientIdentity(parse_networks(["10.0.0.0/8", "192.0.2.7"]))
    # The client made up "1.2.3.4"; our proxies appended the real hops after it.
    chain = b"1.2.3.4, 203.0.113.9, 192.0.2.7"
    assert identity.address("10.1.2.3", chain) == "203.0.113.9"
    assert identity.address("10.1.2.3", b"203.0.113.9") == "203.0.113.9"
    # No header at all: the proxy itself is all we know.
    assert identity.address("10.1.2.3", None) == "10.1.2.3"


def test_a_chain_of_only_trusted_hops_ends_at_the_leftmost_and_garbage_stops_it() -> None:
    identity = ClientIdentity(parse_networks(["10.0.0.0/8"]))
    assert identity.address("10.0.0.1", b"10.0.0.3, 10.0.0.2") == "10.0.0.3"
    assert identity.address("10.0.0.1", b"not-an-ip, 10.0.0.2") == "10.0.0.2"


def test_ipv6_networks_are_understood() -> None:
    identity = ClientIdentity(parse_networks(["::1"]))
    assert identity.address("::1", b"2001:db8::5") == "2001:db8::5"


def test_a_bad_trusted_proxy_entry_is_refused_at_start_up() -> None:
    with pytest.raises(ValidationError, match=r"TRUSTED_PROXIES: 'proxy\.local'"):
        _settings(trusted_proxies="10.0.0.0/8, proxy.local")
    assert len(_settings(trusted_proxies="10.0.0.0/8, ::1,").trusted_networks()) == 2


def test_rate_limits_come_from_json_with_a_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(
        "RATE_LIMITS",
        '{"default": {"rate": 20, "burst": 40}, "POST /auth/token": {"rate": 1, "burst": 5}}',
    )
    settings = _settings()
    assert settings.rate_limits == {
        "default": LimitRule(rate=20, burst=40),
        "POST /auth/token": LimitRule(rate=1, burst=5),
    }


@pytest.mark.parametrize(
    ("limits", "message"),
    [
        ({"POST /auth/token": {"rate": 1, "burst": 5}}, "needs a 'default' entry"),
        ({"default": {"rate": 1, "burst": 5}, "auth/token": {"rate": 1, "burst": 5}}, "METHOD"),
        ({"default": {"rate": 0, "burst": 5}}, "greater than 0"),
        ({"default": {"rate": 1, "burst": 5, "window": 3}}, "Extra inputs"),
    ],
)
def test_bad_rate_limits_are_refused_at_start_up(limits: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        _settings(rate_limits=limits)
