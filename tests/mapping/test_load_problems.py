"""Wrong mapping files: every problem at once, each at path:line:column with a fix."""

from __future__ import annotations

from pathlib import Path

import pytest

from sync.config.loader import ConfigProblems
from sync.mapping import MappingSet

GOOD = """\
version: 1
name: order
source: crm
stream: SalesOrderObj
voucher:
  book: "001"
  date: date(order_time)
  summary: "销售订单 {{ name }}"
lines:
  - account: "1122"
    debit: amount(order_amount)
  - account: "6001"
    credit: amount(order_amount)
"""


def _problems(tmp_path: Path, *texts: str, accounts: list[str] | None = None) -> list[str]:
    paths = []
    for i, text in enumerate(texts):
        p = tmp_path / f"m{i}.yaml"
        p.write_text(text, encoding="utf-8")
        paths.append(p)
    with pytest.raises(ConfigProblems) as info:
        MappingSet.load(paths, base_dir=tmp_path, accounts=accounts)
    assert info.value.exit_code == 2
    return [str(p) for p in info.value.problems]


def test_good_mapping_loads(tmp_path: Path) -> None:
    (tmp_path / "m.yaml").write_text(GOOD, encoding="utf-8")
    ms = MappingSet.load([Path("m.yaml")], base_dir=tmp_path)
    assert [(m.name, m.source, m.stream, m.line) for m in ms.mappings] == [
        ("order", "crm", "SalesOrderObj", 2)
    ]
    assert ms.streams() == {"crm": {"SalesOrderObj"}}


def test_misspelt_key_is_located_with_did_you_mean(tmp_path: Path) -> None:
    problems = _problems(tmp_path, GOOD.replace("    debit: amount", "    debt: amount"))
    assert any("m0.yaml:11:5: unknown key 'debt'" in p and "did you mean 'debit'?" in p for p in problems), (
        problems
    )


def test_malformed_yaml_names_line_and_column(tmp_path: Path) -> None:
    problems = _problems(
        tmp_path, GOOD.replace('summary: "销售订单 {{ name }}"', 'summary: "销售订单 {{ name }}')
    )
    assert len(problems) == 1
    assert "m0.yaml:" in problems[0] and "malformed YAML" in problems[0]


def test_bad_expression_points_into_the_expression(tmp_path: Path) -> None:
    problems = _problems(tmp_path, GOOD.replace("debit: amount(order_amount)", "debit: amount(order_amount"))
    assert len(problems) == 1
    assert problems[0].startswith(f"{tmp_path / 'm0.yaml'}:11:")
    assert "lines[0].debit: invalid expression" in problems[0]


def test_unknown_function_suggests_the_right_one(tmp_path: Path) -> None:
    problems = _problems(tmp_path, GOOD.replace("date(order_time)", "dat(order_time)"))
    assert "voucher.date: unknown function 'dat'" in problems[0] and "did you mean 'date'?" in problems[0]


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        pytest.param("order_amount.__class__", "attribute '__class__' is not allowed", id="dunder attribute"),
        pytest.param("order_amount.upper()", "only the documented functions", id="method call"),
        pytest.param("__import__('os')", "unknown function '__import__'", id="import"),
        pytest.param("[x for x in owner]", "ListComp is not allowed", id="comprehension"),
        pytest.param("lambda: 1", "Lambda is not allowed", id="lambda"),
    ],
)
def test_expressions_cannot_reach_python(tmp_path: Path, expression: str, message: str) -> None:
    problems = _problems(tmp_path, GOOD.replace("debit: amount(order_amount)", f'debit: "{expression}"'))
    assert message in problems[0], problems


def test_all_problems_of_all_files_are_reported_together(tmp_path: Path) -> None:
    first = GOOD.replace("stream: SalesOrderObj", "stream: SalesOrderObj\nwhen: life_status ==")
    second = (
        GOOD.replace("name: order", "name: order2")
        .replace("lookup", "x")
        .replace('"1122"', "\"{{ lookup('banks', payment_term) }}\"")
    )
    third = GOOD.replace("version: 1", "version: 7").replace("name: order", "name: order3")
    problems = _problems(tmp_path, first, second, third)
    assert len(problems) == 3
    assert "m0.yaml:5:" in problems[0] and "when: invalid expression" in problems[0]
    assert "unknown lookup 'banks'" in problems[1] and "declare it under `lookups:`" in problems[1]
    assert "m2.yaml:1:" in problems[2] and "version 7 is newer" in problems[2]


def test_duplicate_mapping_names_are_refused(tmp_path: Path) -> None:
    problems = _problems(tmp_path, GOOD, GOOD)
    assert "mapping name 'order' is already used by" in problems[0]


def test_missing_version_asks_for_it(tmp_path: Path) -> None:
    problems = _problems(tmp_path, GOOD.replace("version: 1\n", ""))
    assert "version: required key is missing" in problems[0] and "add 'version'" in problems[0]


def test_unknown_literal_account_fails_at_load_when_a_chart_is_given(tmp_path: Path) -> None:
    problems = _problems(tmp_path, GOOD.replace('"6001"', '"6009"'), accounts=["1122", "6001"])
    assert len(problems) == 1
    assert "m0.yaml:12:" in problems[0] and "unknown account '6009'" in problems[0]


def test_inline_lookup_accounts_are_checked_against_the_chart(tmp_path: Path) -> None:
    text = GOOD.replace('"1122"', "\"{{ lookup('banks', payment_term) }}\"").replace(
        "voucher:", 'lookups:\n  banks:\n    table: {post: "1002.01", cash: "1009"}\nvoucher:'
    )
    problems = _problems(tmp_path, text, accounts=["1002.01", "6001"])
    assert len(problems) == 1 and "unknown account '1009'" in problems[0] and "m0.yaml:7:30:" in problems[0]


def test_missing_lookup_csv_is_located(tmp_path: Path) -> None:
    text = GOOD.replace("voucher:", "lookups:\n  customers:\n    csv: lookups/customers.csv\nvoucher:")
    problems = _problems(tmp_path, text)
    assert "m0.yaml:7:" in problems[0] and "CSV file 'lookups/customers.csv' not found" in problems[0]


def test_unquoted_numbers_keep_the_text_as_written(tmp_path: Path) -> None:
    text = GOOD.replace('book: "001"', "book: 001").replace('account: "1122"', "account: 1002.10")
    (tmp_path / "m.yaml").write_text(
        text.replace("debit: amount(order_amount)", "debit: 12.50"), encoding="utf-8"
    )
    ms = MappingSet.load([tmp_path / "m.yaml"], base_dir=tmp_path)
    (result,) = ms.map_record(
        "crm",
        "SalesOrderObj",
        {"_id": "1", "name": "SO", "order_time": 1793671200000, "order_amount": "12.50"},
    )
    (v,) = result.vouchers
    assert v.book == "001" and v.lines[0].account == "1002.10" and str(v.lines[0].amount) == "12.50"


def test_a_line_needs_exactly_one_side(tmp_path: Path) -> None:
    problems = _problems(
        tmp_path,
        GOOD.replace("    credit: amount(order_amount)", "    credit: amount(order_amount)\n    debit: '1'"),
    )
    assert "give exactly one of `debit` or `credit`" in problems[0]


def test_an_older_version_is_migrated_on_load(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from sync.mapping import migrations

    def v0_to_v1(data: dict) -> dict:  # version 0 called the header `header:`
        data["voucher"] = data.pop("header")
        return data

    monkeypatch.setitem(migrations.MIGRATIONS, 0, v0_to_v1)
    (tmp_path / "m.yaml").write_text(
        GOOD.replace("version: 1", "version: 0").replace("voucher:", "header:"), encoding="utf-8"
    )
    ms = MappingSet.load([tmp_path / "m.yaml"], base_dir=tmp_path)
    assert ms.mappings[0].spec.version == 1


def test_a_version_without_a_migration_is_refused(tmp_path: Path) -> None:
    problems = _problems(tmp_path, GOOD.replace("version: 1", "version: 0"))
    assert "m0.yaml:1:" in problems[0] and "mapping version 0 is not supported" in problems[0]
