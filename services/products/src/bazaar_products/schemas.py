"""The API's JSON shapes (camelCase); request models refuse unknown fields."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    Strict,
    StringConstraints,
    WithJsonSchema,
    field_validator,
)
from pydantic.alias_generators import to_camel

from .domain import (
    MAX_DESCRIPTION_LENGTH,
    MAX_INVENTORY,
    MAX_LINE_QUANTITY,
    MAX_NAME_LENGTH,
    MAX_RESERVATION_LINES,
    ReservationStatus,
)
from .money import parse_price

PRICE_PATTERN = r"^[0-9]+\.[0-9]{2}$"

PriceIn = Annotated[
    Decimal,
    BeforeValidator(parse_price),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "string", "pattern": r"^[0-9]+(\.[0-9]+)?$"},
                {"type": "number"},
            ],
            "description": "Greater than 0, below 100000000, at most 2 decimal places; "
            'a string such as "19.99" is preferred. Parsed exactly, never through a float.',
            "examples": ["19.99"],
        }
    ),
]
Sku = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{1,64}$")]
Name = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_NAME_LENGTH)
]
Description = Annotated[str, StringConstraints(max_length=MAX_DESCRIPTION_LENGTH)]
# Strict: true/false and 2.5 are not inventories.
Inventory = Annotated[int, Strict(), Field(ge=0, le=MAX_INVENTORY)]
Quantity = Annotated[int, Strict(), Field(ge=1, le=MAX_LINE_QUANTITY)]


class ApiModel(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True)


class RequestModel(ApiModel):
    model_config = ConfigDict(extra="forbid")


class Product(ApiModel):
    product_id: uuid.UUID
    sku: str
    name: str
    description: str
    price: str = Field(pattern=PRICE_PATTERN, examples=["19.99"])
    currency: str = Field(examples=["USD"])
    inventory: int
    created_at: datetime
    updated_at: datetime


class ProductPage(ApiModel):
    items: list[Product]
    next_cursor: str | None = Field(
        description="Pass as `cursor` to get the next page; null on the last page."
    )


class ProductCreate(RequestModel):
    sku: Sku
    name: Name
    description: Description = ""
    price: PriceIn
    inventory: Inventory


def _without_null(schema: dict[str, Any]) -> None:
    """Documents the patch fields as optional but not nullable, which is what they are."""
    for prop in schema.get("properties", {}).values():
        branches = prop.pop("anyOf", None)
        if branches is not None:
            for branch in branches:
                if branch != {"type": "null"}:
                    prop.update(branch)
        if prop.get("default", ...) is None:
            del prop["default"]


class ProductPatch(RequestModel):
    """Only the fields present change; null is not a value any of them can take."""

    model_config = ConfigDict(json_schema_extra=_without_null)

    name: Name | None = None
    description: Description | None = None
    price: PriceIn | None = None
    inventory: Inventory | None = None

    @field_validator("name", "description", "price", "inventory")
    @classmethod
    def _not_null(cls, value: object) -> object:
        # Runs only for fields the client sent: absent means "unchanged", null means nothing.
        if value is None:
            raise ValueError("cannot be null; leave the field out to keep its value")
        return value


class ReservationLineRequest(RequestModel):
    product_id: uuid.UUID
    quantity: Quantity


class ReservationRequest(RequestModel):
    order_id: uuid.UUID
    items: list[ReservationLineRequest] = Field(min_length=1, max_length=MAX_RESERVATION_LINES)

    @field_validator("items")
    @classmethod
    def _distinct_products(
        cls, items: list[ReservationLineRequest]
    ) -> list[ReservationLineRequest]:
        ids = [line.product_id for line in items]
        if len(set(ids)) != len(ids):
            raise ValueError("each productId may appear on one line only")
        return items


class ReservationLine(ApiModel):
    product_id: uuid.UUID
    quantity: int


class Reservation(ApiModel):
    order_id: uuid.UUID
    status: ReservationStatus
    items: list[ReservationLine]
