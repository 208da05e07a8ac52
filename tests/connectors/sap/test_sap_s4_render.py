"""The SOAP request S/4HANA gets: structure from the spec, round-trip, golden files, signs."""

from __future__ import annotations

import datetime as dt
import os
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import xmltodict
from hypothesis import given, settings
from hypothesis import strategies as st

from connectors.sap.s4.destination import S4Destination
from connectors.sap.s4.factory import Config
from connectors.sap.s4.soap import SFIN_NS, SOAP11_NS
from sync.connector import BuildContext
from sync.destination import short_ref
from sync.errors import PermanentError
from sync.model import MappingRef, ReversalStyle, SourceRef, Voucher, VoucherLine
from tests.connectors.sap.conftest import ACCOUNT_MAP, order_voucher, payment_voucher

GOLDEN = Path(__file__).parent / "golden"
FIXED = dt.datetime(2026, 11, 3, 2, 15, tzinfo=dt.UTC)  # 10:15 in Shanghai
HEADER_ORDER = [
    "OriginalReferenceDocumentType",
    "BusinessTransactionType",
    "AccountingDocumentType",
    "DocumentReferenceID",
    "DocumentHeaderText",
    "CreatedByUser",
    "CompanyCode",
    "DocumentDate",
    "PostingDate",
]


def destination(tmp_path: Path, **overrides: Any) -> S4Destination:
    values: dict[str, Any] = {
        "base_url": "https://my000000-api.s4hana.cloud.sap",
        "username": "COMM_CRMSYNC",
        "password": "S4-secret-Passw0rd!",
        "company_code": "1010",
        "created_by_user": "CC0000000001",
        "document_type": {"default": "SA", "order_confirmed": "DR", "payment_received": "DZ"},
        "account_map": ACCOUNT_MAP,
    }
    values.update(overrides)
    return S4Destination(Config.model_validate(values), BuildContext("erp", tmp_path), clock=lambda: FIXED)


def journal_entry(xml: str) -> dict[str, Any]:
    tree = xmltodict.parse(xml, force_list=("Item", "DebtorItem", "JournalEntryCreateRequest"))
    bulk = tree["soapenv:Envelope"]["soapenv:Body"]["sfin:JournalEntryBulkCreateRequest"]
    entry: dict[str, Any] = bulk["JournalEntryCreateRequest"][0]["JournalEntry"]
    return entry


def signed_lines(entry: dict[str, Any]) -> list[tuple[str, Decimal, str, str]]:
    out = []
    for kind in ("Item", "DebtorItem"):
        for item in entry.get(kind, []):
            amount = item["AmountInTransactionCurrency"]
            who = item.get("GLAccount") or item.get("Debtor")
            out.append((who, Decimal(amount["#text"]), item["DebitCreditCode"], amount["@currencyCode"]))
    return out


@pytest.mark.parametrize(
    ("name", "make"),
    [
        pytest.param("s4_order.xml", order_voucher, id="order voucher"),
        pytest.param("s4_payment.xml", payment_voucher, id="payment voucher"),
    ],
)
def test_request_matches_the_golden_file(tmp_path: Path, name: str, make: Any) -> None:
    xml = destination(tmp_path).render(make())
    golden = GOLDEN / name
    if os.environ.get("UPDATE_GOLDEN"):
        golden.write_text(xml, encoding="utf-8")
    assert xml == golden.read_text(encoding="utf-8")


@pytest.mark.parametrize("make", [order_voucher, payment_voucher], ids=["order", "payment"])
def test_request_round_trips_through_xmltodict(tmp_path: Path, make: Any) -> None:
    xml = destination(tmp_path).render(make())
    parsed = xmltodict.parse(xml)
    again = xmltodict.unparse(parsed, pretty=True, indent="  ", encoding="utf-8", short_empty_elements=True)
    assert xmltodict.parse(again) == parsed
    assert again + "\n" == xml


def test_only_the_root_is_namespace_qualified(tmp_path: Path) -> None:
    xml = destination(tmp_path).render(order_voucher())
    tree = xmltodict.parse(xml, process_namespaces=True)
    envelope = tree[f"{SOAP11_NS}:Envelope"]
    bulk = envelope[f"{SOAP11_NS}:Body"][f"{SFIN_NS}:JournalEntryBulkCreateRequest"]
    assert list(bulk) == ["MessageHeader", "JournalEntryCreateRequest"]
    assert list(bulk["MessageHeader"]) == ["ID", "CreationDateTime"]
    assert bulk["MessageHeader"]["CreationDateTime"] == "2026-11-03T02:15:00Z"


def test_header_follows_the_wsdl_sequence_then_items_then_debtor_items(tmp_path: Path) -> None:
    entry = journal_entry(destination(tmp_path).render(order_voucher()))
    assert list(entry) == [*HEADER_ORDER, "Item", "DebtorItem"]
    assert entry["OriginalReferenceDocumentType"] == "BKPFF"
    assert entry["BusinessTransactionType"] == "RFBU"
    assert entry["AccountingDocumentType"] == "DR"
    assert entry["CompanyCode"] == "1010"
    assert entry["DocumentDate"] == entry["PostingDate"] == "2026-11-01"


def test_document_reference_id_is_the_16_character_short_ref(tmp_path: Path) -> None:
    voucher = order_voucher()
    entry = journal_entry(destination(tmp_path).render(voucher))
    assert entry["DocumentReferenceID"] == short_ref(voucher.external_ref, 16)
    assert len(entry["DocumentReferenceID"]) == 16
    assert len(entry["DocumentHeaderText"]) <= 25


def test_order_lines_are_signed_debit_positive_with_matching_codes(tmp_path: Path) -> None:
    entry = journal_entry(destination(tmp_path).render(order_voucher()))
    assert signed_lines(entry) == [
        ("41000000", Decimal("-10000.00"), "H", "CNY"),
        ("22210000", Decimal("-1300.00"), "H", "CNY"),
        ("10100001", Decimal("11300.00"), "S", "CNY"),
    ]
    assert sum(amount for _, amount, _, _ in signed_lines(entry)) == 0


def test_payment_debits_the_bank_and_credits_the_customer(tmp_path: Path) -> None:
    entry = journal_entry(destination(tmp_path).render(payment_voucher()))
    assert entry["AccountingDocumentType"] == "DZ"
    assert signed_lines(entry) == [
        ("11002000", Decimal("11300.00"), "S", "CNY"),
        ("10100001", Decimal("-11300.00"), "H", "CNY"),
    ]


def test_tax_code_and_profit_centre_come_from_line_dimensions(tmp_path: Path) -> None:
    entry = journal_entry(destination(tmp_path).render(order_voucher()))
    revenue, tax = entry["Item"]
    assert revenue["AccountAssignment"] == {"ProfitCenter": "YB101"}
    assert "Tax" not in revenue
    assert tax["Tax"] == {"TaxCode": "A1"}
    assert list(revenue) == [
        "ReferenceDocumentItem",
        "GLAccount",
        "AmountInTransactionCurrency",
        "DebitCreditCode",
        "DocumentItemText",
        "AssignmentReference",
        "AccountAssignment",
    ]


def test_red_reversal_lines_land_on_the_opposite_sap_side(tmp_path: Path) -> None:
    red = order_voucher().reversal(ReversalStyle.RED, on=dt.date(2026, 11, 20))
    entry = journal_entry(destination(tmp_path).render(red))
    assert signed_lines(entry) == [
        ("41000000", Decimal("10000.00"), "S", "CNY"),
        ("22210000", Decimal("1300.00"), "S", "CNY"),
        ("10100001", Decimal("-11300.00"), "H", "CNY"),
    ]
    assert entry["PostingDate"] == "2026-11-20"


def test_several_vouchers_make_one_bulk_with_one_request_each(tmp_path: Path) -> None:
    dest = destination(tmp_path)
    docs = [dest.document(v, FIXED) for v in (order_voucher(), payment_voucher(), order_voucher("SO-8"))]
    ids = [d["MessageHeader"]["ID"] for d in docs]  # type: ignore[index]
    assert len(set(ids)) == 3
    assert all(len(i) <= 35 for i in ids)


def test_a_customer_line_without_customer_dimension_is_refused(tmp_path: Path) -> None:
    voucher = payment_voucher().model_copy(
        update={
            "lines": (payment_voucher().lines[0], payment_voucher().lines[1].model_copy(update={"dims": ()}))
        }
    )
    with pytest.raises(PermanentError, match="no `customer` dimension"):
        destination(tmp_path).render(voucher)


def test_unmapped_accounts_pass_through_unchanged(tmp_path: Path) -> None:
    entry = journal_entry(
        destination(tmp_path, account_map={"1122": {"debtor": True}}).render(payment_voucher())
    )
    assert entry["Item"][0]["GLAccount"] == "1002"


def _voucher(amounts: list[int]) -> Voucher:
    total = sum(amounts)
    lines = [VoucherLine(account="6001", side="credit", amount=Decimal(a) / 100) for a in amounts]
    lines.append(
        VoucherLine(account="1122", side="debit", amount=Decimal(total) / 100, dims={"customer": "10100002"})
    )
    return Voucher(
        key="prop:1",
        book="1010",
        date=dt.date(2026, 11, 5),
        summary="属性测试 订单",
        lines=tuple(lines),
        sources=(SourceRef(system="crm", stream="SalesOrderObj", record_id="p1"),),
        mapping=MappingRef(name="p"),
    )


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(min_value=1, max_value=10**9), min_size=1, max_size=6), st.booleans())
def test_any_balanced_voucher_renders_balanced_with_consistent_codes(amounts: list[int], red: bool) -> None:
    voucher = _voucher(amounts)
    if red:
        voucher = voucher.reversal(ReversalStyle.RED)
    dest = destination(Path("/nonexistent"))
    xml = dest.render(voucher)
    lines = signed_lines(journal_entry(xml))
    assert sum(amount for _, amount, _, _ in lines) == 0
    assert all((code == "S") == (amount > 0) for _, amount, code, _ in lines)
    assert xmltodict.parse(xmltodict.unparse(xmltodict.parse(xml))) == xmltodict.parse(xml)


SCHEMA = Path(__file__).parents[2] / "fixtures" / "sap" / "journal_entry_bulk_create_request.xsd"


def every_optional_voucher() -> Voucher:
    """Every element crmsync can write at once: tax code, profit and cost centre, a debtor line."""
    base = order_voucher()
    lines = list(base.lines)
    lines[1] = lines[1].model_copy(update={"dims": (("cost_center", "CC4711"), ("profit_center", "YB101"))})
    return base.model_copy(update={"lines": tuple(lines)})


def _bulk_element(xml: str) -> Any:
    import xml.etree.ElementTree as ET

    root = ET.fromstring(xml.encode("utf-8"))
    return root.find(f"{{{SOAP11_NS}}}Body/{{{SFIN_NS}}}JournalEntryBulkCreateRequest")


def test_every_optional_element_at_once_matches_the_golden_file(tmp_path: Path) -> None:
    xml = destination(tmp_path).render(every_optional_voucher())
    golden = GOLDEN / "s4_every_optional.xml"
    if os.environ.get("UPDATE_GOLDEN"):
        golden.write_text(xml, encoding="utf-8")
    assert xml == golden.read_text(encoding="utf-8")
    item = journal_entry(xml)["Item"][0]
    assert list(item["AccountAssignment"]) == ["ProfitCenter", "CostCenter"]


@pytest.mark.parametrize(
    "make", [order_voucher, payment_voucher, every_optional_voucher], ids=["order", "payment", "all"]
)
def test_the_request_validates_against_the_schema_from_sap_material(tmp_path: Path, make: Any) -> None:
    import xmlschema

    schema = xmlschema.XMLSchema(SCHEMA)
    schema.validate(_bulk_element(destination(tmp_path).render(make())))


def test_the_schema_refuses_cost_centre_before_profit_centre() -> None:
    import xmlschema

    wrong = (
        f'<sfin:JournalEntryBulkCreateRequest xmlns:sfin="{SFIN_NS}"><MessageHeader>'
        "<CreationDateTime>2026-11-03T02:15:00Z</CreationDateTime></MessageHeader>"
        "<JournalEntryCreateRequest><MessageHeader><CreationDateTime>2026-11-03T02:15:00Z"
        "</CreationDateTime></MessageHeader><JournalEntry><OriginalReferenceDocumentType>BKPFF"
        "</OriginalReferenceDocumentType><BusinessTransactionType>RFBU</BusinessTransactionType>"
        "<AccountingDocumentType>SA</AccountingDocumentType><CreatedByUser>CC1</CreatedByUser>"
        "<CompanyCode>1010</CompanyCode><DocumentDate>2026-11-01</DocumentDate>"
        "<PostingDate>2026-11-01</PostingDate><Item><ReferenceDocumentItem>1</ReferenceDocumentItem>"
        '<GLAccount>41000000</GLAccount><AmountInTransactionCurrency currencyCode="CNY">-1.00'
        "</AmountInTransactionCurrency><DebitCreditCode>H</DebitCreditCode><AccountAssignment>"
        "<CostCenter>CC4711</CostCenter><ProfitCenter>YB101</ProfitCenter></AccountAssignment>"
        "</Item></JournalEntry></JournalEntryCreateRequest></sfin:JournalEntryBulkCreateRequest>"
    )
    with pytest.raises(xmlschema.XMLSchemaValidationError):
        xmlschema.XMLSchema(SCHEMA).validate(wrong)
