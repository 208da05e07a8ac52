"""The JSON API under /api/: the shapes the issue spells out, filters, one voucher's story, actions."""

from __future__ import annotations

import json
from decimal import Decimal
from urllib.parse import quote

import pytest

from tests.console.stage import XSS_NAME, Served, Stage


def _get(console: Served, path: str, user: str = "viewer1", **params: str) -> dict:
    r = console.session(user).get(f"{console.url}{path}", params=params)
    assert r.status_code == 200, r.text
    return r.json()


def test_me_names_the_user_its_role_and_a_csrf_token(console: Served) -> None:
    me = _get(console, "/api/me", "approver1")
    assert me["name"] == "approver1" and me["role"] == "approver" and len(me["csrf_token"]) >= 32


def test_voucher_items_have_the_shape_crmsync_vouchers_prints(stage: Stage, console: Served) -> None:
    page = _get(console, "/api/vouchers", page_size="500")
    assert set(page) == {"items", "total", "page", "page_size", "pages"} and page["page"] == 1
    cli = {v["external_ref"]: v for v in stage.vouchers_json()}
    assert page["total"] == len(cli) == len(page["items"])
    for item in page["items"]:
        assert item == cli[item["external_ref"]]


def test_pages_are_paged_on_the_server_newest_first(console: Served) -> None:
    all_refs = [v["external_ref"] for v in _get(console, "/api/vouchers", page_size="500")["items"]]
    first = _get(console, "/api/vouchers", page_size="5")
    second = _get(console, "/api/vouchers", page_size="5", page="2")
    assert first["total"] == second["total"] == len(all_refs) and first["pages"] == -(-len(all_refs) // 5)
    assert [v["external_ref"] for v in first["items"] + second["items"]] == all_refs[:10]


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"status": "awaiting_approval"}, lambda v: v["status"] == "awaiting_approval"),
        ({"period": "2026-11"}, lambda v: v["date"].startswith("2026-11")),
        ({"mapping": "payment_received"}, lambda v: v["mapping"] == "payment_received"),
        (
            {"amount_min": "1500", "amount_max": "1500.00"},
            lambda v: abs(Decimal(v["total"])) == Decimal("1500.00"),
        ),
        ({"q": "pay000007"}, lambda v: v["source"]["id"] == "pay000007"),
    ],
)
def test_each_filter_selects_what_it_names(console: Served, params: dict, expected) -> None:  # type: ignore[no-untyped-def]
    everything = _get(console, "/api/vouchers", page_size="500")["items"]
    found = _get(console, "/api/vouchers", page_size="500", **params)
    want = [v["external_ref"] for v in everything if expected(v)]
    assert want and [v["external_ref"] for v in found["items"]] == want and found["total"] == len(want)


def test_search_finds_a_voucher_by_its_erp_number(console: Served) -> None:
    posted = _get(console, "/api/vouchers", status="posted", page_size="1")["items"][0]
    found = _get(console, "/api/vouchers", q=posted["erp_number"])
    assert [v["external_ref"] for v in found["items"]] == [posted["external_ref"]]


def test_search_finds_vouchers_by_a_customer_name_in_their_summary(console: Served) -> None:
    found = _get(console, "/api/vouchers", q="<SCRIPT>alert")
    assert found["total"] == 1 and found["items"][0]["source"]["id"] == "pay000005"


def test_customer_and_voucher_group_filter_by_the_voucher_s_own_dimension(console: Served) -> None:
    one = _get(console, "/api/vouchers/" + quote("payment_received:PaymentObj:pay000002", safe=""))
    customer = next(line["dims"]["customer"] for line in one["lines"] if "customer" in line["dims"])
    found = _get(console, "/api/vouchers", customer=customer, group="收", page_size="500")
    assert found["total"] >= 1
    for item in found["items"]:
        detail = _get(console, "/api/vouchers/" + quote(item["external_ref"], safe=""))
        assert detail["group"] == "收"
        assert customer in [line["dims"].get("customer") for line in detail["lines"]]


def test_a_bad_filter_is_a_400_that_names_it(console: Served) -> None:
    r = console.session("viewer1").get(f"{console.url}/api/vouchers", params={"amount_min": "十元"})
    assert r.status_code == 400 and "amount_min" in r.json()["error"]["message"]


def test_one_voucher_shows_lines_its_crm_record_and_the_reversal_both_ways(console: Served) -> None:
    key = quote("payment_received:PaymentObj:pay000003", safe="")
    # by key: the newest revision (awaiting approval, 1,500.00); its older revision was reversed
    newest = _get(console, f"/api/vouchers/{key}")
    assert newest["status"] == "awaiting_approval" and newest["total"] == "1500.00"
    old_ref = next(r["external_ref"] for r in newest["revisions"] if r["status"] == "reversed")
    old = _get(console, "/api/vouchers/" + quote(old_ref, safe=""))
    assert old["reversed_by"] and old["reversed_by_voucher"]["kind"] == "reversal"
    reversal = _get(console, "/api/vouchers/" + quote(old["reversed_by"], safe=""))
    assert reversal["reverses"] == old_ref and reversal["reverses_voucher"]["external_ref"] == old_ref
    debit = sum(Decimal(line["debit"] or 0) for line in old["lines"])
    credit = sum(Decimal(line["credit"] or 0) for line in old["lines"])
    assert debit == credit == Decimal(old["total"]) == Decimal("1412.35")  # 1000 + 3 × 137.45, as first read
    assert old["source_record"]["_id"] == "pay000003" and old["source_record"]["payment_amount"] == "1500.00"
    assert [e["action"] for e in old["audit"]][:2] == ["approve", "post"]


def test_an_unknown_voucher_is_404(console: Served) -> None:
    r = console.session("viewer1").get(f"{console.url}/api/vouchers/no-such-key")
    assert r.status_code == 404


def test_failures_have_the_shape_of_crmsync_failures_json(stage: Stage, console: Served) -> None:
    api = _get(console, "/api/failures")
    cli = json.loads(stage.run("failures", "--format", "json").stdout)
    assert api == json.loads(json.dumps(cli, default=str))
    assert [q["record_id"] for q in api["quarantined"]] == ["pay000011"]


def test_the_control_totals_tie_to_the_voucher_report_to_the_cent(stage: Stage, console: Served) -> None:
    api = _get(console, "/api/totals", period="2026-11")
    report = stage.run("report", "vouchers", "--period", "2026-11", "--format", "json", "-o", "-")
    tables = json.loads(report.stdout[report.stdout.index("{") :])["tables"]
    for name in ("by_day", "by_group", "by_account"):
        rows = tables[name]["rows"] + ([tables[name]["totals"]] if tables[name].get("totals") else [])
        assert [{k: str(v) for k, v in r.items()} for r in api[name]] == [
            {k: str(v) for k, v in r.items()} for r in rows
        ], name


def test_the_voucher_report_downloads_as_xlsx_and_csv(console: Served) -> None:
    s = console.session("viewer1")
    xlsx = s.get(f"{console.url}/download", params={"format": "xlsx", "period": "2026-11"})
    assert xlsx.status_code == 200 and xlsx.content[:2] == b"PK"
    assert "vouchers-2026-11.xlsx" in xlsx.headers["content-disposition"]
    csv = s.get(f"{console.url}/download", params={"format": "csv", "period": "2026-11"})
    assert csv.status_code == 200 and csv.content[:2] == b"PK"  # one csv per table, zipped
    import io
    import zipfile

    names = zipfile.ZipFile(io.BytesIO(csv.content)).namelist()
    assert "vouchers-2026-11.by_account.csv" in names


def test_a_crm_field_with_markup_is_data_in_json(console: Served) -> None:
    detail = _get(console, "/api/vouchers/" + quote("payment_received:PaymentObj:pay000005", safe=""))
    assert detail["source_record"]["account_id__r"] == XSS_NAME
