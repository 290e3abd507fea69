"""The whole shop, started once per session the way `bazaar up` starts it, on free ports."""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import httpx
import pytest

from bazaar_local.system import System, SystemConfig
from bazaar_local.testing import make_shared_temp_dir
from chassis import TokenSigner, load_private_key


@dataclass
class Shopper:
    email: str
    password: str
    user_id: str
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"authorization": f"Bearer {self.token}"}


@pytest.fixture(scope="session")
def shop() -> Iterator[System]:
    data_dir = make_shared_temp_dir("bazaar-system-")
    system = System(SystemConfig.with_free_ports(data_dir, fast_postgres=True))
    try:
        system.start()
        yield system
    finally:
        system.stop()
        shutil.rmtree(data_dir, ignore_errors=True)


@pytest.fixture(scope="session")
def gateway(shop: System) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=shop.gateway_url, timeout=30) as client:
        yield client


@pytest.fixture(scope="session")
def signer(shop: System) -> TokenSigner:
    """Signs with the shop's real key: for tokens the API would never hand out (expired)."""
    return TokenSigner(
        load_private_key(shop.config.signing_key_file), issuer="bazaar-users", audience="bazaar"
    )


Register = Callable[[], Shopper]


def _register(gateway: httpx.Client) -> Shopper:
    email = f"shopper-{uuid.uuid4().hex[:12]}@example.com"
    password = "a long enough password"
    created = gateway.post("/users", json={"email": email, "password": password})
    assert created.status_code == 201, created.text
    login = gateway.post("/auth/token", json={"email": email, "password": password})
    assert login.status_code == 200, login.text
    return Shopper(email, password, created.json()["userId"], login.json()["accessToken"])


@pytest.fixture(scope="session")
def register(gateway: httpx.Client) -> Register:
    """Registers a new shopper and logs them in."""
    return lambda: _register(gateway)


@pytest.fixture
def shopper(register: Register) -> Shopper:
    return register()


@pytest.fixture(scope="session")
def admin(shop: System, gateway: httpx.Client) -> dict[str, str]:
    login = gateway.post(
        "/auth/token", json={"email": shop.admin_email, "password": shop.admin_password}
    )
    assert login.status_code == 200, login.text
    return {"authorization": f"Bearer {login.json()['accessToken']}"}


@pytest.fixture
def make_product(gateway: httpx.Client, admin: dict[str, str]):  # type: ignore[no-untyped-def]
    def make(inventory: int, price: str = "12.50") -> str:
        sku = f"TEST-{uuid.uuid4().hex[:10]}"
        created = gateway.post(
            "/products",
            json={"sku": sku, "name": f"Test {sku}", "price": price, "inventory": inventory},
            headers=admin,
        )
        assert created.status_code == 201, created.text
        return str(created.json()["productId"])

    return make
