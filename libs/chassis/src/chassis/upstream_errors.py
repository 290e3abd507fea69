"""What calling another service can fail with, in a module of its own.

Kept apart from ``http_client`` so the breaker and the bulkhead can subclass
:class:`UpstreamUnavailable` without an import cycle (``http_client`` imports them).

    UpstreamError
    └── UpstreamUnavailable   could not connect, no answer in time, or refused locally
        ├── CircuitOpen       (circuit_breaker) the breaker is open: no call was made
        ├── BulkheadFull      (bulkhead) too many calls in flight: no call was made
        └── UpstreamDeadlineExceeded  (http_client) the caller's deadline ran out
"""

from __future__ import annotations


class UpstreamError(Exception):
    def __init__(self, upstream: str, message: str) -> None:
        super().__init__(f"{upstream}: {message}")
        self.upstream = upstream


class UpstreamUnavailable(UpstreamError):
    pass
