"""A signing key that can't be used stops the start-up before anything else happens."""

from __future__ import annotations

from pathlib import Path

import pytest
from asgi_lifespan import LifespanManager

from bazaar_users.bootstrap import create_app
from bazaar_users.settings import Settings
from bazaar_users.signing_key import SigningKeyError


@pytest.mark.parametrize("content", [None, b"-----BEGIN PRIVATE KEY-----\nnope\n"])
async def test_start_up_fails_fast_on_an_unusable_key(
    tmp_path: Path, content: bytes | None
) -> None:
    key_file = tmp_path / "key.pem"
    if content is not None:
        key_file.write_bytes(content)
    # Port 1 on localhost: if start-up got as far as the database, it would fail differently.
    settings = Settings(
        database_url="postgresql+asyncpg://nobody:nothing@127.0.0.1:1/users",
        jwt_private_key_file=key_file,
    )
    app = create_app(settings)

    with pytest.raises(SigningKeyError, match="JWT_PRIVATE_KEY_FILE"):
        async with LifespanManager(app):
            pass  # pragma: no cover - start-up must not succeed
    assert app.state.started is False
