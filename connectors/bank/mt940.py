"""SWIFT MT940 statements through the ``mt-940`` package, one statement at a time.

``mt940.parse`` merges the statements of a multi-statement file and keeps only the last
balances, so ``parse_statements`` is used and each statement is checked on its own:
opening (:60F:/:60M:) + lines (:61:) = closing (:62F:/:62M:). ``RC`` (reversal of a credit)
moves money out and ``RD`` (reversal of a debit) moves it in; the package leaves their
amounts unsigned by default, so direction comes from the mark, never from the sign.
``:86:`` is read in the two structured layouts met in practice (German ``?nn`` via the
package's processor, Dutch ``/EREF/…/REMI/…``) and otherwise kept as free text.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sync.banking import CREDIT, DEBIT, BankTransaction, StatementError, stable_id
from sync.money import ZERO, format_amount

__all__ = ["Mt940Statement", "parse_mt940", "parse_structured_86"]

_DUTCH_KEYS = ("EREF", "REMI", "NAME", "IBAN", "BIC", "ORDP", "BENM", "MARF", "CSID", "PREF", "TRCD", "ADDR")
_DUTCH = re.compile(r"/(" + "|".join(_DUTCH_KEYS) + r")/")


@dataclass(frozen=True)
class Mt940Statement:
    """One MT940 statement as the parser read it, before its lines become BankTransactions."""

    reference: str
    account: str
    number: str
    currency: str
    opening: Decimal
    closing: Decimal
    transactions: tuple[BankTransaction, ...]


def parse_structured_86(text: str) -> dict[str, str]:
    """Subfields of a Dutch/NVB structured ``:86:`` (``/EREF/x/REMI/USTD//y/NAME/z/``); {} if free text."""
    flat = text.replace("\r", "").replace("\n", "")
    if not _DUTCH.search(flat):
        return {}
    out: dict[str, str] = {}
    pieces = _DUTCH.split(flat)
    # pieces: [prefix, KEY, value, KEY, value, ...]
    for key, piece in zip(pieces[1::2], pieces[2::2], strict=False):
        value = piece.strip().rstrip("/")
        if key == "REMI":
            value = re.sub(r"^(USTD|STRD)?//?", "", value)
            value = re.sub(r"^(CUR|ISO)/", "", value)
        out.setdefault(key, value.strip())
    return out


def _balance(stmt: Any, which: str) -> tuple[Decimal, str] | None:
    for key in (f"final_{which}_balance", f"intermediate_{which}_balance", f"{which}_balance"):
        bal = stmt.data.get(key)
        if bal is not None:
            return Decimal(bal.amount.amount), str(bal.amount.currency)
    return None


def parse_mt940(data: bytes, source: str) -> list[Mt940Statement]:
    """Every statement in an MT940 file, each with its balances checked."""
    import mt940

    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("gb18030", errors="strict") if _is_gb(data) else data.decode("latin-1")
    if ":20:" not in text or (":61:" not in text and ":62" not in text):
        raise StatementError(
            source,
            "not an MT940 statement (no :20: transaction reference or :62: closing "
            "balance); nothing was booked from it",
        )
    try:
        statements = mt940.parse_statements(text)
    except Exception as exc:  # the package raises bare exceptions of many kinds on malformed input
        raise StatementError(
            source, f"malformed MT940 ({type(exc).__name__}: {exc}); nothing was booked from it"
        ) from None
    out = [_statement(stmt, i, source) for i, stmt in enumerate(statements)]
    if not out:
        raise StatementError(source, "MT940 file holds no statement")
    _check_line_count(text, out, source)
    return out


def _is_gb(data: bytes) -> bool:
    try:
        data.decode("gb18030")
    except UnicodeDecodeError:
        return False
    return True


def _check_line_count(text: str, statements: list[Mt940Statement], source: str) -> None:
    """Every ``:61:`` in the file must have become a transaction (the package skips what it can't read)."""
    expected = len(re.findall(r"(?m)^:61:", text))
    got = sum(len(s.transactions) for s in statements)
    if expected != got:
        raise StatementError(
            source,
            f"{expected} :61: statement lines in the file but {got} could be read; "
            "a line is malformed, nothing was booked from this file",
        )


def _statement(stmt: Any, index: int, source: str) -> Mt940Statement:
    ref = str(stmt.data.get("transaction_reference") or "")
    account = str(stmt.data.get("account_identification") or "")
    number = "/".join(str(stmt.data[k]) for k in ("statement_number", "sequence_number") if stmt.data.get(k))
    where = f"statement {index + 1} ({ref or 'no :20:'}, account {account or '?'})"
    if not account:
        raise StatementError(source, f"{where}: no :25: account identification")
    opening = _balance(stmt, "opening")
    closing = _balance(stmt, "closing")
    if opening is None or closing is None:
        missing = ":60F:/:60M: opening" if opening is None else ":62F:/:62M: closing"
        raise StatementError(
            source, f"{where}: no {missing} balance (file truncated?); nothing was booked from this file"
        )
    txns = [_transaction(t, k, source, (account, ref, number, opening[1])) for k, t in enumerate(stmt)]
    total = sum((t.signed_amount for t in txns), ZERO)
    if opening[0] + total != closing[0]:
        raise StatementError(
            source,
            f"{where} does not add up: opening {format_amount(opening[0])} + lines {format_amount(total)} = "
            f"{format_amount(opening[0] + total)}, but the closing balance is {format_amount(closing[0])}; "
            "nothing was booked from this file",
        )
    return Mt940Statement(ref, account, number, opening[1], opening[0], closing[0], tuple(txns))


def _classify(code: str, direction: str, details: str) -> str:
    upper = code.upper()
    if upper in {"NCHG", "FCHG", "SCHG"} or "CHARGE" in details.upper() or "手续费" in details:
        return "fee"
    if upper in {"NINT", "FINT", "SINT"} or "利息" in details:
        return "interest"
    return "receipt" if direction == CREDIT else "payment"


def _transaction(t: Any, k: int, source: str, stmt: tuple[str, str, str, str]) -> BankTransaction:
    account, stmt_ref, number, stmt_ccy = stmt
    d = t.data
    mark = str(d.get("status") or "")
    if mark not in {"C", "D", "RC", "RD"}:
        raise StatementError(
            source, f"statement {stmt_ref}, line {k + 1}: debit/credit mark {mark!r} unknown"
        )
    direction = CREDIT if mark in {"C", "RD"} else DEBIT
    amount = abs(Decimal(d["amount"].amount))
    currency = str(d.get("currency") or stmt_ccy)
    details = str(d.get("transaction_details") or "")
    dutch = parse_structured_86(details)
    cust_ref = str(d.get("customer_reference") or "")
    refs = [
        r
        for r in (
            cust_ref if cust_ref.upper() != "NONREF" else "",
            dutch.get("EREF", ""),
            str(d.get("end_to_end_reference") or ""),
            str(d.get("additional_position_reference") or ""),
        )
        if r and r.upper() not in {"NOTPROVIDED", "NONREF"}
    ]
    remittance = dutch.get("REMI") or str(d.get("purpose") or "") or details
    payer = dutch.get("NAME") or str(d.get("applicant_name") or "")
    payer_acct = dutch.get("IBAN") or str(d.get("applicant_iban") or d.get("gvc_applicant_iban") or "")
    bank_ref = str(d.get("bank_reference") or "")
    booking_raw = d.get("entry_date") or d.get("guessed_entry_date") or d.get("date")
    value_raw = d.get("date")
    booking = dt.date(booking_raw.year, booking_raw.month, booking_raw.day)
    value = dt.date(value_raw.year, value_raw.month, value_raw.day) if value_raw else None
    code = str(d.get("id") or "")
    raw = {key: str(val) for key, val in d.items() if val is not None and key != "amount"}
    raw["amount"] = str(amount)
    return BankTransaction(
        id=stable_id(
            "mt940", account, bank_ref, stmt_ref, number, k if not bank_ref else "", booking, amount, mark
        ),
        format="mt940",
        account=account,
        direction=direction,
        amount=amount,
        currency=currency,
        booking_date=booking,
        value_date=value,
        payer_name=payer,
        payer_account=payer_acct,
        references=tuple(dict.fromkeys(refs)),
        remittance=remittance,
        bank_code=code,
        reversal=mark in {"RC", "RD"},
        kind=_classify(code, direction, details),
        statement_id=f"{stmt_ref}/{number}" if number else stmt_ref,
        source_file=source,
        raw=raw,
    )
