"""Gateway rate limits: a client over its limit gets 429 with `Retry-After` and the IETF
`RateLimit-*` headers, while another client on the same route (and address) is unaffected.

The resilient shop limits `GET /notifications` to a burst of `knobs.limited_burst` at 0.2/s
per client; a client with a token is its user id, so two shoppers are two clients even
though both come from 127.0.0.1."""

from __future__ import annotations

import httpx
import pytest

pytestmark = pytest.mark.system

ROUTE = "/notifications"


def limit_headers(answer: httpx.Response) -> tuple[int, int, int]:
    return (
        int(answer.headers["ratelimit-limit"]),
        int(answer.headers["ratelimit-remaining"]),
        int(answer.headers["ratelimit-reset"]),
    )


def test_a_client_over_its_limit_gets_429_and_others_do_not(
    resilient_gateway: httpx.Client, resilient_register, metrics, knobs
) -> None:  # type: ignore[no-untyped-def]
    greedy, other = resilient_register(), resilient_register()
    limited_before = metrics.read("gateway").value("bazaar_rate_limited_total")
    answers = [
        resilient_gateway.get(ROUTE, headers=greedy.headers) for _ in range(knobs.limited_burst + 3)
    ]
    allowed = [a for a in answers if a.status_code == 200]
    refused = [a for a in answers if a.status_code == 429]
    assert len(allowed) + len(refused) == len(answers), [a.status_code for a in answers]
    # The burst goes through (the refill adds at most one more in the time it takes), the
    # rest is refused.
    assert knobs.limited_burst <= len(allowed) <= knobs.limited_burst + 1
    assert answers[0].status_code == 200
    assert answers[-1].status_code == 429

    # Allowed answers count down what is left.
    remaining = [limit_headers(a)[1] for a in allowed]
    assert remaining == sorted(remaining, reverse=True)
    assert all(limit_headers(a)[0] == knobs.limited_burst for a in allowed)

    for answer in refused:
        limit, left, reset = limit_headers(answer)
        assert limit == knobs.limited_burst
        assert left == 0
        assert reset >= 1
        assert int(answer.headers["retry-after"]) >= 1
        assert answer.headers["content-type"].startswith("application/problem+json")
        assert answer.json()["status"] == 429

    # The other client on the same route is unaffected.
    theirs = resilient_gateway.get(ROUTE, headers=other.headers)
    assert theirs.status_code == 200, theirs.text
    assert limit_headers(theirs)[1] == knobs.limited_burst - 1

    # Other routes of the greedy client have their own (default) limit.
    assert (
        resilient_gateway.get(f"/users/{greedy.user_id}", headers=greedy.headers).status_code == 200
    )
    counted = metrics.read("gateway").value("bazaar_rate_limited_total")
    assert counted >= limited_before + len(refused)
