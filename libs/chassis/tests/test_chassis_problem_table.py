"""Domain errors answered by table: the most specific row wins, ``when`` picks among rows of
one type, and an error nobody mapped is a 500 that says nothing about it."""

from __future__ import annotations

from chassis import Conflict, NotFound, Problem, ServiceUnavailable
from chassis.problem_table import PROBLEM_TYPES, ProblemRow, ProblemTable


class ShopError(Exception):
    pass


class Missing(ShopError):
    pass


class GoneMissing(Missing):
    pass


class Busy(ShopError):
    def __init__(self, state: str) -> None:
        super().__init__(f"busy: {state}")
        self.state = state


answer = ProblemTable(
    ProblemRow(Missing, NotFound, "Not here", "not-here"),
    ProblemRow(
        Busy, Conflict, "Still working", "still-working",
        extensions=lambda e: {"state": e.state},
        when=lambda e: e.state == "working",
    ),
    ProblemRow(
        Busy, ServiceUnavailable, "Busy", None,
        detail=lambda _: "Try again shortly.",
        headers={"Retry-After": "2"},
    ),
)  # fmt: skip


def test_a_row_renders_class_type_title_detail_and_extensions() -> None:
    problem = answer(Busy("working"))
    assert isinstance(problem, Conflict)
    assert problem.to_dict() == {
        "type": PROBLEM_TYPES + "still-working",
        "title": "Still working",
        "status": 409,
        "detail": "busy: working",
        "state": "working",
    }


def test_when_falls_through_to_the_next_row_of_the_type() -> None:
    problem = answer(Busy("closing"))
    assert isinstance(problem, ServiceUnavailable)
    assert problem.type == "about:blank"
    assert problem.detail == "Try again shortly."
    assert problem.headers == {"Retry-After": "2"}


def test_a_subclass_without_a_row_is_answered_like_its_parent() -> None:
    problem = answer(GoneMissing("gone"))
    assert isinstance(problem, NotFound)
    assert (problem.type, problem.detail) == (PROBLEM_TYPES + "not-here", "gone")


def test_an_unmapped_error_is_a_500_that_leaks_nothing() -> None:
    problem = answer(ShopError("the secret table is locked"))
    assert type(problem) is Problem
    assert problem.status == 500
    assert "secret" not in str(problem.to_dict())
