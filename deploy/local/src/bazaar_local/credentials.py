"""Passwords and the token-signing key, generated on first run and kept in the data folder."""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterable
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat

from bazaar_local.private_files import write_private_file

ADMIN_PASSWORD_KEY = "admin_password"  # noqa: S105 (a JSON key, not a password)
DATABASE_PASSWORDS_KEY = "database_passwords"


def new_password() -> str:
    return secrets.token_urlsafe(24)


def load_or_create_secrets(path: Path, databases: Iterable[str]) -> dict[str, object]:
    """Read `secrets.json`, adding whatever is missing (new services get their password here).

    Shape: {"admin_password": str, "database_passwords": {database: password}}.
    """
    data: dict[str, object] = {}
    if path.exists():
        data = json.loads(path.read_text(encoding="utf-8"))
    changed = False
    if not isinstance(data.get(ADMIN_PASSWORD_KEY), str):
        data[ADMIN_PASSWORD_KEY] = new_password()
        changed = True
    passwords = data.get(DATABASE_PASSWORDS_KEY)
    if not isinstance(passwords, dict):
        passwords = {}
        data[DATABASE_PASSWORDS_KEY] = passwords
        changed = True
    for name in databases:
        if not isinstance(passwords.get(name), str):
            passwords[name] = new_password()
            changed = True
    if changed:
        write_private_file(path, json.dumps(data, indent=2, sort_keys=True) + "\n")
    return data


def admin_password(data: dict[str, object]) -> str:
    value = data[ADMIN_PASSWORD_KEY]
    assert isinstance(value, str)
    return value


def database_password(data: dict[str, object], database: str) -> str:
    passwords = data[DATABASE_PASSWORDS_KEY]
    assert isinstance(passwords, dict)
    value = passwords[database]
    assert isinstance(value, str)
    return value


def ensure_signing_key(path: Path) -> Path:
    """An Ed25519 private key (PKCS#8 PEM, mode 0600) for signing tokens, made once."""
    if not path.exists():
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        pem = Ed25519PrivateKey.generate().private_bytes(
            Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()
        )
        write_private_file(path, pem)
    return path
