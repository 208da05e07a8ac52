"""Hostile or broken files: a clear error naming the file, and nothing booked from it."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from connectors.bank.files import parse_file
from connectors.bank.source import BankSource
from sync.banking import StatementError
from tests.connectors.bank.airbyte_run import run_read

CASES = [
    ("camt053", "camt053_xxe.xml", "declares a DTD or entities"),
    ("camt053", "camt053_billion_laughs.xml", "declares a DTD or entities"),
    ("camt053", "camt053_truncated.xml", "not well-formed XML"),
    ("camt053", "camt053_wrong_namespace.xml", "camt.052 file but the source is configured as camt053"),
    ("camt053", "camt053_bad_balance.xml", "does not add up"),
    ("mt940", "mt940_truncated.sta", "no :62F:/:62M: closing balance"),
    ("mt940", "mt940_bad_balance.sta", "does not add up"),
]


@pytest.mark.parametrize(("fmt", "name", "why"), CASES)
def test_parser_names_the_file_and_the_reason(fixtures: Path, fmt: str, name: str, why: str) -> None:
    path = fixtures / "hostile" / name
    with pytest.raises(StatementError) as err:
        parse_file(fmt, path)
    assert str(path) in str(err.value)
    assert why in str(err.value)


def test_xxe_never_reads_the_local_file(fixtures: Path) -> None:
    with pytest.raises(StatementError) as err:
        parse_file("camt053", fixtures / "hostile" / "camt053_xxe.xml")
    assert "root:" not in str(err.value)


@pytest.mark.parametrize(("fmt", "name", "why"), CASES)
def test_source_books_nothing_from_a_bad_file_and_fails_naming_it(
    tmp_path: Path, fixtures: Path, fmt: str, name: str, why: str
) -> None:
    good = "camt053_v02.xml" if fmt == "camt053" else "mt940_multi.sta"
    shutil.copy(fixtures / good, tmp_path / f"a_{good}")
    shutil.copy(fixtures / "hostile" / name, tmp_path / f"b_{name}")
    result = run_read(BankSource(), {"format": fmt, "path": str(tmp_path / "*")})
    assert {r["source_file"] for r in result.records} == {str(tmp_path / f"a_{good}")}
    assert result.errors and f"b_{name}" in result.errors[0] and why in result.errors[0]
    assert result.state is not None and list(result.state["files"].values()) == [f"a_{good}"]
