"""camt.053 (.02 and .08) and camt.054: fields, batch split, reversals, pending, balances."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from connectors.bank.camt import parse_camt
from sync.banking import StatementError


@pytest.mark.parametrize("name", ["camt053_v02.xml", "camt053_v08.xml"])
def test_opening_plus_entries_equals_closing(fixtures: Path, name: str) -> None:
    (stmt,) = parse_camt((fixtures / name).read_bytes(), name, "053")
    total = sum(t.signed_amount for t in stmt.transactions)
    assert stmt.opening == Decimal("100000.00")
    assert stmt.opening + total == stmt.closing == Decimal("115474.50")


@pytest.mark.parametrize("name", ["camt053_v02.xml", "camt053_v08.xml"])
def test_versions_02_and_08_read_the_same_facts(fixtures: Path, name: str) -> None:
    (stmt,) = parse_camt((fixtures / name).read_bytes(), name, "053")
    first = stmt.transactions[0]
    assert (first.payer_name, first.payer_account) == ("上海明远贸易有限公司", "31001234567890")
    assert first.amount == Decimal("11300.00") and first.direction == "credit"
    assert first.remittance == "货款 SO-20261103-0042"
    assert first.bank_code == "PMNT/RCDT/DMCT" and first.kind == "receipt"
    assert str(first.booking_date) == "2026-11-03" and first.currency == "CNY"


def test_ids_do_not_depend_on_the_version(fixtures: Path) -> None:
    v02 = parse_camt((fixtures / "camt053_v02.xml").read_bytes(), "a")[0].transactions
    v08 = parse_camt((fixtures / "camt053_v08.xml").read_bytes(), "b")[0].transactions
    assert [t.id for t in v02] == [t.id for t in v08]
    assert len({t.id for t in v02}) == len(v02)


def test_batch_entry_is_split_into_its_transaction_details(fixtures: Path) -> None:
    (stmt,) = parse_camt((fixtures / "camt053_v02.xml").read_bytes(), "f", "053")
    batch = [t for t in stmt.transactions if t.raw["entry_ref"] == "CMB2611030000124"]
    assert [(t.payer_name, t.amount) for t in batch] == [
        ("杭州青禾科技有限公司", Decimal("3000.00")),
        ("北京华信五金制品厂", Decimal("2000.00")),
    ]
    assert batch[0].references == ("PAY-20261101-000017",)
    assert batch[1].references == ("SO-20261028-0007",)  # structured creditor reference


def test_batch_whose_details_do_not_sum_to_the_entry_is_one_transaction_of_the_entry_amount(
    fixtures: Path,
) -> None:
    data = (fixtures / "camt053_v02.xml").read_text(encoding="utf-8")
    data = data.replace('<TxAmt><Amt Ccy="CNY">2000.00</Amt>', '<TxAmt><Amt Ccy="CNY">2000.10</Amt>')
    (stmt,) = parse_camt(data.encode(), "batch.xml", "053")
    (whole,) = [t for t in stmt.transactions if t.raw["entry_ref"] == "CMB2611030000124"]
    assert whole.amount == Decimal("5000.00") and whole.payer_name == ""  # two payers: no guess
    assert whole.references == ("PAY-20261101-000017", "SO-20261028-0007")
    assert whole.raw["not_split"].startswith("the transaction details sum to 5000.10, the entry to 5000.00")
    assert stmt.opening + sum(t.signed_amount for t in stmt.transactions) == stmt.closing


def test_batch_whose_details_carry_no_amounts_is_one_transaction_of_the_entry_amount(fixtures: Path) -> None:
    data = (fixtures / "camt053_v02.xml").read_text(encoding="utf-8")
    for amount in ("3000.00", "2000.00"):
        data = data.replace(f'<AmtDtls><TxAmt><Amt Ccy="CNY">{amount}</Amt></TxAmt></AmtDtls>', "")
    assert "2000.00</Amt></TxAmt>" not in data
    (stmt,) = parse_camt(data.encode(), "nodetails.xml", "053")
    (whole,) = [t for t in stmt.transactions if t.raw["entry_ref"] == "CMB2611030000124"]
    assert whole.amount == Decimal("5000.00")
    assert whole.raw["not_split"].startswith("2 of 2 transaction details carry no amount")
    assert stmt.opening + sum(t.signed_amount for t in stmt.transactions) == stmt.closing


def test_reversal_keeps_the_direction_of_the_money_and_is_flagged(fixtures: Path) -> None:
    (stmt,) = parse_camt((fixtures / "camt053_v02.xml").read_bytes(), "f")
    (rev,) = [t for t in stmt.transactions if t.reversal]
    assert rev.direction == "debit" and rev.amount == Decimal("800.00")


def test_pending_entry_is_not_booked(fixtures: Path) -> None:
    (stmt,) = parse_camt((fixtures / "camt053_v02.xml").read_bytes(), "f")
    assert stmt.skipped_pending == 1
    assert Decimal("999.00") not in [t.amount for t in stmt.transactions]


def test_bank_charge_is_classified_as_fee(fixtures: Path) -> None:
    (stmt,) = parse_camt((fixtures / "camt053_v02.xml").read_bytes(), "f")
    (fee,) = [t for t in stmt.transactions if t.kind == "fee"]
    assert fee.amount == Decimal("25.50") and fee.bank_code == "ACMT/MDOP/CHRG"


def test_camt054_notification_checks_its_summary(fixtures: Path) -> None:
    (ntf,) = parse_camt((fixtures / "camt054_v04.xml").read_bytes(), "n.xml", "054")
    assert [(t.direction, t.amount) for t in ntf.transactions] == [
        ("credit", Decimal("6666.66")),
        ("debit", Decimal("2222.22")),
    ]
    assert ntf.transactions[1].payer_name == "苏州精工模具有限公司"  # the counterparty of a debit
    bad = (fixtures / "camt054_v04.xml").read_bytes().replace(b"<Sum>8888.88</Sum>", b"<Sum>8888.80</Sum>")
    with pytest.raises(StatementError, match=r"n.xml: notification .* entries sum to 8888.88 but TxsSummry"):
        parse_camt(bad, "n.xml", "054")


def test_camt054_given_to_a_camt053_source_is_refused(fixtures: Path) -> None:
    with pytest.raises(
        StatementError, match=r"this is a camt\.054 file but the source is configured as camt053"
    ):
        parse_camt((fixtures / "camt054_v04.xml").read_bytes(), "n.xml", "053")


def test_statement_without_opening_balance_cannot_be_checked(fixtures: Path) -> None:
    data = (
        (fixtures / "camt053_v02.xml").read_text(encoding="utf-8").replace("<Cd>OPBD</Cd>", "<Cd>ITBD</Cd>")
    )
    with pytest.raises(StatementError, match="has no OPBD"):
        parse_camt(data.encode(), "f.xml")


def test_version_09_is_refused_by_namespace(fixtures: Path) -> None:
    data = (fixtures / "camt053_v02.xml").read_bytes().replace(b"camt.053.001.02", b"camt.053.001.09")
    with pytest.raises(StatementError, match=r"v09.xml: .*not supported"):
        parse_camt(data, "v09.xml")


def test_camt054_summary_counts_pending_entries_which_are_not_booked(fixtures: Path) -> None:
    data = (fixtures / "camt054_v04.xml").read_text(encoding="utf-8")
    pending = (
        '<Ntry><Amt Ccy="CNY">100.00</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts>PDNG</Sts>'
        "<ValDt><Dt>2026-11-06</Dt></ValDt><BkTxCd/></Ntry>\n    </Ntfctn>"
    )
    data = data.replace(
        "<NbOfNtries>2</NbOfNtries><Sum>8888.88</Sum>", "<NbOfNtries>3</NbOfNtries><Sum>8988.88</Sum>"
    ).replace("</Ntfctn>", pending)
    (ntf,) = parse_camt(data.encode(), "n.xml", "054")
    assert len(ntf.transactions) == 2 and ntf.skipped_pending == 1


def test_an_entry_without_a_booking_date_is_booked_on_its_value_date_with_a_note(fixtures: Path) -> None:
    data = (fixtures / "camt053_v02.xml").read_text(encoding="utf-8")
    first = data.index("<BookgDt>")
    end = data.index("</BookgDt>", first) + len("</BookgDt>")
    (stmt,) = parse_camt((data[:first] + data[end:]).encode(), "nobookgdt.xml", "053")
    entry = stmt.transactions[0]
    assert entry.booking_date == entry.value_date is not None
    assert entry.raw["booking_date_from"].startswith("ValDt")
    assert "booking_date_from" not in stmt.transactions[1].raw
