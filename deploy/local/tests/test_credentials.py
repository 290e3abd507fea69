from __future__ import annotations

import stat
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import load_pem_private_key

from bazaar_local.credentials import (
    admin_password,
    database_password,
    ensure_signing_key,
    load_or_create_secrets,
)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_secrets_are_generated_once_and_private(tmp_path: Path) -> None:
    path = tmp_path / "secrets.json"
    first = load_or_create_secrets(path, ["users", "products"])
    again = load_or_create_secrets(path, ["users", "products"])

    assert mode(path) == 0o600
    assert again == first
    assert admin_password(first)
    assert database_password(first, "users") != database_password(first, "products")


def test_a_new_service_gets_a_password_and_old_ones_stay(tmp_path: Path) -> None:
    path = tmp_path / "secrets.json"
    first = load_or_create_secrets(path, ["users"])
    grown = load_or_create_secrets(path, ["users", "payments"])
    assert database_password(grown, "users") == database_password(first, "users")
    assert database_password(grown, "payments")


def test_signing_key_is_a_private_ed25519_pem_made_once(tmp_path: Path) -> None:
    path = ensure_signing_key(tmp_path / "keys" / "jwt-signing.pem")
    pem = path.read_bytes()
    ensure_signing_key(path)

    assert mode(path) == 0o600
    assert path.read_bytes() == pem
    assert isinstance(load_pem_private_key(pem, password=None), Ed25519PrivateKey)
