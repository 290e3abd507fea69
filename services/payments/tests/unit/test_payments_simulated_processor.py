"""The simulated processor: the token decides, deterministically."""

from __future__ import annotations

from decimal import Decimal

import pytest

from bazaar_payments.adapters.simulated_processor import SimulatedProcessor
from bazaar_payments.domain import Approved, Declined, ProcessorUnavailable

AMOUNT = Decimal("59.97")


@pytest.mark.parametrize(
    ("token", "decision"),
    [
        ("tok_visa", Approved()),
        ("tok_mastercard", Approved()),
        ("tok_decline", Declined("card_declined")),
        ("tok_insufficient_funds", Declined("insufficient_funds")),
        ("tok_nonsense", Declined("invalid_token")),
    ],
)
async def test_tokens_decide_the_answer(token: str, decision: object) -> None:
    assert await SimulatedProcessor().authorize(token, AMOUNT) == decision


async def test_tok_error_fails_at_once() -> None:
    with pytest.raises(ProcessorUnavailable):
        await SimulatedProcessor().authorize("tok_error", AMOUNT)


async def test_tok_timeout_hangs_then_fails_rather_than_answering() -> None:
    with pytest.raises(ProcessorUnavailable):
        await SimulatedProcessor(timeout_seconds=0).authorize("tok_timeout", AMOUNT)
