"""The events payments publishes (contracts/events/bazaar.payments.payment.*.v1.json)."""

from __future__ import annotations

from typing import Any

from chassis import CloudEvent, new_event

from .domain import Payment, PaymentStatus

SOURCE = "/bazaar/payments"
TYPES: dict[PaymentStatus, str] = {
    PaymentStatus.AUTHORIZED: "bazaar.payments.payment.authorized.v1",
    PaymentStatus.DECLINED: "bazaar.payments.payment.declined.v1",
    PaymentStatus.CAPTURED: "bazaar.payments.payment.captured.v1",
    PaymentStatus.VOIDED: "bazaar.payments.payment.voided.v1",
    PaymentStatus.REFUNDED: "bazaar.payments.payment.refunded.v1",
}


def payment_event(payment: Payment) -> CloudEvent:
    """The event saying ``payment`` has just reached its current status."""
    if payment.amount is None or payment.currency is None:
        # A void tombstone moved no money and has nothing to report.
        raise ValueError(f"payment {payment.payment_id} is a tombstone and has no event")
    data: dict[str, Any] = {
        "paymentId": str(payment.payment_id),
        "orderId": str(payment.order_id),
        "amount": f"{payment.amount:.2f}",
        "currency": payment.currency,
    }
    if payment.status is PaymentStatus.DECLINED:
        data["reason"] = payment.decline_reason
    return new_event(
        source=SOURCE, type=TYPES[payment.status], subject=str(payment.order_id), data=data
    )
