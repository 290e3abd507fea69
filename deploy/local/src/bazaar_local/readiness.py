"""Asking a service over HTTP whether it is ready."""

from __future__ import annotations

import http.client


def answers_ready(port: int, path: str = "/ready", timeout: float = 2.0) -> bool:
    """True when `GET http://127.0.0.1:<port><path>` answers 200."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", path)
        return conn.getresponse().status == 200
    except (OSError, http.client.HTTPException):
        return False
    finally:
        conn.close()
