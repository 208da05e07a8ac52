"""The ``type: ledger`` config section, the shipped chart, and the chart loader's messages."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from connectors.ledger.chart import DEFAULT_CHART_PATH, load_chart
from connectors.ledger.factory import Config, build
from sync.connector import BuildContext
from sync.errors import ConfigurationError


def test_build_resolves_paths_against_the_config_folder(tmp_path: Path) -> None:
    ledger = build(
        {"type": "ledger", "path": ".crmsync/ledger.db", "closed_periods": ["2026-09"]},
        BuildContext(name="destination", base_dir=tmp_path),
    )
    assert ledger.path == tmp_path / ".crmsync" / "ledger.db"
    assert ledger.closed_periods == {"2026-09"}
    assert ledger.chart.source == str(DEFAULT_CHART_PATH)
    assert not ledger.path.exists()  # opened on first use, not at build


def test_a_missing_chart_file_is_a_configuration_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match=r"chart of accounts .*kingdee-chart.csv does not exist"):
        build(
            {"path": "l.db", "chart": "kingdee-chart.csv"},
            BuildContext(name="destination", base_dir=tmp_path),
        )


@pytest.mark.parametrize(
    "section",
    [
        pytest.param({"path": "l.db", "closed_periods": ["2026-9"]}, id="a period without a leading zero"),
        pytest.param({"path": "l.db", "closed_period": ["2026-09"]}, id="a misspelt key"),
        pytest.param({"path": "l.db", "batch_size": 0}, id="an empty batch"),
        pytest.param({"type": "kingdee", "path": "l.db"}, id="another type"),
    ],
)
def test_bad_sections_are_refused(section: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        Config.model_validate(section)


def test_the_shipped_chart_has_what_the_ready_mappings_post_to() -> None:
    chart = load_chart()
    for code in (
        "1001",
        "1002.01",
        "1012.01",
        "1012.02",
        "1122",
        "2203",
        "6001",
        "2221.01.05",
        "6603.02",
        "2241.99",
    ):
        assert chart.problem(code, {"customer": "CUST0001"}) is None, code
    assert chart.full_name("2221.01.05") == "应交税费-应交增值税-销项税额"
    assert chart.get("1122").requires_dims == ("customer",)  # type: ignore[union-attr]


def test_a_broken_chart_reports_every_bad_row_with_its_line(tmp_path: Path) -> None:
    path = tmp_path / "chart.csv"
    path.write_text(
        "code,name,direction,requires_dims\n1001,库存现金,debit,\n1001,现金,debit,\n"
        "1002.01,工商银行,debit,\n6001,主营业务收入,income,\n",
        encoding="utf-8",
    )
    with pytest.raises(ConfigurationError) as err:
        load_chart(path)
    text = str(err.value)
    assert f"{path}:3: account 1001 is listed twice" in text
    assert f"{path}:4: parent account 1002 of 1002.01 must be listed above it" in text
    assert f"{path}:5: direction 'income' must be debit or credit" in text


def test_sub_accounts_inherit_the_dimensions_their_parent_requires(tmp_path: Path) -> None:
    path = tmp_path / "chart.csv"
    path.write_text(
        "code,name,direction,requires_dims\n1122,应收账款,debit,customer\n"
        "1122.01,应收账款-华东,debit,department\n",
        encoding="utf-8",
    )
    chart = load_chart(path)
    assert chart.get("1122.01").requires_dims == ("customer", "department")  # type: ignore[union-attr]
    assert "has sub-accounts" in (chart.problem("1122", {"customer": "C"}) or "")
