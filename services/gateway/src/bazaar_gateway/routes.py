"""The route table: which service answers a method + path, and whether it needs a token.

Built once from the services' OpenAPI documents (`<service>.json`, the file stem names the
service). Operations marked `x-internal` and anything under `/internal/` are never routed. An
operation is public when its effective `security` (its own, else the document's) is absent,
empty, or allows an empty requirement; otherwise it needs a bearer token.

Matching is a dict lookup for literal paths, then the templates with the request's segment count,
most specific first.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
_PARAM = re.compile(r"\{[^{}/]+\}")
# A segment is a literal, `None` for a whole-segment parameter, or a pattern for a partial one.
Segment = str | None | re.Pattern[str]


class RouteTableError(Exception):
    """The contracts cannot be turned into a route table (the gateway must not start)."""


@dataclass(frozen=True, slots=True)
class Operation:
    service: str
    public: bool
    template: str


@dataclass(frozen=True, slots=True)
class MethodNotAllowed:
    allow: str


@dataclass(slots=True)
class _Route:
    template: str
    methods: dict[str, Operation] = field(default_factory=dict)
    not_allowed: MethodNotAllowed = MethodNotAllowed("")

    def seal(self) -> None:
        # HEAD is answered wherever GET is, as the services' own framework does.
        if "GET" in self.methods and "HEAD" not in self.methods:
            self.methods["HEAD"] = self.methods["GET"]
        self.not_allowed = MethodNotAllowed(", ".join(sorted(self.methods)))


def _compile_segment(segment: str) -> Segment:
    if not _PARAM.search(segment):
        return segment
    if _PARAM.fullmatch(segment):
        return None
    parts = _PARAM.split(segment)
    return re.compile("[^/]+?".join(re.escape(p) for p in parts))


def _segment_matches(pattern: Segment, segment: str) -> bool:
    if pattern is None:
        return segment != ""
    if isinstance(pattern, str):
        return pattern == segment
    return pattern.fullmatch(segment) is not None


def _specificity(pattern: tuple[Segment, ...]) -> tuple[int, ...]:
    # Literals before partial parameters before whole parameters, left to right.
    return tuple(0 if isinstance(s, str) else 2 if s is None else 1 for s in pattern)


def is_public(operation: Mapping[str, Any], document: Mapping[str, Any]) -> bool:
    security = operation.get("security", document.get("security"))
    return not security or any(not requirement for requirement in security)


class RouteTable:
    def __init__(self) -> None:
        self._exact: dict[str, _Route] = {}
        self._templates: dict[int, list[tuple[tuple[Segment, ...], _Route]]] = {}
        self._by_shape: dict[tuple[Segment | str, ...], _Route] = {}
        self.services: set[str] = set()

    def add(self, service: str, template: str, method: str, *, public: bool) -> None:
        segments = template[1:].split("/")
        pattern = tuple(_compile_segment(s) for s in segments)
        # Two templates that differ only in parameter names are the same route.
        shape = tuple(p.pattern if isinstance(p, re.Pattern) else p for p in pattern)
        route = self._by_shape.get(shape)
        if route is None:
            route = self._by_shape[shape] = _Route(template)
            if all(isinstance(s, str) for s in pattern):
                self._exact[template] = route
            else:
                self._templates.setdefault(len(pattern), []).append((pattern, route))
        existing = route.methods.get(method)
        if existing is not None:
            raise RouteTableError(
                f"{method} {template} is declared by both {existing.service} and {service}"
            )
        route.methods[method] = Operation(service, public, template)
        self.services.add(service)

    def seal(self) -> RouteTable:
        for route in self._by_shape.values():
            route.seal()
        for candidates in self._templates.values():
            candidates.sort(key=lambda item: _specificity(item[0]))
        return self

    def __len__(self) -> int:
        return sum(len(r.methods) for r in self._by_shape.values())

    def operations(self) -> list[tuple[str, Operation]]:
        """Every routed (method, operation), for logs and checks."""
        return [(m, op) for r in self._by_shape.values() for m, op in sorted(r.methods.items())]

    def resolve(self, method: str, path: str) -> Operation | MethodNotAllowed | None:
        """The operation, or why not: `MethodNotAllowed` (405) or `None` (404)."""
        first: _Route | None = self._exact.get(path)
        if first is not None:
            operation = first.methods.get(method)
            if operation is not None:
                return operation
        candidates = self._templates.get(path.count("/"))
        if candidates:
            segments = path[1:].split("/")
            if "." in segments or ".." in segments:
                # Dot segments could be normalised differently by the upstream: never route them.
                return first.not_allowed if first is not None else None
            for pattern, route in candidates:
                for expected, actual in zip(pattern, segments, strict=True):
                    if not _segment_matches(expected, actual):
                        break
                else:
                    operation = route.methods.get(method)
                    if operation is not None:
                        return operation
                    if first is None:
                        first = route
        return first.not_allowed if first is not None else None


def add_document(table: RouteTable, service: str, document: Mapping[str, Any]) -> None:
    for template, item in (document.get("paths") or {}).items():
        if not template.startswith("/"):
            raise RouteTableError(f"{service}: path {template!r} does not start with '/'")
        if template.startswith("/internal/") or template == "/internal" or item.get("x-internal"):
            continue
        for method in HTTP_METHODS:
            operation = item.get(method)
            if operation is None or operation.get("x-internal"):
                continue
            table.add(service, template, method.upper(), public=is_public(operation, document))


def build_route_table(documents: Mapping[str, Mapping[str, Any]]) -> RouteTable:
    table = RouteTable()
    for service, document in sorted(documents.items()):
        add_document(table, service, document)
    return table.seal()


def read_contracts(openapi_dir: Path) -> dict[str, dict[str, Any]]:
    if not openapi_dir.is_dir():
        raise RouteTableError(f"OPENAPI_DIR {openapi_dir} is not a folder")
    documents: dict[str, dict[str, Any]] = {}
    for path in sorted(openapi_dir.glob("*.json")):
        try:
            document = orjson.loads(path.read_bytes())
        except orjson.JSONDecodeError as exc:
            raise RouteTableError(f"{path} is not valid JSON: {exc}") from exc
        if not isinstance(document, dict) or not isinstance(document.get("paths", {}), dict):
            raise RouteTableError(f"{path} is not an OpenAPI document")
        documents[path.stem] = document
    if not documents:
        raise RouteTableError(f"OPENAPI_DIR {openapi_dir} holds no <service>.json contracts")
    return documents


def load_route_table(openapi_dir: Path, configured: Iterable[str]) -> RouteTable:
    """Read and compile the contracts; every routed service must have a URL configured."""
    table = build_route_table(read_contracts(openapi_dir))
    missing = sorted(table.services - set(configured))
    if missing:
        names = ", ".join(f"{s.upper()}_URL" for s in missing)
        raise RouteTableError(f"contracts route to {', '.join(missing)} but {names} is not set")
    return table
