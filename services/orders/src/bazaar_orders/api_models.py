"""The JSON the orders API reads and writes (camelCase; requests refuse unknown fields)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from .domain import MAX_LINES, MAX_QUANTITY, MIN_QUANTITY, OrderStatus, RejectionReason
from .domain import Order as PlacedOrder

MONEY = Field(pattern=r"^-?\d+\.\d{2}$", examples=["19.99"])
DEFAULT_PAYMENT_TOKEN = "tok_visa"  # noqa: S105 - the simulated card on file, not a secret


class _Model(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True)


class PlaceOrderItem(_Model):
    model_config = ConfigDict(extra="forbid")

    product_id: uuid.UUID
    # strict: 2.0, "2" or true are not quantities.
    quantity: int = Field(ge=MIN_QUANTITY, le=MAX_QUANTITY, strict=True)


class PlaceOrder(_Model):
    model_config = ConfigDict(extra="forbid")

    items: list[PlaceOrderItem] = Field(min_length=1, max_length=MAX_LINES)
    # A reference to the customer's card with the payment processor, never a card number.
    payment_token: str = Field(
        default=DEFAULT_PAYMENT_TOKEN,
        min_length=1,
        max_length=64,
        pattern=r"^[A-Za-z0-9_]+$",
        examples=[DEFAULT_PAYMENT_TOKEN],
    )


class OrderItem(_Model):
    product_id: uuid.UUID
    quantity: int
    unit_price: Annotated[str, MONEY]
    line_total: Annotated[str, MONEY]


class Order(_Model):
    order_id: uuid.UUID
    customer_id: uuid.UUID
    status: OrderStatus
    # Why the order was REJECTED; null in every other status.
    rejection_reason: RejectionReason | None
    total_amount: Annotated[str, MONEY]
    currency: str = Field(examples=["USD"])
    items: list[OrderItem]
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, order: PlacedOrder) -> Order:
        return cls(
            order_id=order.order_id,
            customer_id=order.customer_id,
            status=order.status,
            rejection_reason=order.rejection_reason,
            total_amount=f"{order.total_amount:.2f}",
            currency=order.currency,
            items=[
                OrderItem(
                    product_id=line.product_id,
                    quantity=line.quantity,
                    unit_price=f"{line.unit_price:.2f}",
                    line_total=f"{line.line_total:.2f}",
                )
                for line in order.lines
            ],
            created_at=order.created_at,
            updated_at=order.updated_at,
        )


class OrderPage(_Model):
    items: list[Order]
    next_cursor: str | None
