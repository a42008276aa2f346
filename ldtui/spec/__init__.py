"""The contract, shipped with the package: the verbatim OpenAPI subset for big segment store
integrations (a copy of ``shared/spec/openapi-big-segment-store.json``; a test keeps the two
identical). Models are tested against it; the emulator validates its responses with it."""

from __future__ import annotations

import json
from functools import cache
from importlib.resources import files
from typing import Any

OPENAPI_FILE = "openapi-big-segment-store.json"


@cache
def openapi() -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(files(__package__).joinpath(OPENAPI_FILE).read_text(encoding="utf-8"))
    return doc


def component_schemas() -> dict[str, Any]:
    schemas: dict[str, Any] = openapi()["components"]["schemas"]
    return schemas
