"""Publish the mapping JSON Schema (``mappings/schema.json``) from the pydantic models.

Run ``python -m sync.mapping.schema`` after changing sync/mapping/models.py; a test fails
when the committed file is out of date, so editors never autocomplete a stale language.
Mapping files point at it with ``# yaml-language-server: $schema=../schema.json``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Final

from sync.mapping.models import MappingSpec

__all__ = ["SCHEMA_PATH", "schema_text", "write_schema"]

SCHEMA_PATH: Final = Path(__file__).resolve().parents[2] / "mappings" / "schema.json"


def schema_text() -> str:
    """The JSON Schema of a version-1 mapping file, as committed (stable key order, UTF-8)."""
    schema = MappingSpec.model_json_schema(mode="validation")
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    return json.dumps(schema, ensure_ascii=False, indent=2, sort_keys=True) + "\n"


def write_schema(path: Path = SCHEMA_PATH) -> Path:
    path.write_text(schema_text(), encoding="utf-8")
    return path


if __name__ == "__main__":  # pragma: no cover - a maintainer's command
    sys.stdout.write(f"wrote {write_schema()}\n")
