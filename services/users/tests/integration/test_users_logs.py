"""Passwords never reach the logs, whatever the request does."""

from __future__ import annotations

import httpx
import pytest
from asgi_lifespan import LifespanManager

from bazaar_users.bootstrap import create_app
from bazaar_users.settings import Settings

pytestmark = pytest.mark.integration

SECRET = "plaintext-Pa55word-canary"


async def test_the_plaintext_password_is_never_logged(
    settings: Settings, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    # Built inside the test so the JSON log handler writes to capsys's stdout.
    app = create_app(settings)
    async with (
        LifespanManager(app, startup_timeout=60),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://users") as http,
    ):
        credentials = {"email": "quinn@example.com", "password": SECRET}
        registered = await http.post("/users", json=credentials)
        duplicate = await http.post("/users", json={**credentials, "email": "QUINN@example.com"})
        issued = await http.post("/auth/token", json=credentials)
        refused = await http.post("/auth/token", json={**credentials, "password": SECRET + "!"})
        too_short = await http.post(
            "/users", json={"email": "r@example.com", "password": "short-x"}
        )
        extra = await http.post("/users", json={**credentials, "secret": SECRET})

    assert [r.status_code for r in (registered, duplicate, issued, refused, too_short, extra)] == [
        201,
        409,
        200,
        401,
        422,
        422,
    ]
    out, err = capsys.readouterr()
    # The capture really holds the service's logs (else "absent" would prove nothing).
    assert '"path": "/users"' in out
    assert '"path": "/auth/token"' in out
    assert '"event": "user_registered"' in out
    for text in (out, err, caplog.text):
        assert SECRET not in text
        assert "short-x" not in text
    for response in (registered, duplicate, issued, refused, too_short, extra):
        assert SECRET not in response.text
