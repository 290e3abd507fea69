"""HTTP entrypoints: request/response models, and the ONLY place domain errors become Problems."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel

from chassis import CurrentPrincipal
from chassis.pagination import PageCursor, PageLimit, cursor_position

from . import services
from .cursors import decode_cursor, encode_cursor
from .domain import Notification as StoredNotification
from .domain import NotificationKind


class _Model(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True)


class Notification(_Model):
    notification_id: uuid.UUID
    order_id: uuid.UUID
    kind: NotificationKind
    message: str
    created_at: datetime

    @classmethod
    def of(cls, notification: StoredNotification) -> Notification:
        return cls(
            notification_id=notification.notification_id,
            order_id=notification.order_id,
            kind=notification.kind,
            message=notification.message,
            created_at=notification.created_at,
        )


class NotificationPage(_Model):
    items: list[Notification]
    next_cursor: str | None


_AUTH: dict[int | str, dict[str, Any]] = {401: {"description": "Missing or invalid access token"}}

router = APIRouter(tags=["notifications"])


@router.get(
    "/notifications",
    response_model=NotificationPage,
    operation_id="listNotifications",
    summary="Your own notifications, newest first",
    responses={**_AUTH, 400: {"description": "Malformed cursor"}},
)
async def list_notifications(
    principal: CurrentPrincipal,
    request: Request,
    limit: PageLimit = 20,
    cursor: PageCursor = None,
) -> NotificationPage:
    page = await services.list_notifications(
        request.app.state.repositories,
        principal.user_id,
        limit=limit,
        after=cursor_position(cursor, decode_cursor),
    )
    next_cursor = encode_cursor(page.next_position) if page.next_position else None
    return NotificationPage(items=[Notification.of(n) for n in page.items], next_cursor=next_cursor)
