"""Request ids: the client's when it looks like an id, else a fresh one.

Fresh ids are a random per-process prefix and a counter (unique, 32 hex digits) rather than a
uuid4 per request: the gateway's profile showed the OS random call on its hot path.
"""

from __future__ import annotations

import itertools
import os
import re
from contextvars import ContextVar

REQUEST_ID_HEADER = "x-request-id"
# A client-supplied id is only trusted if it looks like an id; anything else is replaced.
_VALID_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")

request_id_var: ContextVar[str | None] = ContextVar("request_id", default=None)


def current_request_id() -> str | None:
    return request_id_var.get()


class RequestIds:
    def __init__(self) -> None:
        self._prefix = os.urandom(8).hex()
        self._counter = itertools.count(1)

    def new(self) -> str:
        return f"{self._prefix}{next(self._counter):016x}"

    def choose(self, incoming: bytes | str | None) -> str:
        if incoming is not None:
            candidate = incoming.decode("latin-1") if isinstance(incoming, bytes) else incoming
            if _VALID_REQUEST_ID.fullmatch(candidate):
                return candidate
        return self.new()
