"""``crmsync validate``: every problem at once, located; records mapped when readable."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from sync.cli import cli

ROOT = Path(__file__).resolve().parents[2]
READY = ROOT / "mappings" / "fxiaoke-kingdee"

ORDER = {
    "_id": "65a1f0c2e4b0a1000001aaa1",
    "name": "SO-20261103-0001",
    "life_status": "normal",
    "is_deleted": False,
    "account_id": "07e998012c1137decdf3efbb",
    "account_id__r": "上海明远信息科技有限公司",
    "order_time": 1793635200000,
    "order_amount": "1130.00",
    "owner": ["1000"],
}
PAYMENT = {
    "_id": "4f07734fc112cf99f40c31b0",
    "name": "20261104-000001",
    "life_status": "normal",
    "account_id": "07e998012c1137decdf3efbb",
    "account_id__r": "上海明远信息科技有限公司",
    "payment_time": 1793721600000,
    "payment_amount": "565.00",
    "payment_term": "2",
}


def make_tenant(
    tmp: Path,
    orders: list[dict],
    payments: list[dict] | None = None,
    *,
    mappings: str | None = None,
    extra: str = "",
) -> Path:
    """A config with a files source on ``tmp/crm`` and the ledger, reading the ready mappings."""
    crm = tmp / "crm"
    crm.mkdir(exist_ok=True)
    for stream, rows in (
        ("SalesOrderObj", orders),
        ("PaymentObj", payments or []),
        ("RefundObj", []),
        ("InvoiceApplicationObj", []),
    ):
        (crm / f"{stream}.jsonl").write_text(
            "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8"
        )
    if mappings is None:
        shutil.copytree(READY, tmp / "mappings")
        mappings = "mappings/*.yaml"
    config = tmp / "config.yaml"
    config.write_text(
        "state: {url: sqlite:///.crmsync/state.db}\n"
        "sources:\n  crm: {type: files, path: crm}\n"
        "destination: {type: ledger, path: .crmsync/ledger.db}\n"
        f"mappings: [{mappings}]\n{extra}",
        encoding="utf-8",
    )
    return config


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def test_clean_config_and_records_exit_0(tmp_path: Path) -> None:
    config = make_tenant(tmp_path, [ORDER], [PAYMENT])
    code, out, err = run("validate", "-c", str(config))
    assert code == 0, out + err
    assert "mappings: 4 ok (invoice_issued, payment_received, refund_paid, sales_order_confirmed)" in out
    assert "chart of accounts: the ledger's shipped chart" in out
    assert "records: read 2: mapped 2, skipped by rule 0, failed 0" in out


def test_every_problem_is_reported_at_once_with_its_location(tmp_path: Path) -> None:
    config = make_tenant(tmp_path, [ORDER])
    text = config.read_text(encoding="utf-8").replace(
        "{type: files, path: crm}", "{type: files, path: crm, pth: x}"
    )
    config.write_text(text, encoding="utf-8")
    sales = tmp_path / "mappings" / "sales_order_confirmed.yaml"
    sales.write_text(
        sales.read_text(encoding="utf-8")
        .replace("    credit: vat.net", "    credt: vat.net")
        .replace('account: "6001"', 'account: "6009"'),
        encoding="utf-8",
    )
    pay = tmp_path / "mappings" / "payment_received.yaml"
    pay.write_text(
        pay.read_text(encoding="utf-8").replace("date: date(payment_time)", "date: date(payment_time"),
        encoding="utf-8",
    )
    code, _out, err = run("validate", "-c", str(config))
    assert code == 2
    assert f"{config}:3:" in err and "unknown key 'pth'" in err and "did you mean 'path'?" in err
    assert f"{sales}:37:5:" in err and "unknown key 'credt'" in err and "did you mean 'credit'?" in err
    assert f"{pay}:" in err and "voucher.date: invalid expression" in err
    assert "Traceback" not in err


def test_unknown_account_in_the_configured_chart_is_a_located_error(tmp_path: Path) -> None:
    chart = tmp_path / "chart.csv"
    chart.write_text(
        "code,name\n1122,应收账款\n6001,主营业务收入\n1002.01,工行\n1012.01,支付宝\n1012.02,微信\n1001,现金\n"
        "6051,其他业务收入\n",
        encoding="utf-8",
    )
    config = make_tenant(tmp_path, [ORDER], extra="chart_of_accounts: chart.csv\n")
    code, _out, err = run("validate", "-c", str(config))
    assert code == 2
    assert "sales_order_confirmed.yaml:38:5:" in err and "unknown account '2221.01.05'" in err
    assert "invoice_issued.yaml:" in err


def test_a_record_that_fails_is_listed_with_id_mapping_line_and_fix(tmp_path: Path) -> None:
    broken = {**ORDER, "_id": "8908aff81f23ffaba79875e6", "order_amount": "一千一百三十"}
    config = make_tenant(tmp_path, [ORDER, broken])
    code, out, _err = run("validate", "-c", str(config))
    assert code == 1
    assert "record 8908aff81f23ffaba79875e6 (crm/SalesOrderObj):" in out
    assert "sales_order_confirmed.yaml:24:" in out and "is not a decimal amount" in out
    assert "records: read 2: mapped 1, skipped by rule 0, failed 1" in out


def test_no_records_checks_files_only(tmp_path: Path) -> None:
    config = make_tenant(tmp_path, [ORDER])
    shutil.rmtree(tmp_path / "crm")
    code, out, _ = run("validate", "-c", str(config), "--no-records")
    assert code == 0 and "records:" not in out
    code, _, err = run("validate", "-c", str(config))
    assert code == 2 and "does not exist" in err


def test_malformed_config_yaml_is_located(tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text("sources:\n  crm: {type: files, path: crm\n", encoding="utf-8")
    code, _, err = run("validate", "-c", str(config))
    assert code == 2 and f"{config}:" in err and "malformed YAML" in err


def test_json_format_lists_problems(tmp_path: Path) -> None:
    config = make_tenant(tmp_path, [ORDER])
    sales = tmp_path / "mappings" / "sales_order_confirmed.yaml"
    sales.write_text(sales.read_text(encoding="utf-8").replace("\nwhen:", "\nwen:"), encoding="utf-8")
    code, out, _ = run("validate", "-c", str(config), "--format", "json")
    assert code == 2
    report = json.loads(out)
    (problem,) = report["problems"]
    assert problem["where"].endswith("sales_order_confirmed.yaml:11:1")
    assert problem["message"] == "unknown key 'wen'" and problem["fix"] == "did you mean 'when'?"


@pytest.mark.parametrize("source", ["erp"], ids=["mapping names a source config.yaml lacks"])
def test_mapping_source_must_exist_in_config(tmp_path: Path, source: str) -> None:
    config = make_tenant(tmp_path, [ORDER])
    pay = tmp_path / "mappings" / "payment_received.yaml"
    pay.write_text(
        pay.read_text(encoding="utf-8").replace("source: crm", f"source: {source}"), encoding="utf-8"
    )
    code, _, err = run("validate", "-c", str(config), "--no-records")
    assert code == 2 and f"reads source '{source}', which config.yaml does not define" in err


FEATURE_TYPOS = """\
schedule: "0 2 * *"
reports:
  languag: en
reconcile:
  tolerence: "0.50"
reminders:
  interval_hour: 24
  channels:
    - {type: webhook, name: 钉钉, url: "https://oapi.dingtalk.com/robot/send", secrt: x}
writeback:
  max_per_rn: 100
audit:
  head_fil: audit-head.jsonl
"""


def test_a_typo_in_every_feature_section_and_a_bad_schedule_are_all_reported_in_one_run(
    tmp_path: Path,
) -> None:
    config = make_tenant(tmp_path, [ORDER], extra=FEATURE_TYPOS)
    code, out, _err = run("validate", "-c", str(config), "--no-records", "--format", "json")
    assert code == 2
    problems = {p["message"]: p for p in json.loads(out)["problems"]}
    expected = {
        "schedule '0 2 * *' is not a cron expression": (f"{config}:6:1", "five fields"),
        "unknown key 'languag'": (f"{config}:8:3", "did you mean 'language'?"),
        "unknown key 'tolerence'": (f"{config}:10:3", "did you mean 'tolerance'?"),
        "unknown key 'interval_hour'": (f"{config}:12:3", "did you mean 'interval_hours'?"),
        "unknown key 'secrt'": (f"{config}:14:", "did you mean 'secret'?"),
        "unknown key 'max_per_rn'": (f"{config}:16:3", "did you mean 'max_per_run'?"),
        "unknown key 'head_fil'": (f"{config}:18:3", "did you mean 'head_file'?"),
    }
    for message, (where, fix) in expected.items():
        assert message in problems, f"{message!r} not reported; got {sorted(problems)}"
        assert problems[message]["where"].startswith(where), problems[message]
        assert fix in problems[message]["fix"], problems[message]


def test_a_state_url_of_another_scheme_is_a_located_config_error(tmp_path: Path) -> None:
    config = make_tenant(tmp_path, [ORDER])
    text = config.read_text(encoding="utf-8").replace("sqlite:///.crmsync/state.db", "mysql://db/crmsync")
    config.write_text(text, encoding="utf-8")
    code, _out, err = run("validate", "-c", str(config), "--no-records")
    assert code == 2
    assert f"{config}:1:" in err and "state.url" in err and "sqlite:///" in err
