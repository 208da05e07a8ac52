"""The README's YAML runs: every block loads and is validated the way `crmsync validate` would.

A config fragment (``sources:``, ``destination:``, ``reconcile:`` …) is put into the embedded
default (config.example.yaml) in place of, or beside, what it configures, and ``crmsync
validate`` must pass it; a fragment of a connector section (``transport:``) goes into the
Kingdee destination of the README. The mapping reference example must map every record of
the sample tenant's stream into balanced vouchers. Secrets named ``${NAME}`` get a dummy
value: the docs show where a secret goes, not one.
"""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from sync.connector import PROBLEM_FIELD
from sync.mapping import MappingSet
from tests.engine.tenant import crmsync

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
SAMPLE = ROOT / "examples" / "crm"
#: keys that configure a part of a connector section rather than the config file
SUBSECTIONS = {"transport": "destination"}


@dataclass(frozen=True)
class Block:
    line: int
    text: str

    @property
    def data(self) -> Any:
        return yaml.safe_load(self.text)

    def __str__(self) -> str:
        return f"README.md:{self.line}"


def _blocks() -> list[Block]:
    lines = README.read_text(encoding="utf-8").splitlines()
    out, i = [], 0
    while i < len(lines):
        if lines[i].strip() == "```yaml":
            j = lines.index("```", i + 1)
            out.append(Block(i + 2, "\n".join(lines[i + 1 : j])))
            i = j
        i += 1
    return out


BLOCKS = _blocks()
MAPPINGS = [b for b in BLOCKS if isinstance(b.data, dict) and "lines" in b.data]
CONFIGS = [b for b in BLOCKS if b not in MAPPINGS]


def test_the_readme_has_the_blocks_this_file_checks() -> None:
    assert len(MAPPINGS) == 1 and len(CONFIGS) >= 12


@pytest.mark.parametrize("block", BLOCKS, ids=str)
def test_every_yaml_block_is_one_yaml_mapping(block: Block) -> None:
    assert isinstance(block.data, dict), f"{block}: not a YAML mapping"


def _kingdee() -> dict[str, Any]:
    [kingdee] = [
        b.data["destination"] for b in CONFIGS if b.data.get("destination", {}).get("type") == "kingdee"
    ]
    return dict(kingdee)


def _config_with(block: Block) -> dict[str, Any]:
    config: dict[str, Any] = yaml.safe_load((ROOT / "config.example.yaml").read_text(encoding="utf-8"))
    for key, value in block.data.items():
        if key in SUBSECTIONS:
            config[SUBSECTIONS[key]] = {**_kingdee(), key: value}
        elif key == "sources":  # the sample mappings read `crm`: new sources go beside it
            config["sources"] = {**config["sources"], **value}
        else:
            config[key] = value
    return config


@pytest.mark.parametrize("block", CONFIGS, ids=str)
def test_every_config_block_passes_validate(
    block: Block, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    text = yaml.safe_dump(_config_with(block), allow_unicode=True)
    for name in set(re.findall(r"\$\{([A-Z0-9_]+)\}", text)):
        monkeypatch.setenv(name, f"dummy-{name.lower()}")
    for folder in ("mappings", "examples"):
        shutil.copytree(ROOT / folder, tmp_path / folder)
    (tmp_path / "config.yaml").write_text(text, encoding="utf-8")

    # --no-records: the docs name real endpoints (open.fxiaoke.com, a bank); the config is checked
    res = crmsync("validate", "-c", str(tmp_path / "config.yaml"), "--no-records")
    assert res.exit_code == 0, f"{block}: {res.stdout}{res.stderr}"


def test_the_mapping_reference_example_maps_the_sample_tenant_and_balances(tmp_path: Path) -> None:
    [block] = MAPPINGS
    folder = tmp_path / "mappings"
    shutil.copytree(ROOT / "mappings" / "fxiaoke-kingdee" / "lookups", folder / "lookups")
    path = folder / "example.yaml"
    path.write_text(block.text, encoding="utf-8")
    mappings = MappingSet.load([path], base_dir=tmp_path)
    [mapping] = mappings.mappings
    stream = SAMPLE / f"{mapping.stream}.jsonl"
    records = [
        yaml.safe_load(line) for line in stream.read_text(encoding="utf-8").splitlines() if line.strip()
    ]

    results = [
        r
        for rec in records
        if PROBLEM_FIELD not in rec
        for r in mappings.map_record("crm", mapping.stream, rec)
    ]
    mapped = [v for r in results for v in r.vouchers]
    failed = [r for r in results if r.error is not None]
    # the sample holds one order without an amount on purpose; every other record maps
    assert len(failed) <= 1, [r.error.render() for r in failed if r.error]
    assert len(mapped) >= len(records) - 10
    for v in mapped:
        assert sum(ln.debit for ln in v.lines) == sum(ln.credit for ln in v.lines), v.key
