"""Business One Service Layer: sessions, JournalEntries, both error shapes, paged look-up."""

from __future__ import annotations

import datetime as dt
import socket
import time
from decimal import Decimal
from decimal import Decimal as D
from pathlib import Path
from typing import Any

import pytest
import requests

from connectors.sap.b1.destination import B1Destination
from connectors.sap.b1.factory import Config, build
from sync.connector import BuildContext
from sync.destination import Outcome, short_ref
from sync.errors import DestinationUnavailable
from sync.jsonwire import dumps
from sync.model import ReversalStyle
from tests.connectors.sap.conftest import order_voucher, payment_voucher
from tests.fakes.sap_b1 import FakeB1

B1_MAP = {"1122": {"debtor": True}}


def b1(fake: FakeB1, tmp_path: Path, *, v2: bool = False, **overrides: Any) -> B1Destination:
    values: dict[str, Any] = {
        "base_url": fake.url.replace("/v1", "/v2") if v2 else fake.url,
        "company_db": "SBODEMOCN",
        "username": "manager",
        "password": fake.password,
        "account_map": B1_MAP,
        "timeout_seconds": 2,
    }
    values.update(overrides)
    dest = build(Config.model_validate(values), BuildContext("erp", tmp_path))
    assert isinstance(dest, B1Destination)
    return dest


def test_render_carries_the_key_in_reference_fields(tmp_path: Path, fake_b1: FakeB1) -> None:
    order = order_voucher()
    body = b1(fake_b1, tmp_path).render(order)
    assert body["Reference"] == short_ref(order.external_ref, 16)
    assert body["Reference2"] == order.external_ref
    assert body["Reference3"] == "SO-20261101-0007"
    assert body["ReferenceDate"] == "2026-11-01"
    assert len(body["Memo"]) <= 50
    assert body["JournalEntryLines"] == [
        {
            "ShortName": "10100001",
            "Debit": D("11300.00"),
            "Credit": D("0.00"),
            "LineMemo": "应收 SO-20261101-0007",
        },
        {
            "AccountCode": "6001",
            "Debit": D("0.00"),
            "Credit": D("10000.00"),
            "LineMemo": "主营业务收入",
            "CostingCode": "YB101",
        },
        {"AccountCode": "222101", "Debit": D("0.00"), "Credit": D("1300.00"), "LineMemo": "销项税额"},
    ]
    # JSON numbers written exactly from Decimal: no float anywhere, cents kept as sent
    assert '"Debit":11300.00' in dumps(body) and '"Credit":1300.00' in dumps(body)


def test_red_reversal_moves_amounts_to_the_other_column(tmp_path: Path, fake_b1: FakeB1) -> None:
    red = payment_voucher().reversal(ReversalStyle.RED, on=dt.date(2026, 11, 30))
    lines = b1(fake_b1, tmp_path).render(red)["JournalEntryLines"]
    assert [(ln["Debit"], ln["Credit"]) for ln in lines] == [
        (D("0.00"), D("11300.00")),
        (D("11300.00"), D("0.00")),
    ]


def test_the_fake_refuses_amounts_sent_as_strings_like_the_edm_double_metadata(
    tmp_path: Path, fake_b1: FakeB1
) -> None:
    body = b1(fake_b1, tmp_path).render(order_voucher())
    for line in body["JournalEntryLines"]:
        line["Debit"], line["Credit"] = str(line["Debit"]), str(line["Credit"])
    answer = requests.post(
        f"{fake_b1.url}/Login",
        json={"CompanyDB": "SBODEMOCN", "UserName": "manager", "Password": fake_b1.password},
        timeout=5,
    )
    posted = requests.post(f"{fake_b1.url}/JournalEntries", json=body, cookies=answer.cookies, timeout=5)
    assert posted.status_code == 400 and "Edm.Double" in posted.text
    assert fake_b1.entries == []


def test_post_records_jdtnum_and_logs_in_once(tmp_path: Path, fake_b1: FakeB1) -> None:
    results = b1(fake_b1, tmp_path).post([order_voucher(), payment_voucher()])
    assert [(r.outcome, r.ref.erp_id if r.ref else "") for r in results] == [
        (Outcome.POSTED, "4711"),
        (Outcome.POSTED, "4712"),
    ]
    assert fake_b1.logins == 1
    assert fake_b1.totals_by_account() == {
        "customer:10100001": Decimal("0.00"),
        "6001": Decimal("-10000.00"),
        "222101": Decimal("-1300.00"),
        "1002": Decimal("11300.00"),
    }


def test_expired_session_logs_in_again_and_repeats_the_call_once(tmp_path: Path, fake_b1: FakeB1) -> None:
    dest = b1(fake_b1, tmp_path)
    dest.post([order_voucher()])
    fake_b1.expire_all_sessions()
    (result,) = dest.post([payment_voucher()])
    assert result.outcome is Outcome.POSTED
    assert fake_b1.logins == 2
    assert len(fake_b1.entries) == 2


def test_session_timeout_by_idleness(tmp_path: Path) -> None:
    with FakeB1(session_timeout=0.2) as fake:
        dest = b1(fake, tmp_path)
        dest.post([order_voucher()])
        time.sleep(0.3)
        (result,) = dest.post([payment_voucher()])
    assert result.outcome is Outcome.POSTED
    assert fake.logins == 2


def test_missing_routeid_cookie_loses_the_session(tmp_path: Path, fake_b1: FakeB1) -> None:
    dest = b1(fake_b1, tmp_path)
    dest.sl.login()
    jar = dest.sl._session.cookies
    assert jar.get("ROUTEID") == ".node1"
    session = jar.get("B1SESSION") or ""
    response = requests.get(fake_b1.url + "/JournalEntries", cookies={"B1SESSION": session}, timeout=5)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == 301


@pytest.mark.parametrize("v2", [False, True], ids=["v1 error shape", "v2 error shape"])
def test_business_error_keeps_b1_message_in_both_shapes(tmp_path: Path, fake_b1: FakeB1, v2: bool) -> None:
    (result,) = b1(fake_b1, tmp_path, v2=v2).post([order_voucher(customer="C99999")])
    assert result.outcome is Outcome.PERMANENT
    assert result.message == "Invalid BP code 'C99999' [JournalEntryLines.ShortName][line: 1] (code -10)"


def test_error_shapes_on_the_wire_differ(tmp_path: Path, fake_b1: FakeB1) -> None:
    for v2, expected in ((False, {"code": -10, "message": {"lang": "en-us"}}), (True, {"code": "-10"})):
        dest = b1(fake_b1, tmp_path, v2=v2)
        body = dest.render(order_voucher(customer="C99999"))
        error = dest.sl.request("POST", "JournalEntries", data=dumps(body)).json()["error"]
        assert error["code"] == expected["code"]
        assert isinstance(error["message"], dict) is (not v2)


def test_unbalanced_entry_is_refused_by_the_fake(tmp_path: Path, fake_b1: FakeB1) -> None:
    dest = b1(fake_b1, tmp_path)
    body = dest.render(order_voucher())
    body["JournalEntryLines"][2]["Credit"] = D("1299.99")
    response = dest.sl.request("POST", "JournalEntries", data=dumps(body))
    assert response.status_code == 400
    assert "Unbalanced transaction" in response.json()["error"]["message"]["value"]


def test_wrong_password_is_destination_unavailable(tmp_path: Path, fake_b1: FakeB1) -> None:
    dest = b1(fake_b1, tmp_path, password="wrong-Passw0rd!")
    with pytest.raises(DestinationUnavailable, match="Login failed"):
        dest.post([order_voucher()])
    assert "wrong-Passw0rd!" not in str(dest.config)


@pytest.mark.parametrize(
    ("fault", "outcome"),
    [
        ("unavailable", Outcome.TRANSIENT),
        ("error500", Outcome.UNKNOWN),
        ("reset_after", Outcome.UNKNOWN),
        ("session_lost", Outcome.POSTED),
    ],
)
def test_faults_are_classified(tmp_path: Path, fault: str, outcome: Outcome) -> None:
    with FakeB1(fault_rate=1.0, faults=(fault,), max_faults=1) as fake:
        (result,) = b1(fake, tmp_path).post([order_voucher()])
    assert result.outcome is outcome


def test_posted_then_timed_out_is_unknown_and_lookup_finds_it(tmp_path: Path) -> None:
    with FakeB1(fault_rate=1.0, faults=("hang_after_post",), hang_seconds=1.0) as fake:
        dest = b1(fake, tmp_path, timeout_seconds=0.3)
        (result,) = dest.post([order_voucher()])
        assert result.outcome is Outcome.UNKNOWN
        fake.fault_rate = 0.0
        found = dest.lookup([order_voucher().external_ref, payment_voucher().external_ref])
    assert {k: v.erp_id for k, v in found.items()} == {order_voucher().external_ref: "4711"}


@pytest.mark.parametrize("v2", [False, True], ids=["odata.nextLink", "@odata.nextLink"])
def test_collections_follow_next_links(tmp_path: Path, fake_b1: FakeB1, v2: bool) -> None:
    for i in range(130):
        fake_b1.add_entry(b1(fake_b1, tmp_path).render(order_voucher(f"SO-{i:04d}")))
    dest = b1(fake_b1, tmp_path, v2=v2)
    rows = dest._collection("JournalEntries?$select=JdtNum&$filter=ReferenceDate eq '2026-11-01'")
    assert len(rows) == 130
    assert len({r["JdtNum"] for r in rows}) == 130


def test_lookup_over_many_references(tmp_path: Path, fake_b1: FakeB1) -> None:
    dest = b1(fake_b1, tmp_path)
    vouchers = [order_voucher(f"SO-{i:04d}") for i in range(45)]
    dest.post(vouchers[:30])
    found = dest.lookup([v.external_ref for v in vouchers])
    assert sorted(found) == sorted(v.external_ref for v in vouchers[:30])


def test_check_lists_missing_accounts_and_business_partners(tmp_path: Path, fake_b1: FakeB1) -> None:
    dest = b1(fake_b1, tmp_path, account_map={**B1_MAP, "1002": "1002.01"})
    report = dest.check([order_voucher(), payment_voucher(), order_voucher("SO-7", "C77777")])
    assert report.problems == (
        "accounts not in the chart of accounts of SBODEMOCN: 1002.01",
        "business partners not in SBODEMOCN: C77777",
    )


def test_return_no_content_answer_gives_jdtnum_from_location(tmp_path: Path, fake_b1: FakeB1) -> None:
    dest = b1(fake_b1, tmp_path)
    order = order_voucher()
    response = dest.sl.request(
        "POST", "JournalEntries", data=dumps(dest.render(order)), headers={"Prefer": "return-no-content"}
    )
    assert response.status_code == 204
    result = dest._classify(order.external_ref, response)
    assert result.outcome is Outcome.POSTED and result.ref is not None and result.ref.erp_id == "4711"


def test_a_service_layer_that_never_answers_is_destination_unavailable(tmp_path: Path) -> None:
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)  # accepts connections, never answers
        port = silent.getsockname()[1]
        config = Config(
            base_url=f"http://127.0.0.1:{port}/b1s/v1",
            company_db="SBODEMOCN",
            username="manager",
            password="B1-secret-Passw0rd!",
            timeout_seconds=0.2,
        )
        dest = build(config, BuildContext("erp", tmp_path))
        with pytest.raises(DestinationUnavailable, match="does not answer the login"):
            dest.post([order_voucher()])
        with pytest.raises(DestinationUnavailable):
            dest.lookup([order_voucher().external_ref])
