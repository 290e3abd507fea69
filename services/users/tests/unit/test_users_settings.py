"""Settings and the signing key: bad configuration stops the start-up with a clear reason."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ec import SECP256R1, generate_private_key
from pydantic import ValidationError

from bazaar_users.settings import Settings
from bazaar_users.signing_key import SigningKeyError, load_signing_key
from chassis import generate_private_key_pem

DB = "postgresql+asyncpg://u:p@localhost/users"


def make(**values: object) -> Settings:
    return Settings(database_url=DB, jwt_private_key_file=Path("key.pem"), **values)  # type: ignore[arg-type]


def test_defaults() -> None:
    settings = make()
    assert settings.service_name == "users"
    assert settings.access_token_ttl_seconds == 900
    assert settings.jwt_issuer == "bazaar-users"
    assert settings.jwt_audience == "bazaar"
    assert settings.admin_email is None


@pytest.mark.parametrize("ttl", [59, 3601])
def test_token_ttl_is_bounded(ttl: int) -> None:
    with pytest.raises(ValidationError, match="access_token_ttl_seconds"):
        make(access_token_ttl_seconds=ttl)


def test_admin_needs_both_email_and_password() -> None:
    with pytest.raises(ValidationError, match="both ADMIN_EMAIL and ADMIN_PASSWORD"):
        make(admin_email="admin@bazaar.local")
    with pytest.raises(ValidationError, match="both ADMIN_EMAIL and ADMIN_PASSWORD"):
        make(admin_password="long enough password")


def test_admin_password_must_be_long_enough() -> None:
    with pytest.raises(ValidationError, match="12 to 256"):
        make(admin_email="admin@bazaar.local", admin_password="short")


def test_admin_may_use_a_local_domain_and_blank_means_unset() -> None:
    settings = make(admin_email=" admin@bazaar.local ", admin_password="long enough password")
    assert settings.admin_email == "admin@bazaar.local"
    assert "long enough password" not in repr(settings)
    assert make(admin_email="", admin_password="").admin_email is None


def test_admin_email_must_look_like_one() -> None:
    with pytest.raises(ValidationError, match="not an email address"):
        make(admin_email="admin", admin_password="long enough password")


def test_a_good_key_loads(tmp_path: Path) -> None:
    path = tmp_path / "key.pem"
    path.write_bytes(generate_private_key_pem())
    assert load_signing_key(path) is not None


def test_a_missing_key_file_is_named(tmp_path: Path) -> None:
    path = tmp_path / "missing.pem"
    with pytest.raises(SigningKeyError, match=r"JWT_PRIVATE_KEY_FILE .*missing\.pem: cannot read"):
        load_signing_key(path)


def test_garbage_is_not_a_key(tmp_path: Path) -> None:
    path = tmp_path / "key.pem"
    path.write_text("not a key")
    with pytest.raises(SigningKeyError, match="not an unencrypted PEM Ed25519 private key"):
        load_signing_key(path)


def test_a_key_of_the_wrong_type_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "ec.pem"
    path.write_bytes(
        generate_private_key(SECP256R1()).private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    with pytest.raises(SigningKeyError, match="Ed25519"):
        load_signing_key(path)


def test_a_bad_environment_is_reported_without_echoing_secrets(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from bazaar_users.settings import Settings
    from chassis import load_settings

    for name in ("DATABASE_URL", "JWT_PRIVATE_KEY_FILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("ADMIN_EMAIL", "admin@bazaar.local")
    monkeypatch.setenv("ADMIN_PASSWORD", "canary-admin-password")

    with pytest.raises(SystemExit) as exited:
        load_settings(Settings)

    message = str(exited.value.code)
    assert "database_url: Field required" in message
    assert "jwt_private_key_file: Field required" in message
    assert "canary-admin-password" not in message
