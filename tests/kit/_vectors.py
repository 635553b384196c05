"""Load the shared conformance vectors: ``../shared/conformance/vectors.json`` from the repo."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

VECTORS_PATH = Path(__file__).parents[2].parent / "shared/conformance/vectors.json"


@cache
def vectors() -> dict[str, Any]:
    """The whole vectors file, parsed once."""
    with VECTORS_PATH.open(encoding="utf-8") as handle:
        data: dict[str, Any] = json.load(handle)
    return data


def section(name: str) -> list[dict[str, Any]]:
    """One list of vectors, e.g. ``"uscc_gb32100"``."""
    entries: list[dict[str, Any]] = vectors()[name]
    return entries
