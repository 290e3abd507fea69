"""Each event type has a JSON Schema (2020-12) in contracts/events/ covering the whole envelope.

The samples below are what a producer really sends (CloudEvents 1.0, structured mode); each
schema must accept its sample and refuse the usual mistakes.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from chassis import CloudEvent, EventSchemas, InvalidEvent, new_event

EVENTS = Path(__file__).resolve().parents[2] / "contracts" / "events"

ORDER_ID = "3f1c2b8e-5d4a-4c6b-9e7f-1a2b3c4d5e6f"
CUSTOMER_ID = "7a8b9c0d-1e2f-4a3b-8c4d-5e6f7a8b9c0d"
PAYMENT_ID = "0b1c2d3e-4f5a-4b6c-8d7e-9f0a1b2c3d4e"
PRODUCT_A = "11111111-2222-4333-8444-555555555555"
PRODUCT_B = "66666666-7777-4888-9999-aaaaaaaaaaaa"

PAYMENT_DATA = {"paymentId": PAYMENT_ID, "orderId": ORDER_ID, "amount": "59.97", "currency": "USD"}
ORDER_TOTAL_DATA = {
    "orderId": ORDER_ID,
    "customerId": CUSTOMER_ID,
    "totalAmount": "59.97",
    "currency": "USD",
}
STOCK_DATA = {
    "orderId": ORDER_ID,
    "items": [{"productId": PRODUCT_A, "quantity": 2}, {"productId": PRODUCT_B, "quantity": 1}],
}

SAMPLE_DATA: dict[str, dict[str, Any]] = {
    "bazaar.orders.order.placed.v1": {
        **ORDER_TOTAL_DATA,
        "items": [
            {"productId": PRODUCT_A, "quantity": 2, "unitPrice": "19.99"},
            {"productId": PRODUCT_B, "quantity": 1, "unitPrice": "19.99"},
        ],
    },
    "bazaar.orders.order.confirmed.v1": ORDER_TOTAL_DATA,
    "bazaar.orders.order.rejected.v1": {
        "orderId": ORDER_ID,
        "customerId": CUSTOMER_ID,
        "reason": "out_of_stock",
        "detail": f"only 1 of product {PRODUCT_A} left",
    },
    "bazaar.orders.order.cancelled.v1": ORDER_TOTAL_DATA,
    "bazaar.payments.payment.authorized.v1": PAYMENT_DATA,
    "bazaar.payments.payment.declined.v1": {**PAYMENT_DATA, "reason": "insufficient_funds"},
    "bazaar.payments.payment.captured.v1": PAYMENT_DATA,
    "bazaar.payments.payment.voided.v1": PAYMENT_DATA,
    "bazaar.payments.payment.refunded.v1": PAYMENT_DATA,
    "bazaar.products.stock.reserved.v1": STOCK_DATA,
    "bazaar.products.stock.released.v1": STOCK_DATA,
}
TYPES = sorted(SAMPLE_DATA)
# A money field and a UUID field (other than orderId) per type, to corrupt.
MONEY_FIELD = {
    t: "amount" if ".payments." in t else "totalAmount"
    for t in TYPES
    if "amount" in SAMPLE_DATA[t] or "totalAmount" in SAMPLE_DATA[t]
}


def load(event_type: str) -> dict[str, Any]:
    schema: dict[str, Any] = json.loads((EVENTS / f"{event_type}.json").read_text())
    return schema


def validator(event_type: str) -> Draft202012Validator:
    return Draft202012Validator(load(event_type))


def sample(event_type: str, **envelope: Any) -> dict[str, Any]:
    event = {
        "specversion": "1.0",
        "id": "5b0d6c1e-8a3f-4e2d-9c1b-0a9f8e7d6c5b",
        "source": f"/bazaar/{event_type.split('.')[1]}",
        "type": event_type,
        "time": "2025-03-14T09:26:53.589793+00:00",
        "subject": ORDER_ID,
        "datacontenttype": "application/json",
        "traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        "data": copy.deepcopy(SAMPLE_DATA[event_type]),
    }
    event.update(envelope)
    return event


def errors(event_type: str, event: dict[str, Any]) -> list[str]:
    return [error.message for error in validator(event_type).iter_errors(event)]


def test_there_is_exactly_one_schema_per_event_type() -> None:
    assert sorted(path.stem for path in EVENTS.glob("*.json")) == TYPES


@pytest.mark.parametrize("path", sorted(EVENTS.glob("*.json")), ids=lambda p: p.stem)
def test_each_file_is_a_valid_2020_12_schema_named_after_its_type(path: Path) -> None:
    schema = json.loads(path.read_text())
    Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["properties"]["type"] == {"const": path.stem}
    assert schema["properties"]["data"]["additionalProperties"] is False
    assert set(schema["properties"]["data"]["required"]) == set(SAMPLE_DATA[path.stem])


@pytest.mark.parametrize("event_type", TYPES)
def test_a_realistic_event_is_accepted(event_type: str) -> None:
    assert errors(event_type, sample(event_type)) == []


@pytest.mark.parametrize("event_type", TYPES)
def test_traceparent_is_optional_but_checked(event_type: str) -> None:
    event = sample(event_type)
    del event["traceparent"]
    assert errors(event_type, event) == []
    assert errors(event_type, sample(event_type, traceparent="00-not-a-trace-01"))


@pytest.mark.parametrize("time", ["2025-03-14T09:26:53Z", "2025-03-14T09:26:53.5+00:00"])
def test_utc_timestamps_in_both_spellings_are_accepted(time: str) -> None:
    event_type = "bazaar.orders.order.confirmed.v1"
    assert errors(event_type, sample(event_type, time=time)) == []


@pytest.mark.parametrize("event_type", TYPES)
@pytest.mark.parametrize(
    "envelope",
    [
        {"specversion": "0.3"},
        {"datacontenttype": "text/plain"},
        {"time": "yesterday"},
        {"subject": "not-an-order-id"},
        {"source": "/bazaar/someone-else"},
    ],
    ids=lambda e: next(iter(e)),
)
def test_a_wrong_envelope_is_refused(event_type: str, envelope: dict[str, str]) -> None:
    assert errors(event_type, sample(event_type, **envelope))


@pytest.mark.parametrize("event_type", TYPES)
def test_an_event_of_another_type_is_refused(event_type: str) -> None:
    other = next(t for t in TYPES if t != event_type)
    assert errors(event_type, sample(other))


@pytest.mark.parametrize("event_type", TYPES)
@pytest.mark.parametrize("field", ["id", "time", "subject", "data"])
def test_a_missing_envelope_field_is_refused(event_type: str, field: str) -> None:
    event = sample(event_type)
    del event[field]
    assert any(f"'{field}' is a required property" in e for e in errors(event_type, event))


@pytest.mark.parametrize(
    ("event_type", "field"),
    [(t, f) for t in TYPES for f in SAMPLE_DATA[t]],
)
def test_every_data_field_is_required(event_type: str, field: str) -> None:
    event = sample(event_type)
    del event["data"][field]
    assert any(f"'{field}' is a required property" in e for e in errors(event_type, event))


@pytest.mark.parametrize("event_type", TYPES)
def test_an_extra_data_field_is_refused(event_type: str) -> None:
    event = sample(event_type)
    event["data"]["surprise"] = True
    assert any("surprise" in e for e in errors(event_type, event))


@pytest.mark.parametrize("event_type", sorted(MONEY_FIELD))
@pytest.mark.parametrize("bad", ["59.9", "59", "59.970", 59.97, "1e3", "USD 59.97", ""])
def test_money_must_be_a_string_with_two_decimals(event_type: str, bad: object) -> None:
    event = sample(event_type)
    event["data"][MONEY_FIELD[event_type]] = bad
    assert errors(event_type, event)


@pytest.mark.parametrize("event_type", sorted(MONEY_FIELD))
def test_currency_is_three_capital_letters(event_type: str) -> None:
    event = sample(event_type)
    event["data"]["currency"] = "usd"
    assert errors(event_type, event)


@pytest.mark.parametrize("event_type", TYPES)
@pytest.mark.parametrize("bad", ["42", "3f1c2b8e5d4a4c6b9e7f1a2b3c4d5e6f", "", 7])
def test_order_id_must_be_a_uuid(event_type: str, bad: object) -> None:
    event = sample(event_type)
    event["data"]["orderId"] = bad
    assert errors(event_type, event)


@pytest.mark.parametrize("event_type", [t for t in TYPES if "items" in SAMPLE_DATA[t]])
@pytest.mark.parametrize(
    "line_change",
    [{"productId": "abc"}, {"quantity": 0}, {"quantity": "2"}, {"extra": 1}],
    ids=["bad-product-id", "zero-quantity", "string-quantity", "extra-field"],
)
def test_bad_item_lines_are_refused(event_type: str, line_change: dict[str, object]) -> None:
    event = sample(event_type)
    event["data"]["items"][0].update(line_change)
    assert errors(event_type, event)


@pytest.mark.parametrize("event_type", [t for t in TYPES if "items" in SAMPLE_DATA[t]])
def test_an_empty_item_list_is_refused(event_type: str) -> None:
    event = sample(event_type)
    event["data"]["items"] = []
    assert errors(event_type, event)


def test_a_bad_unit_price_is_refused() -> None:
    event_type = "bazaar.orders.order.placed.v1"
    event = sample(event_type)
    event["data"]["items"][0]["unitPrice"] = "19.9"
    assert errors(event_type, event)


@pytest.mark.parametrize(
    "reason", ["out_of_stock", "payment_declined", "unknown_product", "timed_out"]
)
def test_rejection_reasons_are_an_enum(reason: str) -> None:
    event_type = "bazaar.orders.order.rejected.v1"
    event = sample(event_type)
    event["data"]["reason"] = reason
    assert errors(event_type, event) == []
    event["data"]["reason"] = "bad_luck"
    assert errors(event_type, event)


def test_a_decline_has_a_reason() -> None:
    event_type = "bazaar.payments.payment.declined.v1"
    event = sample(event_type)
    event["data"]["reason"] = ""
    assert errors(event_type, event)


@pytest.mark.parametrize("event_type", TYPES)
def test_the_chassis_accepts_events_as_services_make_them(event_type: str) -> None:
    # The chassis' own serialization (e.g. `time` ending in "Z") and its format checker.
    schemas = EventSchemas.load(EVENTS)
    event = new_event(
        source=f"/bazaar/{event_type.split('.')[1]}",
        type=event_type,
        subject=ORDER_ID,
        data=SAMPLE_DATA[event_type],
    )
    schemas.validate(event)
    schemas.validate(CloudEvent.from_json(event.to_json()))
    assert schemas.types == frozenset(TYPES)


def test_the_chassis_refuses_an_event_without_its_order_id_as_subject() -> None:
    schemas = EventSchemas.load(EVENTS)
    event_type = "bazaar.orders.order.confirmed.v1"
    event = new_event(
        source="/bazaar/orders", type=event_type, subject=None, data=SAMPLE_DATA[event_type]
    )
    with pytest.raises(InvalidEvent, match="subject"):
        schemas.validate(event)
