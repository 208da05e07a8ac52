"""Every mapping feature, as mapping + record -> expected voucher (see golden_harness)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tests.mapping.golden_harness import GOLDEN, run_case, update_expected, updating

CASES = sorted(GOLDEN.glob("*.yaml"))


@pytest.mark.parametrize("case", CASES, ids=[p.stem for p in CASES])
def test_golden_case(case: Path, tmp_path: Path) -> None:
    actual = run_case(case, tmp_path)
    if updating():
        update_expected(case, actual)
        pytest.skip("expected output rewritten; review the diff")
    expected = yaml.safe_load(case.read_text(encoding="utf-8"))["expected"]
    assert actual == expected
