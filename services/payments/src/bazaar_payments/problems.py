"""Domain errors as the problem+json answers orders gets (the only place this happens)."""

from __future__ import annotations

from chassis import Conflict, NotFound, ServiceUnavailable, Unprocessable
from chassis.problem_table import ProblemRow, ProblemTable

from .domain import (
    InvalidPayment,
    InvalidPaymentState,
    PaymentMismatch,
    PaymentNotFound,
    PaymentVoided,
    ProcessorUnavailable,
)

RETRY_AFTER_SECONDS = "2"

problem_for = ProblemTable(
    ProblemRow(PaymentNotFound, NotFound, "Payment not found", "payment-not-found"),
    ProblemRow(
        PaymentMismatch, Conflict, "Payment mismatch", "payment-mismatch",
        detail=lambda e: f"{e}; nothing was changed.",
    ),
    ProblemRow(PaymentVoided, Conflict, "Payment voided", "payment-voided"),
    ProblemRow(
        InvalidPaymentState, Conflict, "Invalid payment state", "invalid-payment-state",
        extensions=lambda e: {"paymentStatus": e.status.value},
    ),
    ProblemRow(InvalidPayment, Unprocessable, "Invalid payment", "invalid-payment"),
    ProblemRow(
        ProcessorUnavailable, ServiceUnavailable, "Processor unavailable",
        "processor-unavailable",
        detail=lambda _: "The payment processor is unavailable; nothing was authorized or "
        "stored. Try again shortly.",
        headers={"Retry-After": RETRY_AFTER_SECONDS},
    ),
)  # fmt: skip
