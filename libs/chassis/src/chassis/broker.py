"""The broker port: where events go once their transaction has committed.

Streams are named after the producing service; dead letters have a stream of their own.

    BrokerUnavailable   not connected, or the broker did not acknowledge in time
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

from .events import CloudEvent

DLQ_STREAM = "BAZAAR_DLQ"
DLQ_SUBJECT_PREFIX = "bazaar.dlq"


class BrokerUnavailable(Exception):
    pass


class Broker(Protocol):
    async def publish(self, event: CloudEvent, headers: Mapping[str, str] | None = None) -> None:
        """``headers`` ride beside the event: the publish span's trace context."""


def stream_name(service: str) -> str:
    return f"BAZAAR_{service.upper()}"


def stream_subjects(service: str) -> list[str]:
    return [f"bazaar.{service}.>"]
