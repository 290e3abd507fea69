"""Request bodies whose JSON numbers become ``Decimal``, so a price is never rounded by a float.

FastAPI parses bodies with ``json.loads``, which turns ``19.999999999999999999`` into ``20.0``
before any validator sees it; this route class parses fractional numbers as ``Decimal``
instead (integers stay ``int``), and refuses the non-JSON constants ``NaN`` and ``Infinity``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Coroutine
from decimal import Decimal
from typing import Any

from fastapi import Request, Response
from fastapi.routing import APIRoute


def _refuse_constant(name: str) -> Any:
    raise json.JSONDecodeError(f"{name} is not JSON", name, 0)


class _ExactJsonRequest(Request):
    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            self._json = json.loads(
                await self.body(), parse_float=Decimal, parse_constant=_refuse_constant
            )
        return self._json


class ExactJsonRoute(APIRoute):
    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handle = super().get_route_handler()

        async def handler(request: Request) -> Response:
            return await handle(_ExactJsonRequest(request.scope, request.receive))

        return handler
