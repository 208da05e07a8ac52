"""People write config and mappings; every problem must point at file:line:column."""

import pytest
from pydantic import BaseModel, ConfigDict, ValidationError

from sync.errors import ConfigurationError
from sync.yamlfile import load_yaml_text, problems_from_validation


class Inner(BaseModel):
    model_config = ConfigDict(extra="forbid")
    account: str
    memo: str = ""


class Outer(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str
    lines: list[Inner]


def test_positions_point_at_the_key_of_nested_values() -> None:
    loaded = load_yaml_text("name: x\nlines:\n  - account: '1122'\n    memo: 应收\n", "m.yaml")
    assert str(loaded.locate(("lines", 0, "memo"))) == "m.yaml:4:5"


def test_malformed_yaml_names_file_line_and_column() -> None:
    with pytest.raises(ConfigurationError, match=r"m\.yaml:2:\d+: malformed YAML"):
        load_yaml_text("name: x\n  bad: [1, 2\n", "m.yaml")


def test_duplicate_keys_are_refused_instead_of_silently_overwritten() -> None:
    with pytest.raises(ConfigurationError, match=r"m\.yaml:2:1: duplicate key 'name'"):
        load_yaml_text("name: x\nname: y\n", "m.yaml")


def test_python_object_tags_are_refused() -> None:
    with pytest.raises(ConfigurationError):
        load_yaml_text("name: !!python/object/apply:os.system ['true']\n", "m.yaml")


def test_misspelt_key_gets_a_did_you_mean_at_its_position() -> None:
    loaded = load_yaml_text("name: x\nlines:\n  - acount: '1122'\n", "m.yaml")
    with pytest.raises(ValidationError) as info:
        Outer.model_validate(loaded.data)
    rendered = [str(p) for p in problems_from_validation(info.value, loaded, Outer)]
    assert "m.yaml:3:5: unknown key 'acount'\n  fix: did you mean 'account'?" in rendered
    assert any(r.startswith("m.yaml:3:5: lines.0.account: required key is missing") for r in rendered)
