"""The users API end to end: real app, real PostgreSQL, real argon2 and EdDSA tokens."""

from __future__ import annotations

import asyncio
import base64
import json
import uuid

import httpx
import jwt
import pytest
from fastapi import FastAPI

from chassis import TokenSigner

pytestmark = pytest.mark.integration

PASSWORD = "correct horse battery"
PROBLEM = "application/problem+json"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_register_then_token_then_read_yourself(
    client: httpx.AsyncClient, register, login
) -> None:
    created = await register("  Alice@Example.com ")

    assert created.status_code == 201, created.text
    body = created.json()
    assert set(body) == {"userId", "email", "roles", "createdAt"}
    assert body["email"] == "Alice@example.com"  # trimmed; EmailStr lower-cases only the domain
    assert body["roles"] == []
    assert created.headers["location"] == f"/users/{body['userId']}"
    assert PASSWORD not in created.text

    issued = await login("alice@example.com")
    assert issued.status_code == 200, issued.text
    token = issued.json()
    assert token["tokenType"] == "Bearer"
    assert token["expiresIn"] == 900
    assert issued.headers["cache-control"] == "no-store"
    claims = jwt.decode(token["accessToken"], options={"verify_signature": False})
    assert claims["sub"] == body["userId"]
    assert claims["iss"] == "bazaar-users"
    assert claims["aud"] == "bazaar"
    assert claims["roles"] == []
    assert claims["exp"] - claims["iat"] == 900

    me = await client.get(created.headers["location"], headers=bearer(token["accessToken"]))
    assert me.status_code == 200, me.text
    assert me.json() == body


async def test_the_stored_password_is_an_argon2_hash(register, user_rows) -> None:
    created = await register("hash@example.com")
    assert created.status_code == 201

    [_admin, row] = await user_rows()
    assert str(row["password_hash"]).startswith("$argon2id$")
    assert PASSWORD not in str(row["password_hash"])


async def test_duplicate_email_in_another_case_is_409(register, user_rows) -> None:
    assert (await register("bob@example.com")).status_code == 201

    again = await register("BOB@example.com", "another long password")

    assert again.status_code == 409
    assert again.headers["content-type"] == PROBLEM
    assert again.json()["type"] == "https://bazaar.dev/problems/email-taken"
    assert [r["email"] for r in await user_rows()][1:] == ["bob@example.com"]


async def test_short_password_is_422_naming_password(register, user_rows) -> None:
    response = await register("carol@example.com", "too short")

    assert response.status_code == 422
    assert response.headers["content-type"] == PROBLEM
    problem = response.json()
    assert [e["field"] for e in problem["errors"]] == ["password"]
    assert "too short" not in response.text
    assert len(await user_rows()) == 1  # just the admin


async def test_invalid_email_is_422_naming_email(register) -> None:
    response = await register("not-an-email")
    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == ["email"]


async def test_unknown_fields_are_422(client: httpx.AsyncClient, user_rows) -> None:
    response = await client.post(
        "/users", json={"email": "dan@example.com", "password": PASSWORD, "roles": ["admin"]}
    )

    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == ["roles"]
    assert len(await user_rows()) == 1


async def test_malformed_json_is_400(client: httpx.AsyncClient) -> None:
    for path in ("/users", "/auth/token"):
        response = await client.post(
            path,
            content=b'{"email": "x@example.com",',
            headers={"content-type": "application/json"},
        )
        assert response.status_code == 400, path
        assert response.headers["content-type"] == PROBLEM
        assert response.json()["title"] == "Malformed JSON"


async def test_wrong_password_and_unknown_email_are_the_same_401(register, login) -> None:
    assert (await register("erin@example.com")).status_code == 201

    wrong = await login("erin@example.com", "not the password")
    unknown = await login("nobody@example.com")

    for response in (wrong, unknown):
        assert response.status_code == 401
        assert response.headers["content-type"] == PROBLEM
        assert response.json()["type"] == "https://bazaar.dev/problems/invalid-credentials"
        assert "accessToken" not in response.text
    assert wrong.json()["detail"] == unknown.json()["detail"]


async def test_admin_is_bootstrapped_with_the_admin_role(
    client: httpx.AsyncClient, login, admin_credentials
) -> None:
    email, password = admin_credentials

    issued = await login(email, password)

    assert issued.status_code == 200, issued.text
    token = issued.json()["accessToken"]
    claims = jwt.decode(token, options={"verify_signature": False})
    assert claims["roles"] == ["admin"]
    me = await client.get(f"/users/{claims['sub']}", headers=bearer(token))
    assert me.json()["roles"] == ["admin"]


async def test_an_expired_token_is_401(client: httpx.AsyncClient, app: FastAPI, register) -> None:
    user_id = (await register("fay@example.com")).json()["userId"]
    signer: TokenSigner = app.state.signer
    expired = signer.issue(user_id, ttl_seconds=-120)

    response = await client.get(f"/users/{user_id}", headers=bearer(expired))

    assert response.status_code == 401
    assert response.headers["content-type"] == PROBLEM
    assert "expired" in response.json()["detail"]
    assert response.headers["www-authenticate"].startswith("Bearer")


async def test_a_tampered_token_is_401(client: httpx.AsyncClient, register, login) -> None:
    user_id = (await register("gus@example.com")).json()["userId"]
    token = (await login("gus@example.com")).json()["accessToken"]
    header, _payload, signature = token.split(".")
    claims = jwt.decode(token, options={"verify_signature": False})
    # Same signature, but the payload now claims the admin role.
    claims["roles"] = ["admin"]
    forged_payload = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=")
    forged = f"{header}.{forged_payload.decode()}.{signature}"

    response = await client.get(f"/users/{user_id}", headers=bearer(forged))

    assert response.status_code == 401
    assert response.json()["detail"] == "The access token is invalid."


async def test_no_token_is_401(client: httpx.AsyncClient) -> None:
    response = await client.get(f"/users/{uuid.uuid4()}")
    assert response.status_code == 401
    assert response.headers["content-type"] == PROBLEM


async def test_a_token_from_another_key_is_401(client: httpx.AsyncClient, register) -> None:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    user_id = (await register("hal@example.com")).json()["userId"]
    stranger = TokenSigner(Ed25519PrivateKey.generate(), issuer="bazaar-users", audience="bazaar")

    response = await client.get(f"/users/{user_id}", headers=bearer(stranger.issue(user_id)))

    assert response.status_code == 401


async def test_another_users_profile_is_404_like_an_unknown_one(
    client: httpx.AsyncClient, register, login
) -> None:
    other_id = (await register("ivy@example.com")).json()["userId"]
    assert (await register("joe@example.com")).status_code == 201
    token = (await login("joe@example.com")).json()["accessToken"]

    other = await client.get(f"/users/{other_id}", headers=bearer(token))
    unknown = await client.get(f"/users/{uuid.uuid4()}", headers=bearer(token))

    for response in (other, unknown):
        assert response.status_code == 404
        assert response.headers["content-type"] == PROBLEM
    assert other.json()["detail"] == unknown.json()["detail"]
    assert other.json()["type"] == unknown.json()["type"]


async def test_a_malformed_user_id_is_422(client: httpx.AsyncClient, register, login) -> None:
    assert (await register("kay@example.com")).status_code == 201
    token = (await login("kay@example.com")).json()["accessToken"]

    response = await client.get("/users/not-a-uuid", headers=bearer(token))

    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == ["path.userId"]


async def test_jwks_is_public_cacheable_and_verifies_issued_tokens(
    client: httpx.AsyncClient, register, login
) -> None:
    user_id = (await register("lou@example.com")).json()["userId"]
    token = (await login("lou@example.com")).json()["accessToken"]

    response = await client.get("/.well-known/jwks.json")

    assert response.status_code == 200
    assert response.headers["cache-control"] == "public, max-age=300"
    jwks = response.json()
    [key] = jwks["keys"]
    assert key["kty"] == "OKP"
    assert key["crv"] == "Ed25519"
    assert "d" not in key  # the private part never leaves
    assert jwt.get_unverified_header(token)["kid"] == key["kid"]
    claims = jwt.decode(
        token,
        jwt.PyJWK(key).key,
        algorithms=["EdDSA"],
        audience="bazaar",
        issuer="bazaar-users",
    )
    assert claims["sub"] == user_id


async def test_concurrent_registrations_of_one_email_have_one_winner(
    client: httpx.AsyncClient, user_rows
) -> None:
    emails = ["race@example.com", "RACE@example.com", "Race@Example.com"] * 2

    responses = await asyncio.gather(
        *(client.post("/users", json={"email": e, "password": PASSWORD}) for e in emails)
    )

    statuses = sorted(r.status_code for r in responses)
    assert statuses == [201] + [409] * (len(emails) - 1)
    for response in responses:
        if response.status_code == 409:
            assert response.json()["type"] == "https://bazaar.dev/problems/email-taken"
    rows = [r for r in await user_rows() if str(r["email"]).lower() == "race@example.com"]
    assert len(rows) == 1


async def test_ready_once_started(client: httpx.AsyncClient) -> None:
    response = await client.get("/ready")
    assert response.status_code == 200
    assert response.json()["checks"] == {"database": "ok", "migrations": "ok"}
