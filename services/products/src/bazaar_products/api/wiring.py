"""What every route needs from the app: the unit-of-work factory the lifespan installed."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from bazaar_products.ports import UnitOfWorkFactory


def _unit_of_work(request: Request) -> UnitOfWorkFactory:
    uow: UnitOfWorkFactory = request.app.state.unit_of_work
    return uow


UoW = Annotated[UnitOfWorkFactory, Depends(_unit_of_work)]
