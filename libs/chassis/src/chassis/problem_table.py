"""A service's domain errors as the problem+json answers clients get, by table.

Each service lists, per domain error type, what a client is told (its problem class, ``type``
URI, title, detail and extension members); the lookup and the fallback for an error nobody
mapped live here once. The error's most specific listed class wins, so a subclass added
later is answered like its parent until it gets a row of its own.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from .errors import Problem

PROBLEM_TYPES = "https://bazaar.dev/problems/"

E = TypeVar("E", bound=Exception)


def _nothing(_: Exception) -> Mapping[str, Any]:
    return {}


def _always(_: Exception) -> bool:
    return True


@dataclass(frozen=True)
class ProblemRow(Generic[E]):
    """How errors of one type (and, with ``when``, in one state) are answered."""

    error: type[E]
    problem: type[Problem]
    title: str
    # The last part of the ``type`` URI; None leaves it "about:blank".
    slug: str | None
    detail: Callable[[E], str] = str
    extensions: Callable[[E], Mapping[str, Any]] = _nothing
    headers: Mapping[str, str] = field(default_factory=dict)
    status: int | None = None
    when: Callable[[E], bool] = _always

    def answer(self, error: E) -> Problem:
        return self.problem(
            self.detail(error),
            status=self.status,
            title=self.title,
            type=None if self.slug is None else PROBLEM_TYPES + self.slug,
            headers=self.headers,
            **self.extensions(error),
        )


class ProblemTable:
    """Call it with a domain error to get the problem to raise; rows are tried in order."""

    def __init__(self, *rows: ProblemRow[Any]) -> None:
        self._rows: dict[type[Exception], list[ProblemRow[Any]]] = {}
        for row in rows:
            self._rows.setdefault(row.error, []).append(row)

    def __call__(self, error: Exception) -> Problem:
        for kind in type(error).__mro__:
            for row in self._rows.get(kind, ()):
                if row.when(error):
                    return row.answer(error)
        # A domain error nobody mapped is a bug in the service, not the client's fault.
        return Problem("An unexpected error occurred.", status=500)
