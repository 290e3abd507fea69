"""Keeping contracts/openapi/ equal to what the services actually serve.

The launcher imports services only here, by name, to ask each for its document; services
themselves never see each other.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
from pathlib import Path

from bazaar_local.services import SERVICES


def render(document: object) -> str:
    return json.dumps(document, indent=2, sort_keys=True) + "\n"


def live_documents() -> dict[str, object]:
    documents: dict[str, object] = {}
    for spec in SERVICES:
        if importlib.util.find_spec(spec.module) is None:
            continue  # a service that is declared but not installed yet
        try:
            bootstrap = importlib.import_module(f"{spec.module}.bootstrap")
        except ModuleNotFoundError as missing:
            if missing.name != f"{spec.module}.bootstrap":
                raise  # a broken service, not an unwritten one
            continue
        build = getattr(bootstrap, "openapi_document", None)
        if build is not None:  # the gateway serves no API of its own
            documents[spec.name] = build()
    return documents


def write_contracts(folder: Path, *, check: bool = False) -> list[str]:
    """Returns the services whose file differed (and, unless checking, was rewritten)."""
    drifted: list[str] = []
    for name, document in live_documents().items():
        path = folder / f"{name}.json"
        text = render(document)
        if not path.exists() or path.read_text() != text:
            drifted.append(name)
            if not check:
                path.write_text(text)
    return drifted
