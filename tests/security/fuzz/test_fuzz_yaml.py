"""Hostile config and mapping YAML: whatever is in the file, loading ends in a located
``CrmsyncError`` (exit 2 with file:line:column) or a valid result; never a traceback, never a
hang. YAML's own bombs (alias expansion, self-reference, deep nesting) are refused."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sync.config import load_config
from sync.errors import CrmsyncError
from sync.mapping import MappingSet
from sync.yamlfile import load_yaml_text

REPO = Path(__file__).resolve().parents[3]
MAPPING = REPO / "mappings" / "fxiaoke-kingdee" / "payment_received.yaml"
CONFIG = {
    "state": {"url": "sqlite:///state.db"},
    "sources": {"crm": {"type": "files", "path": "data"}},
    "destination": {"type": "ledger", "path": "ledger.db"},
    "mappings": ["m/*.yaml"],
}
FUZZ = settings(
    max_examples=60, deadline=2000, derandomize=True, suppress_health_check=[HealthCheck.too_slow]
)

scalars = (
    st.none()
    | st.booleans()
    | st.integers(-(10**6), 10**6)
    | st.text(max_size=15)
    | st.sampled_from(
        ["${MISSING_ENV}", "${HOME}", "sqlite:///x.db", "postgresql://u@h/db", "files", "ledger"]
    )
)
values = st.recursive(
    scalars,
    lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=8), c, max_size=3),
    max_leaves=12,
)


@st.composite
def mutated_tree(draw: st.DrawFn, original: Any) -> Any:
    """The original document with a few values replaced, keys dropped or junk keys added."""

    def walk(node: Any, depth: int) -> Any:
        if isinstance(node, dict):
            out: dict[Any, Any] = {}
            for key, value in node.items():
                action = draw(st.sampled_from(["keep", "keep", "keep", "replace", "drop", "rename"]))
                if action == "replace":
                    out[key] = draw(values)
                elif action == "rename":
                    out[draw(st.text(min_size=1, max_size=8))] = walk(value, depth + 1)
                elif action == "keep":
                    out[key] = walk(value, depth + 1)
            return out
        if isinstance(node, list):
            return [walk(v, depth + 1) for v in node if draw(st.booleans()) or not node]
        return draw(st.sampled_from([node, node])) if draw(st.booleans()) else draw(scalars)

    return walk(original, 0)


def _write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


@FUZZ
@given(doc=mutated_tree(CONFIG))
def test_a_mutated_config_loads_or_is_refused_with_a_location(doc: Any) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = _write(Path(tmp), "config.yaml", yaml.safe_dump(doc, allow_unicode=True))
        try:
            load_config(path)
        except CrmsyncError as exc:
            assert "config.yaml" in exc.render() or str(path) in exc.render()


@FUZZ
@given(text=st.text(max_size=400))
def test_random_text_as_config_is_refused_cleanly(text: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = _write(Path(tmp), "config.yaml", text)
        try:
            load_config(path)
        except CrmsyncError as exc:
            assert exc.render().strip()


@FUZZ
@given(doc=mutated_tree(yaml.safe_load(MAPPING.read_text(encoding="utf-8"))))
def test_a_mutated_mapping_compiles_or_lists_its_problems(doc: Any) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = _write(Path(tmp), "payment_received.yaml", yaml.safe_dump(doc, allow_unicode=True))
        try:
            MappingSet.load([path], base_dir=Path(tmp), lookups_dir=MAPPING.parent / "lookups")
        except CrmsyncError as exc:
            assert "payment_received.yaml" in exc.render()


@FUZZ
@given(text=st.text(max_size=400))
def test_random_text_as_a_mapping_is_refused_cleanly(text: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = _write(Path(tmp), "m.yaml", text)
        try:
            MappingSet.load([path], base_dir=Path(tmp))
        except CrmsyncError as exc:
            assert exc.render().strip()


LAUGHS = "a: &a [x,x,x,x,x,x,x,x,x,x]\n" + "".join(
    f"{b}: &{b} [{', '.join(['*' + a] * 10)}]\n" for a, b in zip("abcdefgh", "bcdefghi", strict=True)
)


@pytest.mark.parametrize(
    "text",
    [LAUGHS, "a: &a [*a]\n", "a: &a {b: *a}\n", "[" * 3000 + "]" * 3000, "{a: " * 3000 + "1" + "}" * 3000],
    ids=["alias bomb", "self-referencing list", "self-referencing map", "deep lists", "deep maps"],
)
def test_yaml_bombs_are_refused_quickly(text: str) -> None:
    started = time.monotonic()
    with pytest.raises(CrmsyncError):
        load_yaml_text(text, "config.yaml")
    assert time.monotonic() - started < 10
