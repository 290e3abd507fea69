"""Request ids at the edge: the client's when it looks like an id, else a fresh one.

Same rule as the chassis's `RequestContextMiddleware`, and the id is put in the chassis's
context variable so `chassis.current_request_id()` sees it, but without that middleware's
per-request cost (a uuid4 from the OS, a wrapped `send`, an access-log line): on the gateway's
hot path that measured ~115 µs of CPU per request, about 40% of all of it.
"""

from __future__ import annotations

import itertools
import os
import re

# As the chassis: a client-supplied id is only trusted if it looks like an id.
_VALID_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")


class RequestIds:
    """Fresh ids are a random per-process prefix and a counter: unique, 32 hex digits, cheap."""

    def __init__(self) -> None:
        self._prefix = os.urandom(8).hex()
        self._counter = itertools.count(1)

    def new(self) -> str:
        return f"{self._prefix}{next(self._counter):016x}"

    def choose(self, incoming: bytes | None) -> str:
        if incoming is not None:
            candidate = incoming.decode("latin-1")
            if _VALID_REQUEST_ID.fullmatch(candidate):
                return candidate
        return self.new()
