"""mappings/schema.json is generated from the models and committed up to date."""

from __future__ import annotations

import json

from sync.mapping.schema import SCHEMA_PATH, schema_text


def test_committed_schema_is_up_to_date() -> None:
    assert SCHEMA_PATH.read_text(encoding="utf-8") == schema_text(), (
        "mappings/schema.json is stale: run `.venv/bin/python -m sync.mapping.schema`"
    )


def test_schema_describes_every_top_level_key_and_forbids_others() -> None:
    schema = json.loads(schema_text())
    assert schema["additionalProperties"] is False
    props = schema["properties"]
    assert {
        "version",
        "name",
        "source",
        "stream",
        "when",
        "key",
        "lookups",
        "voucher",
        "lines",
        "summarise",
        "reversal",
        "rounding_difference",
        "revision_fields",
    } <= set(props)
    assert all(p.get("description") for p in props.values())
