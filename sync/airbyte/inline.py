"""Mappings and lookups given inside the connector config, for pods that have no mapping folder.

The platform starts each connector in a fresh container; a mapping folder exists there only if
it was mounted or baked into a derived image. ``inline_mappings`` (each a mapping as a JSON
object, or its YAML/JSON text) and ``inline_lookups`` (file name -> CSV text) carry them in the
config itself. They are written to a private folder and loaded like files: a lookup is keyed
by the path the mappings give (``lookups/customers.csv``) and that folder becomes the
``lookups_dir``, so it serves inline and file mappings alike, and every error names the mapping.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from sync.errors import ConfigurationError

__all__ = ["Inline", "materialise"]

_SAFE_PART = re.compile(r"^[\w\-][\w.\-]*$")


@dataclass(frozen=True)
class Inline:
    """Where the inline documents were written: mapping globs to add, and the lookups folder."""

    mapping_globs: list[str]
    lookups_dir: str | None


def materialise(
    mappings: Sequence[Mapping[str, Any] | str], lookups: Mapping[str, str], work: Path
) -> Inline:
    """Write the inline documents under ``work`` (replacing what an earlier config inlined)."""
    folder = work / "inline-mappings"
    shutil.rmtree(folder, ignore_errors=True)
    if not mappings and not lookups:
        return Inline([], None)
    folder.mkdir(parents=True)
    folder.chmod(0o700)  # lookups are customer master data
    for index, item in enumerate(mappings, start=1):
        document = _document(item, index)
        name = str(document.get("name") or f"mapping_{index}")
        if not re.fullmatch(r"[\w\-]+", name):
            raise ConfigurationError(
                f"inline_mappings[{index}]: name {name!r} is not a mapping name (letters, digits, _ and -)",
                hint="give each inline mapping a `name:` such as payment_received",
            )
        (folder / f"{index:03d}-{name}.yaml").write_text(
            yaml.safe_dump(document, allow_unicode=True, sort_keys=False), encoding="utf-8"
        )
    for key, text in lookups.items():
        parts = key.split("/")
        if not key.endswith(".csv") or not all(_SAFE_PART.match(part) for part in parts):
            raise ConfigurationError(
                f"inline_lookups: {key!r} is not a relative CSV path",
                hint="key each lookup by the path the mappings give, e.g. lookups/customers.csv",
            )
        target = folder.joinpath(*parts)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    return Inline([str(folder / "*.yaml")] if mappings else [], str(folder) if lookups else None)


def _document(item: Mapping[str, Any] | str, index: int) -> dict[str, Any]:
    if isinstance(item, Mapping):
        return dict(item)
    try:
        parsed = yaml.safe_load(item)  # JSON is YAML
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark is not None else ""
        raise ConfigurationError(
            f"inline_mappings[{index}] is neither a JSON object nor YAML text{where}",
            hint="give the mapping as an object, or its YAML/JSON text as a string",
        ) from None
    if not isinstance(parsed, dict):
        raise ConfigurationError(
            f"inline_mappings[{index}] is {type(parsed).__name__}, not a mapping document",
            hint="a mapping is an object with name, source, stream, voucher and lines",
        )
    return parsed
