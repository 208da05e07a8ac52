"""SWIFT MT940 statements through the ``mt-940`` package, one statement at a time.

``mt940.parse`` merges the statements of a multi-statement file and keeps only the last
balances, so ``parse_statements`` is used and each statement is checked on its own:
opening (:60F:/:60M:) + lines (:61:) = closing (:62F:/:62M:). ``RC`` (reversal of a credit)
moves money out and ``RD`` (reversal of a debit) moves it in; the package leaves their
amounts unsigned by default, so direction comes from the mark, never from the sign.
``:86:`` is read in the two structured layouts met in practice (German ``?nn`` via the
package's processor, Dutch ``/EREF/…/REMI/…``) and otherwise kept as free text.

Two variants of the real world are read too. An MT942 (interim transaction report: a floor
limit ``:34F:`` and a date-time ``:13D:``, no booked balances) has no opening and closing to
check; its ``:90D:``/``:90C:`` (number and sum of debit and credit entries), when present,
must match its lines, and its lines are *not booked* unless the source says
``book_interim: true`` (the end-of-day MT940 books them). A ``:61:`` whose customer reference
is longer than SWIFT's 16 characters and whose supplementary details wrap onto the next line
(ASN Bank puts the counterparty IBAN there) is read with the package's ASN layout, but only
when the standard layout cannot read the file and the other one reads every line; the
balances are checked the same.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any

from sync.banking import CREDIT, DEBIT, BankTransaction, StatementError, stable_id
from sync.money import ZERO, format_amount

__all__ = ["Mt940Statement", "parse_mt940", "parse_structured_86"]

_DUTCH_KEYS = ("EREF", "REMI", "NAME", "IBAN", "BIC", "ORDP", "BENM", "MARF", "CSID", "PREF", "TRCD", "ADDR")
_DUTCH = re.compile(r"/(" + "|".join(_DUTCH_KEYS) + r")/")


@dataclass(frozen=True)
class Mt940Statement:
    """One MT940 statement (or MT942 report) as read, before its lines become BankTransactions."""

    reference: str
    account: str
    number: str
    currency: str
    #: None for an interim report (MT942), which states no booked balances
    opening: Decimal | None
    closing: Decimal | None
    transactions: tuple[BankTransaction, ...]
    #: an MT942 interim report
    interim: bool = False
    #: lines of an interim report left unbooked (``book_interim`` off)
    not_booked: int = 0


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


def parse_mt940(data: bytes, source: str, *, book_interim: bool = False) -> list[Mt940Statement]:
    """Every statement in an MT940 file, each with its balances checked (MT942: its totals)."""
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
        statements = _parse(text, wrapped=False)
    except Exception as exc:  # the package raises bare exceptions of many kinds on malformed input
        problem = f"malformed MT940 ({type(exc).__name__}: {_first_line(exc)}); nothing was booked from it"
        statements = None
    if statements is not None and _lines_in(text) == sum(len(stmt) for stmt in statements):
        out = [_statement(stmt, i, source, book_interim) for i, stmt in enumerate(statements)]
    else:  # the standard layout cannot read every :61:: the wrapped one, or the first reason
        wrapped = _wrapped_layout(text, source, book_interim)
        if wrapped is not None:
            out = wrapped
        elif statements is None:
            raise StatementError(source, problem)
        else:  # read, but lines went missing: say how many
            out = [_statement(stmt, i, source, book_interim) for i, stmt in enumerate(statements)]
            _check_line_count(text, out, source)
    if not out:
        raise StatementError(source, "MT940 file holds no statement")
    return out


def _first_line(exc: Exception) -> str:
    return str(exc).splitlines()[0][:300] if str(exc) else ""


def _parse(text: str, *, wrapped: bool) -> list[Any]:
    import mt940
    from mt940.tags import StatementASNB

    return list(mt940.parse_statements(text, tags={61: StatementASNB()} if wrapped else None))


def _lines_in(text: str) -> int:
    return len(re.findall(r"(?m)^:61:", text))


def _wrapped_layout(text: str, source: str, book_interim: bool) -> list[Mt940Statement] | None:
    """The file read with the wrapped :61: layout if that reads every line (else None); its
    statements are then checked like any other (a wrong balance is refused as such)."""
    try:
        statements = _parse(text, wrapped=True)
    except Exception:  # not this layout either: the first error is reported
        return None
    if _lines_in(text) != sum(len(stmt) for stmt in statements):
        return None
    return [_statement(stmt, i, source, book_interim) for i, stmt in enumerate(statements)]


def _is_gb(data: bytes) -> bool:
    try:
        data.decode("gb18030")
    except UnicodeDecodeError:
        return False
    return True


def _check_line_count(text: str, statements: list[Mt940Statement], source: str) -> None:
    """Every ``:61:`` in the file must have become a transaction (the package skips what it can't read)."""
    expected = _lines_in(text)
    got = sum(len(s.transactions) + s.not_booked for s in statements)
    if expected != got:
        raise StatementError(
            source,
            f"{expected} :61: statement lines in the file but {got} could be read; "
            "a line is malformed, nothing was booked from this file",
        )


def _is_interim(stmt: Any) -> bool:
    """An MT942: a floor limit or a date-time indication, and no booked balances."""
    marks = any(stmt.data.get(k) is not None for k in ("d_floor_limit", "c_floor_limit", "floor_limit"))
    return marks and _balance(stmt, "opening") is None and _balance(stmt, "closing") is None


def _statement(stmt: Any, index: int, source: str, book_interim: bool = False) -> Mt940Statement:
    ref = str(stmt.data.get("transaction_reference") or "")
    account = str(stmt.data.get("account_identification") or "")
    number = "/".join(str(stmt.data[k]) for k in ("statement_number", "sequence_number") if stmt.data.get(k))
    where = f"statement {index + 1} ({ref or 'no :20:'}, account {account or '?'})"
    if not account:
        raise StatementError(source, f"{where}: no :25: account identification")
    if _is_interim(stmt):
        return _interim(stmt, where, source, (ref, account, number), book_interim)
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


def _interim(
    stmt: Any, where: str, source: str, ids: tuple[str, str, str], book_interim: bool
) -> Mt940Statement:
    """An MT942 report: its :90D:/:90C: checked against its lines; booked only when asked."""
    ref, account, number = ids
    limit = stmt.data.get("d_floor_limit") or stmt.data.get("c_floor_limit") or stmt.data.get("floor_limit")
    currency = str(stmt.data.get("currency") or getattr(limit, "currency", "") or "")
    txns = [_transaction(t, k, source, (account, ref, number, currency)) for k, t in enumerate(stmt)]
    for tag, direction in (("sum_debit_entries", DEBIT), ("sum_credit_entries", CREDIT)):
        stated = stmt.data.get(tag)
        if stated is None:
            continue
        lines = [t for t in txns if t.direction == direction]
        count = str(getattr(stated, "number", "") or "")
        total = abs(Decimal(stated.amount))
        got = sum((t.amount for t in lines), ZERO)
        if (count and int(count) != len(lines)) or got != total:
            label = ":90D: debit" if direction == DEBIT else ":90C: credit"
            raise StatementError(
                source,
                f"{where}, an MT942 interim report: {label} entries stated as {count or '?'} for "
                f"{format_amount(total)}, but its lines hold {len(lines)} for {format_amount(got)}; "
                "nothing was booked from this file",
            )
    if not book_interim:
        return Mt940Statement(
            ref, account, number, currency, None, None, (), interim=True, not_booked=len(txns)
        )
    noted = tuple(replace(t, raw={**t.raw, "report": "MT942 interim (book_interim)"}) for t in txns)
    return Mt940Statement(ref, account, number, currency, None, None, noted, interim=True)


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
