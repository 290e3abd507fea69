"""A deterministic stand-in for a card processor: the token decides the answer.

tok_visa, tok_mastercard     approved
tok_decline                  declined "card_declined"
tok_insufficient_funds       declined "insufficient_funds"
tok_timeout                  hangs ``timeout_seconds`` (longer than any caller waits), then fails
tok_error                    fails at once (ProcessorUnavailable)
anything else                declined "invalid_token"
"""

from __future__ import annotations

import asyncio
from decimal import Decimal

from bazaar_payments.domain import Approved, Declined, ProcessorDecision, ProcessorUnavailable

APPROVED_TOKENS = frozenset({"tok_visa", "tok_mastercard"})
DECLINES = {"tok_decline": "card_declined", "tok_insufficient_funds": "insufficient_funds"}


class SimulatedProcessor:
    def __init__(self, *, latency_seconds: float = 0.0, timeout_seconds: float = 30.0) -> None:
        self.latency_seconds = latency_seconds
        self.timeout_seconds = timeout_seconds

    async def authorize(self, token: str, amount: Decimal) -> ProcessorDecision:
        if self.latency_seconds:
            await asyncio.sleep(self.latency_seconds)
        if token in APPROVED_TOKENS:
            return Approved()
        if token in DECLINES:
            return Declined(DECLINES[token])
        match token:
            case "tok_timeout":
                await asyncio.sleep(self.timeout_seconds)
                raise ProcessorUnavailable("the processor did not answer in time")
            case "tok_error":
                raise ProcessorUnavailable("the processor answered with an error")
        return Declined("invalid_token")
