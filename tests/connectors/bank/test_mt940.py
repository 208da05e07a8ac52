"""MT940 through mt-940: several statements per file, :86: subfields, RC/RD reversals."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from connectors.bank.mt940 import parse_mt940, parse_structured_86
from sync.banking import StatementError


def test_each_statement_of_a_multi_statement_file_balances(fixtures: Path) -> None:
    stmts = parse_mt940((fixtures / "mt940_multi.sta").read_bytes(), "m.sta")
    assert [s.reference for s in stmts] == ["STMT20261103", "STMT20261104"]
    for s in stmts:
        assert s.opening + sum(t.signed_amount for t in s.transactions) == s.closing
    assert stmts[1].opening == stmts[0].closing == Decimal("61274.50")


def test_reversal_marks_give_the_direction(fixtures: Path) -> None:
    txns = parse_mt940((fixtures / "mt940_multi.sta").read_bytes(), "m.sta")[1].transactions
    rc, rd = txns[1], txns[2]
    assert (rc.direction, rc.reversal, rc.amount) == ("debit", True, Decimal("800.00"))
    assert (rd.direction, rd.reversal, rd.amount) == ("credit", True, Decimal("100.00"))


def test_dutch_structured_86_gives_payer_reference_and_text(fixtures: Path) -> None:
    first = parse_mt940((fixtures / "mt940_multi.sta").read_bytes(), "m.sta")[0].transactions[0]
    assert first.payer_name == "上海明远贸易有限公司"
    assert first.payer_account == "31001234567890"
    assert first.remittance == "货款 SO-20261103-0042"
    assert "SO-20261103-0042" in first.references


def test_german_structured_86_gives_payer_and_end_to_end_reference(fixtures: Path) -> None:
    line = parse_mt940((fixtures / "mt940_multi.sta").read_bytes(), "m.sta")[1].transactions[0]
    assert line.payer_name == "杭州青禾科技有限公司"
    assert line.references == ("PAY-20261101-000018",)
    assert line.remittance == "回款 PAY-20261101-000018"


def test_structured_86_parser_on_the_spec_example() -> None:
    got = parse_structured_86(
        "/EREF/SO-2024-0042/REMI/USTD//Order SO-2024-0042 ACME GmbH/NAME/ACME GMBH/"
        "IBAN/DE89370400440532013000/"
    )
    assert got == {
        "EREF": "SO-2024-0042",
        "REMI": "Order SO-2024-0042 ACME GmbH",
        "NAME": "ACME GMBH",
        "IBAN": "DE89370400440532013000",
    }
    assert parse_structured_86("Bank charges March") == {}


def test_a_line_the_package_cannot_read_fails_the_file(fixtures: Path) -> None:
    data = (fixtures / "mt940_multi.sta").read_text(encoding="utf-8")
    data = data.replace(":61:2611031103D25,50NCHGNONREF", ":61:26110X1103D25,50NCHGNONREF")
    try:
        parse_mt940(data.encode(), "broken.sta")
    except StatementError as exc:
        assert "broken.sta" in str(exc)
    else:  # pragma: no cover - the test must fail if the bad line is silently dropped
        raise AssertionError("a malformed :61: line was accepted")


def test_not_an_mt940_file() -> None:
    try:
        parse_mt940(b"hello", "x.sta")
    except StatementError as exc:
        assert str(exc).startswith("x.sta: not an MT940 statement")
    else:  # pragma: no cover
        raise AssertionError("accepted")
