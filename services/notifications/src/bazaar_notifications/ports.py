"""What the use cases need from the outside world, as Protocols the adapters (and fakes) meet."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import Protocol

from .domain import ListPosition, Notification


class NotificationRepository(Protocol):
    async def add(self, notification: Notification) -> bool:
        """Stores it unless a notification for the same event exists (then False, nothing
        written): the unique event id is the last line of defence against a duplicate."""
        ...

    async def list_for_customer(
        self, customer_id: uuid.UUID, *, limit: int, after: ListPosition | None
    ) -> list[Notification]:
        """Newest first, by (created_at desc, notification_id desc), strictly after ``after``."""
        ...


# Opens a transaction and gives the repository bound to it; leaving the block commits.
Repositories = Callable[[], AbstractAsyncContextManager[NotificationRepository]]
