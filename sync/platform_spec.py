"""Turn a pydantic JSON schema into a connectionSpecification the Airbyte platform accepts.

pydantic writes what JSON Schema allows; the platform's UI and acceptance tests want less:
no ``$ref``/``$defs`` (a ref inside a nested object points at nothing once the platform
moves it), optional fields as ``type: [T, "null"]`` rather than ``anyOf``, objects open to
new keys (``additionalProperties: true``, so a newer config still loads in an older
connector), and every field that can hold a credential marked ``airbyte_secret`` so the
platform masks it in its UI and logs. One function does this for every connector, so the
sources and the destinations never disagree about what a spec looks like.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterable, Mapping
from typing import Any

__all__ = ["SECRET_NAME", "documentation_url", "platform_spec"]

#: field names that hold a credential; an app id is marked too (it is half of a login)
SECRET_NAME = re.compile(
    r"^(key|secret|password|passwd|token|credentials?|app_id|appid|permanent_code)$"
    r"|(_secret|_password|_token|api_?key|private_key|access_key|secret_key|signing_key)$",
    re.IGNORECASE,
)

_DOCS = "https://github.com/crmsync/crmsync/blob/main/docs/connectors/{name}.md"


def documentation_url(connector: str) -> str:
    """The connector's page in the repository (docs/connectors/<connector>.md)."""
    return _DOCS.format(name=connector)


def platform_spec(
    schema: Mapping[str, Any],
    *,
    title: str | None = None,
    drop: Iterable[str] = (),
    secret_names: Iterable[str] = (),
) -> dict[str, Any]:
    """A copy of ``schema`` with refs inlined, nullables typed, objects open and secrets marked.

    ``drop`` removes top-level properties the platform must not offer (engine-only keys);
    ``secret_names`` marks further properties secret besides those :data:`SECRET_NAME` finds.
    """
    root = copy.deepcopy(dict(schema))
    defs = root.pop("$defs", {})
    for name in drop:
        root.get("properties", {}).pop(name, None)
    if "required" in root:
        root["required"] = [r for r in root["required"] if r in root.get("properties", {})]
        if not root["required"]:
            root.pop("required")
    out: dict[str, Any] = _walk(root, defs, frozenset(secret_names), name="")
    out.setdefault("$schema", "http://json-schema.org/draft-07/schema#")
    if title:
        out["title"] = title
    return out


def _walk(node: Any, defs: Mapping[str, Any], secrets: frozenset[str], *, name: str) -> Any:
    if isinstance(node, list):
        return [_walk(item, defs, secrets, name=name) for item in node]
    if not isinstance(node, dict):
        return node
    if "$defs" in node:  # a model's schema embedded under a property brings its own $defs
        node = dict(node)
        defs = {**defs, **node.pop("$defs")}
    node = _inline(node, defs)
    node = _nullable(node, defs)
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key == "properties":
            out[key] = {prop: _walk(sub, defs, secrets, name=prop) for prop, sub in dict(value).items()}
        elif key in {"items", "anyOf", "oneOf", "allOf", "additionalProperties"} and isinstance(
            value, dict | list
        ):
            out[key] = _walk(value, defs, secrets, name=name)
        else:
            out[key] = value
    if out.get("type") == "object" or "object" in _types(out) or "properties" in out:
        out["additionalProperties"] = True
    marked = out.pop("writeOnly", False) or out.get("format") == "password"
    if (marked or _is_secret_name(name, secrets)) and ("string" in _types(out) or not _types(out)):
        out.pop("format", None)
        out["airbyte_secret"] = True
    return out


def _inline(node: dict[str, Any], defs: Mapping[str, Any]) -> dict[str, Any]:
    """Replace ``{"$ref": "#/$defs/X", ...}`` by X merged with the node's own keywords."""
    ref = node.get("$ref")
    if not isinstance(ref, str):
        return node
    target = copy.deepcopy(defs.get(ref.rsplit("/", 1)[-1], {}))
    target.pop("title", None)
    rest = {k: v for k, v in node.items() if k != "$ref"}
    return _inline({**target, **rest}, defs)


#: keywords of a union member that a ``type`` list keeps: ``dict | str`` is ``["object", "string"]``
_SIMPLE = frozenset({"type", "format", "const", "enum", "additionalProperties"})


def _nullable(node: dict[str, Any], defs: Mapping[str, Any]) -> dict[str, Any]:
    """``anyOf: [X, {"type": "null"}]`` becomes X with ``type: [T, "null"]``."""
    variants = node.get("anyOf")
    if not isinstance(variants, list):
        return node
    variants = [_inline(v, defs) if isinstance(v, dict) else v for v in variants]
    concrete = [v for v in variants if v != {"type": "null"}]
    has_null = len(concrete) < len(variants)
    if len(concrete) == 1:
        merged = {**concrete[0], **{k: v for k, v in node.items() if k != "anyOf"}}
    elif all(set(v) <= _SIMPLE and isinstance(v.get("type"), str) for v in concrete):
        merged = {k: v for k, v in node.items() if k != "anyOf"}
        merged["type"] = list(dict.fromkeys(v["type"] for v in concrete))
        values = _enumerate(concrete)
        if values is not None:
            merged["enum"] = values
    else:
        return node  # a real union of shapes: left as it is
    if has_null:
        types = _types(merged) or ["string"]
        merged["type"] = [*types, "null"] if "null" not in types else types
        if "enum" in merged and None not in merged["enum"]:
            merged["enum"] = [*merged["enum"], None]
    return merged


def _enumerate(variants: list[dict[str, Any]]) -> list[Any] | None:
    """The values of a union of constants and booleans (``bool | Literal["auto"]``), else None."""
    if not any("const" in v or "enum" in v for v in variants):
        return None
    values: list[Any] = []
    for variant in variants:
        if "const" in variant:
            values.append(variant["const"])
        elif "enum" in variant:
            values.extend(variant["enum"])
        elif variant["type"] == "boolean":
            values.extend([True, False])
        else:
            return None  # a free string or number beside a constant: not enumerable
    return values


def _types(node: Mapping[str, Any]) -> list[str]:
    kind = node.get("type")
    if isinstance(kind, str):
        return [kind]
    if isinstance(kind, list):
        return [str(k) for k in kind]
    return []


def _is_secret_name(name: str, extra: frozenset[str]) -> bool:
    return bool(name) and (name in extra or SECRET_NAME.search(name) is not None)
