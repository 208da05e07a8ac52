"""Specs the Airbyte platform accepts: no refs, typed nullables, open objects, every secret masked."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any, Literal

import jsonschema
import pytest
from pydantic import BaseModel, ConfigDict, SecretStr

from sync.platform_spec import platform_spec

REPO = Path(__file__).resolve().parents[2]


class _Transport(BaseModel):
    model_config = ConfigDict(extra="forbid")
    verify_tls: bool = True
    ca_bundle: str | None = None


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")
    base_url: str
    app_id: str
    app_secret: SecretStr
    audit: bool | Literal["auto"] = False
    transport: _Transport = _Transport()
    order_metadata_key: str = "order_no"


def _walk(node: Any) -> list[Any]:
    found = [node]
    if isinstance(node, dict):
        for value in node.values():
            found += _walk(value)
    elif isinstance(node, list):
        for value in node:
            found += _walk(value)
    return found


def test_nested_models_are_inlined_so_no_ref_points_at_nothing() -> None:
    spec = platform_spec({"type": "object", "properties": {"destination": _Section.model_json_schema()}})
    text = json.dumps(spec)
    assert "$ref" not in text and "$defs" not in text
    transport = spec["properties"]["destination"]["properties"]["transport"]
    assert transport["properties"]["verify_tls"]["type"] == "boolean"
    config = {"destination": {"base_url": "https://k3.example.cn", "app_id": "a", "app_secret": "s",
                              "transport": {"ca_bundle": "/etc/ssl/private-ca.pem"}}}  # fmt: skip
    jsonschema.validate(config, spec)  # the PointerToNowhere of a $ref to a moved $defs


def test_an_object_or_text_union_becomes_a_type_list() -> None:
    class _Inline(BaseModel):
        inline_mappings: list[dict[str, Any] | str] = []

    spec = platform_spec(_Inline.model_json_schema())
    assert spec["properties"]["inline_mappings"]["items"]["type"] == ["object", "string"]
    assert "anyOf" not in json.dumps(spec)
    jsonschema.validate({"inline_mappings": [{"name": "payment_received"}, "name: refund_paid"]}, spec)


def test_optional_fields_are_typed_with_null_instead_of_any_of() -> None:
    spec = platform_spec(_Section.model_json_schema())
    assert "anyOf" not in json.dumps(spec)
    assert spec["properties"]["transport"]["properties"]["ca_bundle"]["type"] == ["string", "null"]


def test_a_union_of_a_boolean_and_a_constant_becomes_an_enum() -> None:
    audit = platform_spec(_Section.model_json_schema())["properties"]["audit"]
    assert audit["enum"] == [True, False, "auto"]
    jsonschema.validate("auto", audit)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate("always", audit)


def test_every_object_accepts_new_keys() -> None:
    spec = platform_spec(_Section.model_json_schema())
    objects = [n for n in _walk(spec) if isinstance(n, dict) and n.get("type") == "object"]
    assert len(objects) == 2 and all(n["additionalProperties"] is True for n in objects)


def test_credentials_are_marked_secret_and_a_key_name_is_not() -> None:
    props = platform_spec(_Section.model_json_schema())["properties"]
    assert props["app_secret"]["airbyte_secret"] is True and "format" not in props["app_secret"]
    assert props["app_id"]["airbyte_secret"] is True
    assert "airbyte_secret" not in props["order_metadata_key"]
    assert "airbyte_secret" not in props["base_url"]


CONNECTORS = ["connectors.fxiaoke", "connectors.files", "connectors.bank", "connectors.kingdee"]


@pytest.mark.parametrize("module", CONNECTORS)
def test_every_connector_spec_is_flat_open_and_has_its_docs_page(module: str) -> None:
    out = subprocess.run(
        [sys.executable, "-m", module, "spec"],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=60,
        check=True,
    )
    [spec] = [json.loads(line)["spec"] for line in out.stdout.splitlines() if '"SPEC"' in line]
    text = json.dumps(spec["connectionSpecification"])
    assert "$ref" not in text and "anyOf" not in text and '"additionalProperties": false' not in text
    url = spec["documentationUrl"]
    assert url.startswith("https://github.com/crmsync/crmsync/blob/main/docs/connectors/")
    assert (REPO / "docs/connectors" / url.rsplit("/", 1)[-1]).is_file()
