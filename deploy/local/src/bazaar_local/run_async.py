"""Running a coroutine to completion from synchronous code, even inside a running event loop."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

T = TypeVar("T")


def run_coroutine(factory: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Run the coroutine made by `factory` on a fresh loop in a worker thread.

    A worker thread keeps the caller's event loop (e.g. pytest-asyncio's) untouched, since the
    current loop is per thread.
    """
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="bazaar-async") as pool:
        return pool.submit(lambda: asyncio.run(factory())).result()
