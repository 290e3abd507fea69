"""The service defaults: problem+json for every error, request ids, health and readiness."""

from __future__ import annotations

import httpx

from chassis import PROBLEM_JSON
from chassis.testing import TestTokens


def assert_problem(response: httpx.Response, status: int) -> dict[str, object]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM_JSON
    body: dict[str, object] = response.json()
    assert body["status"] == status
    assert body["title"]
    return body


async def test_health_is_alive(client: httpx.AsyncClient) -> None:
    response = await client.get("/health")
    assert response.json() == {"status": "ok", "service": "sample", "version": "0.1.0"}


async def test_ready_reflects_registered_checks(client: httpx.AsyncClient) -> None:
    assert (await client.get("/ready")).status_code == 200
    client.app.state.healthy["value"] = False  # type: ignore[attr-defined]
    body = assert_problem(await client.get("/ready"), 503)
    assert "dependency down" in str(body["checks"])


async def test_domain_problem_is_rendered(client: httpx.AsyncClient) -> None:
    body = assert_problem(await client.get("/missing"), 404)
    assert body["detail"] == "There is no such thing."
    assert body["instance"] == "/missing"


async def test_unknown_route_is_problem(client: httpx.AsyncClient) -> None:
    assert_problem(await client.get("/nowhere"), 404)


async def test_unexpected_error_is_500_without_internals(client: httpx.AsyncClient) -> None:
    response = await client.get("/boom")
    body = assert_problem(response, 500)
    assert "secret" not in response.text
    assert body["detail"] == "An unexpected error occurred."
    assert response.headers["x-request-id"]


async def test_validation_names_each_field(client: httpx.AsyncClient, tokens: TestTokens) -> None:
    response = await client.post(
        "/things", json={"quantity": 0, "colour": "red"}, headers=tokens.headers()
    )
    body = assert_problem(response, 422)
    fields = {e["field"] for e in body["errors"]}  # type: ignore[attr-defined]
    assert fields == {"quantity", "colour"}
    assert "quantity" in str(body["detail"])


async def test_malformed_json_is_400(client: httpx.AsyncClient, tokens: TestTokens) -> None:
    headers = {**tokens.headers(), "content-type": "application/json"}
    body = assert_problem(
        await client.post("/things", content=b'{"quantity": ', headers=headers), 400
    )
    assert body["title"] == "Malformed JSON"


async def test_body_over_limit_is_413(client: httpx.AsyncClient, tokens: TestTokens) -> None:
    headers = {**tokens.headers(), "content-type": "application/json"}
    assert_problem(await client.post("/things", content=b" " * 4096, headers=headers), 413)


async def test_request_id_is_kept_or_generated(client: httpx.AsyncClient) -> None:
    kept = await client.get("/health", headers={"x-request-id": "abc-123"})
    assert kept.headers["x-request-id"] == "abc-123"
    generated = await client.get("/health", headers={"x-request-id": "bad id\twith spaces"})
    assert generated.headers["x-request-id"] not in ("", "bad id\twith spaces")


async def test_openapi_errors_are_problems(client: httpx.AsyncClient) -> None:
    document = client.app.openapi()  # type: ignore[attr-defined]
    responses = document["paths"]["/things"]["post"]["responses"]
    for code in ("404", "422"):
        assert responses[code]["content"] == {
            PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}
        }
    assert "HTTPValidationError" not in document["components"]["schemas"]
    assert document["paths"]["/things"]["post"]["security"] == [{"bearerAuth": []}]
