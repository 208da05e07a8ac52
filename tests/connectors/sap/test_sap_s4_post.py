"""Posting to the fake S/4HANA: outcomes per document, faults, look-up, check, CSRF."""

from __future__ import annotations

import datetime as dt
import socket
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import requests
import xmltodict

from connectors.sap.s4.destination import SOAP_PATH, S4Destination
from connectors.sap.s4.factory import Config, build
from sync.connector import BuildContext
from sync.destination import Outcome, short_ref
from sync.errors import DestinationUnavailable
from tests.connectors.sap.conftest import ACCOUNT_MAP, order_voucher, payment_voucher
from tests.fakes.sap_s4 import FakeS4


def s4(fake: FakeS4, tmp_path: Path, **overrides: Any) -> S4Destination:
    values: dict[str, Any] = {
        "base_url": fake.url,
        "username": fake.username,
        "password": fake.password,
        "company_code": "1010",
        "created_by_user": "CC0000000001",
        "account_map": ACCOUNT_MAP,
        "timeout_seconds": 2,
    }
    values.update(overrides)
    dest = build(Config.model_validate(values), BuildContext("erp", tmp_path))
    assert isinstance(dest, S4Destination)
    return dest


def test_a_bulk_posts_each_voucher_and_returns_document_year_company(fake_s4: FakeS4, tmp_path: Path) -> None:
    order, payment = order_voucher(), payment_voucher()
    results = s4(fake_s4, tmp_path).post([order, payment])
    assert [r.outcome for r in results] == [Outcome.POSTED, Outcome.POSTED]
    assert results[0].ref is not None and results[0].ref.erp_id == "1800000001/2026/1010"
    assert results[0].ref.number == "1800000001"
    assert len(fake_s4.requests) == 1  # one SOAP call for the batch
    docs = fake_s4.by_reference()
    assert [d.number for d in docs[short_ref(order.external_ref, 16)]] == ["1800000001"]


def test_every_request_sent_round_trips_through_xmltodict(fake_s4: FakeS4, tmp_path: Path) -> None:
    s4(fake_s4, tmp_path).post([order_voucher(), payment_voucher(), order_voucher("SO-3", "10100003")])
    for body in fake_s4.requests:
        parsed = xmltodict.parse(body)
        assert xmltodict.parse(xmltodict.unparse(parsed)) == parsed


def test_posted_totals_per_account_equal_the_vouchers(fake_s4: FakeS4, tmp_path: Path) -> None:
    s4(fake_s4, tmp_path).post([order_voucher(), payment_voucher()])
    assert fake_s4.totals_by_account() == {
        "41000000": Decimal("-10000.00"),
        "22210000": Decimal("-1300.00"),
        "customer:10100001": Decimal("0.00"),
        "11002000": Decimal("11300.00"),
    }


def test_unknown_customer_is_permanent_with_sap_message_and_others_still_post(
    fake_s4: FakeS4, tmp_path: Path
) -> None:
    bad = order_voucher("SO-20261101-0099", customer="10100099")
    results = s4(fake_s4, tmp_path).post([order_voucher(), bad])
    by_ref = {r.external_ref: r for r in results}
    assert by_ref[bad.external_ref].outcome is Outcome.PERMANENT
    assert "Customer 10100099 is not defined in company code 1010" in by_ref[bad.external_ref].message
    assert by_ref[order_voucher().external_ref].outcome is Outcome.POSTED


def test_unknown_gl_account_is_permanent(fake_s4: FakeS4, tmp_path: Path) -> None:
    dest = s4(fake_s4, tmp_path, account_map={**ACCOUNT_MAP, "6001": "49999999"})
    (result,) = dest.post([order_voucher()])
    assert result.outcome is Outcome.PERMANENT
    assert "G/L account 49999999 is not defined" in result.message
    assert fake_s4.documents == []


@pytest.mark.parametrize("number", [" ", "0000000000"], ids=["blank number", "all-zero number"])
def test_failure_confirmation_shapes_are_both_read_as_failures(tmp_path: Path, number: str) -> None:
    with FakeS4(failure_number=number) as fake:
        (result,) = s4(fake, tmp_path).post([order_voucher(customer="10100099")])
    assert result.outcome is Outcome.PERMANENT


def test_a_schema_fault_in_a_bulk_is_pinned_on_the_voucher_that_caused_it(
    fake_s4: FakeS4, tmp_path: Path
) -> None:
    long_tax = order_voucher("SO-LONGTAX")
    lines = (*long_tax.lines[:2], long_tax.lines[2].model_copy(update={"dims": (("tax_code", "A1X"),)}))
    long_tax = long_tax.model_copy(update={"lines": lines})
    results = s4(fake_s4, tmp_path).post([order_voucher(), long_tax, payment_voucher()])
    by_ref = {r.external_ref: r.outcome for r in results}
    assert by_ref[long_tax.external_ref] is Outcome.PERMANENT
    assert by_ref[order_voucher().external_ref] is Outcome.POSTED
    assert by_ref[payment_voucher().external_ref] is Outcome.POSTED
    assert "TaxCode" in next(r.message for r in results if r.external_ref == long_tax.external_ref)
    assert len(fake_s4.documents) == 2


def test_posted_then_timed_out_is_unknown_and_lookup_finds_it(tmp_path: Path) -> None:
    with FakeS4(fault_rate=1.0, faults=("hang_after_post",), hang_seconds=1.0) as fake:
        dest = s4(fake, tmp_path, timeout_seconds=0.3)
        order = order_voucher()
        (result,) = dest.post([order])
        assert result.outcome is Outcome.UNKNOWN
        found = dest.lookup([order.external_ref, payment_voucher().external_ref])
    assert list(found) == [order.external_ref]
    assert found[order.external_ref].number == fake.documents[0].number


@pytest.mark.parametrize(
    ("fault", "outcome"),
    [
        ("unavailable", Outcome.TRANSIENT),
        ("error500", Outcome.UNKNOWN),
        ("reset_before", Outcome.UNKNOWN),
        ("reset_after", Outcome.UNKNOWN),
    ],
)
def test_faults_are_classified(tmp_path: Path, fault: str, outcome: Outcome) -> None:
    with FakeS4(fault_rate=1.0, faults=(fault,)) as fake:
        results = s4(fake, tmp_path).post([order_voucher(), payment_voucher()])
    assert {r.outcome for r in results} == {outcome}


def test_lookup_follows_server_paging_and_ignores_other_company_codes(tmp_path: Path) -> None:
    with FakeS4(page_size=2) as fake:
        dest = s4(fake, tmp_path)
        vouchers = [order_voucher(f"SO-{i:04d}") for i in range(6)]
        dest.post(vouchers)
        found = dest.lookup([v.external_ref for v in vouchers])
        other = s4(fake, tmp_path, company_code="1710").lookup([v.external_ref for v in vouchers])
    assert sorted(found) == sorted(v.external_ref for v in vouchers)
    assert other == {}


def test_wrong_password_is_destination_unavailable(fake_s4: FakeS4, tmp_path: Path) -> None:
    dest = s4(fake_s4, tmp_path, password="not-the-Passw0rd")
    with pytest.raises(DestinationUnavailable, match="refused the credentials"):
        dest.post([order_voucher()])
    with pytest.raises(DestinationUnavailable):
        dest.check([order_voucher()])


def test_nothing_listening_is_destination_unavailable(tmp_path: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    dest = build(
        Config(
            base_url=f"http://127.0.0.1:{port}",
            username="u",
            password="S4-secret-Passw0rd!",
            company_code="1010",
            created_by_user="CC01",
        ),
        BuildContext("erp", tmp_path),
    )
    with pytest.raises(DestinationUnavailable, match="cannot reach"):
        dest.post([order_voucher()])


def test_check_lists_missing_accounts_and_customers(fake_s4: FakeS4, tmp_path: Path) -> None:
    dest = s4(fake_s4, tmp_path, account_map={**ACCOUNT_MAP, "1002": "11009999"})
    report = dest.check([order_voucher(), payment_voucher(), order_voucher("SO-9", "10100077")])
    assert not report.ok
    assert report.problems == (
        "G/L accounts not in company code 1010: 11009999",
        "customers not extended to company code 1010: 10100077",
    )
    assert s4(fake_s4, tmp_path).check([order_voucher()]).ok


def test_check_warns_when_master_data_services_are_not_in_the_arrangement(tmp_path: Path) -> None:
    with FakeS4(master_data=False) as fake:
        report = s4(fake, tmp_path).check([order_voucher()])
    assert report.ok
    assert len(report.warnings) == 2
    assert "cannot verify GLAccount codes" in report.warnings[0] and "41000000" in report.warnings[0]


def test_odata_writes_fetch_a_csrf_token_and_retry_once_when_it_expired(
    fake_s4: FakeS4, tmp_path: Path
) -> None:
    dest = s4(fake_s4, tmp_path)
    cube = "API_OPLACCTGDOCITEMCUBE_SRV/A_OperationalAcctgDocItemCube"
    first = dest.odata.write("POST", cube, {"CompanyCode": "1010"})
    assert first.status_code == 405  # past the CSRF check: the read-only service refuses the method
    fake_s4.csrf_tokens.clear()  # the token expires
    second = dest.odata.write("POST", cube, {"CompanyCode": "1010"})
    assert second.status_code == 405
    assert len(fake_s4.csrf_tokens) == 1


# -- the fake itself refuses what SAP refuses -------------------------------------------------


def raw_post(fake: FakeS4, body: str) -> requests.Response:
    return requests.post(
        fake.url + SOAP_PATH,
        data=body.encode(),
        auth=(fake.username, fake.password),
        headers={"Content-Type": "text/xml; charset=utf-8"},
        timeout=5,
    )


def rendered(tmp_path: Path, fake: FakeS4) -> str:
    dest = s4(fake, tmp_path)
    return dest.render(order_voucher())


def test_fake_refuses_a_wrong_payload_namespace(fake_s4: FakeS4, tmp_path: Path) -> None:
    body = rendered(tmp_path, fake_s4).replace(
        "http://sap.com/xi/SAPSCORE/SFIN", "http://sap.com/xi/SAPSCORE/SFIN2"
    )
    response = raw_post(fake_s4, body)
    assert response.status_code == 500
    assert "JournalEntryBulkCreateRequest" in response.text and "Fault" in response.text


def test_fake_refuses_elements_out_of_wsdl_order(fake_s4: FakeS4, tmp_path: Path) -> None:
    body = rendered(tmp_path, fake_s4)
    company = "<CompanyCode>1010</CompanyCode>"
    body = body.replace(company, "", 1).replace(
        "<BusinessTransactionType>", company + "<BusinessTransactionType>", 1
    )
    response = raw_post(fake_s4, body)
    assert response.status_code == 500 and "out of sequence" in response.text


@pytest.mark.parametrize(
    ("old", "new", "field"),
    [
        ("CC0000000001", "CC00000000012", "CreatedByUser"),
        ("<DocumentReferenceID>", "<DocumentReferenceID>X", "DocumentReferenceID"),
    ],
)
def test_fake_refuses_over_long_fields(
    fake_s4: FakeS4, tmp_path: Path, old: str, new: str, field: str
) -> None:
    response = raw_post(fake_s4, rendered(tmp_path, fake_s4).replace(old, new))
    assert response.status_code == 500 and field in response.text
    assert fake_s4.documents == []


def test_fake_answers_unbalanced_documents_with_severity_3_at_http_200(
    fake_s4: FakeS4, tmp_path: Path
) -> None:
    response = raw_post(fake_s4, rendered(tmp_path, fake_s4).replace("-1300.00", "-1299.00"))
    assert response.status_code == 200
    assert "<MaximumLogItemSeverityCode>3</MaximumLogItemSeverityCode>" in response.text
    assert "Balance in transaction currency" in response.text


def test_fake_posts_the_same_document_twice_like_sap(fake_s4: FakeS4, tmp_path: Path) -> None:
    body = rendered(tmp_path, fake_s4)
    raw_post(fake_s4, body)
    raw_post(fake_s4, body)
    assert len(next(iter(fake_s4.by_reference().values()))) == 2


def test_reversal_posts_with_swapped_sap_sides(fake_s4: FakeS4, tmp_path: Path) -> None:
    from sync.model import ReversalStyle

    order = order_voucher()
    dest = s4(fake_s4, tmp_path)
    dest.post([order, order.reversal(ReversalStyle.RED, on=dt.date(2026, 11, 30))])
    assert all(v == 0 for v in fake_s4.totals_by_account().values())
