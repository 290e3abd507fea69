"""Stock events on the wire (contracts/events/bazaar.products.stock.*.v1.json), and the outbox
adapter that writes them in the unit of work's transaction."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from chassis import CloudEvent, enqueue, new_event

from .domain import StockEvent, StockReserved

SOURCE = "/bazaar/products"
STOCK_RESERVED = "bazaar.products.stock.reserved.v1"
STOCK_RELEASED = "bazaar.products.stock.released.v1"


def to_cloud_event(event: StockEvent) -> CloudEvent:
    event_type = STOCK_RESERVED if isinstance(event, StockReserved) else STOCK_RELEASED
    return new_event(
        source=SOURCE,
        type=event_type,
        subject=str(event.order_id),
        data={
            "orderId": str(event.order_id),
            "items": [
                {"productId": str(line.product_id), "quantity": line.quantity}
                for line in event.lines
            ],
        },
    )


class SqlEventOutbox:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session
        self.added = 0

    async def add(self, event: StockEvent) -> None:
        await enqueue(self._session, to_cloud_event(event))
        self.added += 1
