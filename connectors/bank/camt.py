"""ISO 20022 camt.052 (account report), camt.053 (statement) and camt.054 (debit/credit
notification), versions .001.02-.08.

The namespace decides the message and version; elements are read by local name under
that namespace, covering the differences between versions the spec lists (``Sts`` as a
code or a choice, ``Dbtr/Nm`` or ``Dbtr/Pty/Nm``, ``TxDtls/Amt`` or
``AmtDtls/TxAmt/Amt``). Only booked entries are emitted: a pending (PDNG) or
information-only (INFO) entry is not money on the account yet and is left for the
statement that books it. A whole file parses, and its balances check, before any record
leaves it: a file that does not add up books nothing.

A camt.052 is an intraday (interim) report: its balances are checked when it states both an
opening and a closing booked balance (none is demanded, the format allows none), its
``TxsSummry`` when it states one, and its entries are not booked unless the source says
``book_interim: true`` (the day's camt.053 books them).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Final
from xml.etree.ElementTree import Element

from connectors.bank.xmlsafe import parse_xml
from sync.banking import CREDIT, DEBIT, BankTransaction, StatementError, stable_id
from sync.money import ZERO, MoneyError, format_amount, parse_amount

__all__ = ["SUPPORTED_VERSIONS", "CamtStatement", "parse_camt"]

SUPPORTED_VERSIONS: Final = ("02", "03", "04", "05", "06", "07", "08")
_NS = re.compile(r"^\{urn:iso:std:iso:20022:tech:xsd:camt\.(05[234])\.001\.(\d\d)\}Document$")
_ROOTS: Final = {
    "052": ("BkToCstmrAcctRpt", "Rpt"),
    "053": ("BkToCstmrStmt", "Stmt"),
    "054": ("BkToCstmrDbtCdtNtfctn", "Ntfctn"),
}


@dataclass(frozen=True)
class CamtStatement:
    """One ``Stmt`` / ``Ntfctn`` with its booked transactions and the balances that were checked."""

    id: str
    account: str
    currency: str
    opening: Decimal | None
    closing: Decimal | None
    transactions: tuple[BankTransaction, ...]
    skipped_pending: int
    #: booked entries of an interim report (camt.052) left unbooked (``book_interim`` off)
    not_booked: int = 0


def _strip_namespace(root: Element) -> None:
    """Local names only, once the root's namespace has been checked: lookups stay cheap."""
    for el in root.iter():
        if el.tag[:1] == "{":
            el.tag = el.tag.split("}", 1)[1]


class _Reader:
    """Lookups by local name (the namespace was checked on the root and stripped)."""

    def __init__(self, source: str) -> None:
        self.source = source

    def find(self, el: Element | None, path: str) -> Element | None:
        return None if el is None else el.find(path)

    def findall(self, el: Element | None, path: str) -> list[Element]:
        return [] if el is None else el.findall(path)

    def text(self, el: Element | None, *paths: str) -> str:
        """Text of the first of ``paths`` that exists and is not blank."""
        for path in paths:
            node = self.find(el, path)
            if node is not None and node.text and node.text.strip():
                return node.text.strip()
        return ""

    def amount(self, el: Element | None, path: str, what: str) -> tuple[Decimal, str] | None:
        node = self.find(el, path)
        if node is None:
            return None
        try:
            value = parse_amount(node.text or "", field=what)
        except MoneyError as exc:
            raise StatementError(self.source, str(exc)) from None
        if value < ZERO:
            raise StatementError(
                self.source,
                f"{what}: negative amount {value}; camt amounts are never "
                "negative (direction comes from CdtDbtInd)",
            )
        return value, node.get("Ccy", "")

    def date(self, el: Element | None, path: str) -> dt.date | None:
        raw = self.text(el, f"{path}/Dt", f"{path}/DtTm")
        if not raw:
            return None
        try:
            return dt.date.fromisoformat(raw[:10])
        except ValueError:
            raise StatementError(self.source, f"{path}: {raw!r} is not a date") from None


def parse_camt(
    data: bytes, source: str, expect: str | None = None, *, book_interim: bool = False
) -> list[CamtStatement]:
    """Every statement in a camt.052/.053/.054 file; ``expect`` ('052'/'053'/'054') refuses another kind."""
    root = parse_xml(data, source)
    match = _NS.match(root.tag)
    if match is None:
        raise StatementError(
            source,
            f"root element {root.tag!r} is not a camt.052/053/054 Document in a supported version "
            "(namespace urn:iso:std:iso:20022:tech:xsd:camt.05x.001.NN, x = 2, 3 or 4, NN = "
            f"{', '.join(SUPPORTED_VERSIONS)}); "
            "nothing was booked from it",
        )
    kind, version = match.group(1), match.group(2)
    if version not in SUPPORTED_VERSIONS:
        raise StatementError(
            source, f"camt.{kind}.001.{version} is not supported (supported: .001.02 to .001.08)"
        )
    if expect and kind != expect:
        raise StatementError(
            source, f"this is a camt.{kind} file but the source is configured as camt{expect}"
        )
    _strip_namespace(root)
    rd = _Reader(source)
    group_name, stmt_name = _ROOTS[kind]
    group = rd.find(root, group_name)
    if group is None:
        raise StatementError(source, f"camt.{kind} file without {group_name}")
    statements = [_statement(rd, st, kind, version) for st in rd.findall(group, stmt_name)]
    if kind == "052" and not book_interim:
        statements = [replace(s, transactions=(), not_booked=len(s.transactions)) for s in statements]
    elif kind == "052":
        statements = [
            replace(
                s,
                transactions=tuple(
                    replace(t, raw={**t.raw, "report": "camt.052 interim (book_interim)"})
                    for t in s.transactions
                ),
            )
            for s in statements
        ]
    if not statements:
        raise StatementError(source, f"camt.{kind} file holds no {stmt_name}")
    return statements


def _balance(rd: _Reader, stmt: Element, codes: tuple[str, ...]) -> Decimal | None:
    for code in codes:
        for bal in rd.findall(stmt, "Bal"):
            if rd.text(bal, "Tp/CdOrPrtry/Cd", "Tp/CdOrPrtry/Prtry") == code:
                found = rd.amount(bal, "Amt", f"Bal {code}")
                if found is None:
                    raise StatementError(rd.source, f"balance {code} without Amt")
                sign = rd.text(bal, "CdtDbtInd")
                return -found[0] if sign == "DBIT" else found[0]
    return None


def _statement(rd: _Reader, stmt: Element, kind: str, version: str) -> CamtStatement:
    stmt_id = rd.text(stmt, "Id")
    account = rd.text(stmt, "Acct/Id/IBAN", "Acct/Id/Othr/Id")
    if not account:
        raise StatementError(rd.source, f"statement {stmt_id!r} has no account (Acct/Id)")
    currency = rd.text(stmt, "Acct/Ccy")
    opening = _balance(rd, stmt, ("OPBD", "PRCD"))
    closing = _balance(rd, stmt, ("CLBD",))
    txns: list[BankTransaction] = []
    pending = 0
    for n, entry in enumerate(rd.findall(stmt, "Ntry")):
        status = rd.text(entry, "Sts/Cd", "Sts")
        if status not in {"BOOK", "PDNG", "INFO"}:
            raise StatementError(rd.source, f"statement {stmt_id}, entry {n + 1}: unknown status {status!r}")
        if status != "BOOK":
            pending += 1
            continue
        txns.extend(_entry(rd, entry, n, (kind, stmt_id, account, currency)))
    if kind == "053" or (kind == "052" and opening is not None and closing is not None):
        _check_balances(rd, f"{stmt_id} ({account})", (opening, closing), txns)
    else:
        _check_summary(rd, stmt, stmt_id)
    ccy = currency or (txns[0].currency if txns else "")
    return CamtStatement(stmt_id, account, ccy, opening, closing, tuple(txns), pending)


def _check_balances(
    rd: _Reader, stmt_id: str, balances: tuple[Decimal | None, Decimal | None], txns: list[BankTransaction]
) -> None:
    opening, closing = balances
    if opening is None or closing is None:
        missing = "OPBD (opening booked)" if opening is None else "CLBD (closing booked)"
        raise StatementError(
            rd.source,
            f"statement {stmt_id} has no {missing} balance, so "
            "its completeness cannot be checked; nothing was booked from this file",
        )
    total = sum((t.signed_amount for t in txns), ZERO)
    if opening + total != closing:
        raise StatementError(
            rd.source,
            f"statement {stmt_id} does not add up: opening {format_amount(opening)} + entries "
            f"{format_amount(total)} = {format_amount(opening + total)}, but the closing balance is "
            f"{format_amount(closing)} (difference {format_amount(closing - opening - total)}); "
            "entries are missing or wrong, nothing was booked from this file",
        )


def _check_summary(rd: _Reader, stmt: Element, stmt_id: str) -> None:
    """camt.054 has no balances; when it states its totals (TxsSummry), every entry it holds
    (booked or not, as the summary counts them) must add up to them."""
    count = rd.text(stmt, "TxsSummry/TtlNtries/NbOfNtries")
    total = rd.amount(stmt, "TxsSummry/TtlNtries/Sum", "TxsSummry Sum")
    entries = rd.findall(stmt, "Ntry")
    if count and (not count.isdigit() or int(count) != len(entries)):
        raise StatementError(
            rd.source,
            f"notification {stmt_id} says {count} entries but holds {len(entries)}; "
            "nothing was booked from this file",
        )
    if total is not None:
        found = sum(((rd.amount(e, "Amt", "Ntry Amt") or (ZERO, ""))[0] for e in entries), ZERO)
        if found != total[0]:
            raise StatementError(
                rd.source,
                f"notification {stmt_id}: entries sum to {format_amount(found)} but TxsSummry says "
                f"{format_amount(total[0])}; nothing was booked from this file",
            )


def _classify(domain: str, family: str, sub: str, proprietary: str, direction: str) -> str:
    codes = {domain, family, sub}
    if "CHRG" in codes or "FEES" in codes or proprietary.upper() in {"CHRG", "FEE", "NCHG"}:
        return "fee"
    if "INTR" in codes:
        return "interest"
    if family in {"RCDT", "RRCT", "RDDT", "RCHQ", "RCCN"}:
        return "receipt"
    if family in {"ICDT", "IRCT", "IDDT", "ICHQ"}:
        return "payment"
    return "receipt" if direction == CREDIT else "payment"


@dataclass(frozen=True)
class _Part:
    """One transaction detail's share of a batch entry."""

    index: int
    amount: Decimal
    currency: str
    indicator: str


def _entry(
    rd: _Reader, entry: Element, index: int, stmt: tuple[str, str, str, str]
) -> Iterator[BankTransaction]:
    """The booked entry as one transaction, or one per transaction detail of a batch."""
    kind, stmt_id, account, stmt_ccy = stmt
    where = f"statement {stmt_id}, entry {index + 1}"
    amt = rd.amount(entry, "Amt", f"{where} Amt")
    if amt is None:
        raise StatementError(rd.source, f"{where}: no Amt")
    amount, ccy = amt
    indicator = rd.text(entry, "CdtDbtInd")
    if indicator not in {"CRDT", "DBIT"}:
        raise StatementError(rd.source, f"{where}: CdtDbtInd {indicator!r} is neither CRDT nor DBIT")
    direction = CREDIT if indicator == "CRDT" else DEBIT
    reversal = rd.text(entry, "RvslInd").lower() in {"true", "1"}
    booked_on = rd.date(entry, "BookgDt")
    booking = booked_on or rd.date(entry, "ValDt")
    if booking is None:
        raise StatementError(rd.source, f"{where}: booked entry without BookgDt or ValDt")
    entry_ref = rd.text(entry, "AcctSvcrRef")
    ntry_ref = rd.text(entry, "NtryRef")
    codes = _codes(rd, entry)
    base = BankTransaction(
        id=stable_id(
            f"camt{kind}",
            account,
            entry_ref,
            ntry_ref,
            booking,
            amount,
            indicator,
            reversal,
            "" if entry_ref else f"{stmt_id}#{index}",
        ),
        format=f"camt{kind}",
        account=account,
        direction=direction,
        amount=amount,
        currency=ccy or stmt_ccy,
        booking_date=booking,
        value_date=rd.date(entry, "ValDt"),
        remittance=rd.text(entry, "AddtlNtryInf"),
        bank_code=_code_text(codes),
        reversal=reversal,
        kind=_classify(*codes, direction),
        statement_id=stmt_id,
        source_file=rd.source,
        references=tuple(r for r in (ntry_ref,) if r),
        raw={
            "entry": f"{stmt_id}#{index + 1}",
            "entry_amount": str(amount),
            "entry_ref": entry_ref or ntry_ref,
            "version": kind,
            "batch_txs": rd.text(entry, "NtryDtls/Btch/NbOfTxs"),
            **({} if booked_on else {"booking_date_from": "ValDt: the entry has no BookgDt"}),
        },
    )
    details = rd.findall(entry, "NtryDtls/TxDtls")
    if not details:
        yield base
        return
    found = [_part(rd, tx, k, base=base, indicator=indicator, where=where) for k, tx in enumerate(details)]
    parts = [p for p in found if p is not None]
    signed = sum((p.amount if p.indicator == "CRDT" else -p.amount for p in parts), ZERO)
    if len(parts) == len(details) and signed == base.signed_amount:
        for tx, part in zip(details, parts, strict=True):
            yield _detail(rd, tx, base, part)  # a batch whose details add up: one line each
        return
    if len(details) == 1 and not parts:  # one detail without an amount: it is the entry's
        yield _detail(rd, details[0], base, _Part(0, base.amount, base.currency, indicator))
        return
    # the details do not say how the entry splits (no amounts, or amounts that do not add up):
    # what the bank booked is the entry, so it is one transaction of the entry amount
    if len(parts) < len(details):
        why = f"{len(details) - len(parts)} of {len(details)} transaction details carry no amount"
    else:
        why = f"the transaction details sum to {format_amount(abs(signed))}, the entry to "
        why += format_amount(amount)
    yield _whole(rd, details, base, indicator, f"{why}: booked as one transaction of the entry amount")


def _codes(rd: _Reader, el: Element) -> tuple[str, str, str, str]:
    return (
        rd.text(el, "BkTxCd/Domn/Cd"),
        rd.text(el, "BkTxCd/Domn/Fmly/Cd"),
        rd.text(el, "BkTxCd/Domn/Fmly/SubFmlyCd"),
        rd.text(el, "BkTxCd/Prtry/Cd"),
    )


def _code_text(codes: tuple[str, str, str, str]) -> str:
    return "/".join(c for c in codes[:3] if c) or codes[3]


def _part(
    rd: _Reader, tx: Element, k: int, *, base: BankTransaction, indicator: str, where: str
) -> _Part | None:
    """The detail's own amount (``Amt``, else ``AmtDtls/TxAmt``); None when it has none (or 0.00)."""
    found = rd.amount(tx, "Amt", f"{where} TxDtls {k + 1} Amt") or rd.amount(
        tx, "AmtDtls/TxAmt/Amt", f"{where} TxDtls {k + 1} TxAmt"
    )
    if found is None or not found[0]:
        return None
    return _Part(k, found[0], found[1] or base.currency, rd.text(tx, "CdtDbtInd") or indicator)


def _whole(
    rd: _Reader, details: list[Element], base: BankTransaction, indicator: str, note: str
) -> BankTransaction:
    """The entry as one transaction, with what its details tell: references, remittance, and the
    party when every detail names the same one (never a guess between several)."""
    whole = _Part(0, base.amount, base.currency, indicator)
    lines = [_detail(rd, tx, base, whole) for tx in details]
    parties = {(t.payer_name, t.payer_account) for t in lines}
    name, account = parties.pop() if len(parties) == 1 else ("", "")
    first = lines[0]
    return replace(
        first,
        id=base.id,
        payer_name=name,
        payer_account=account,
        references=tuple(dict.fromkeys(r for t in lines for r in t.references)),
        remittance=" ".join(dict.fromkeys(t.remittance for t in lines if t.remittance)),
        raw=dict(base.raw, tx_details=str(len(details)), not_split=note),
    )


_REF_PATHS = (
    "RmtInf/Strd/CdtrRefInf/Ref",
    "Refs/EndToEndId",
    "RmtInf/Strd/RfrdDocInf/Nb",
    "Refs/InstrId",
    "Refs/TxId",
    "Refs/PmtInfId",
    "Refs/UETR",
)


def _texts(rd: _Reader, tx: Element, path: str) -> list[str]:
    return [n.text.strip() for n in rd.findall(tx, path) if n.text and n.text.strip()]


def _detail(rd: _Reader, tx: Element, base: BankTransaction, part: _Part) -> BankTransaction:
    direction = CREDIT if part.indicator == "CRDT" else DEBIT
    party, acct = ("Dbtr", "DbtrAcct") if direction == CREDIT else ("Cdtr", "CdtrAcct")
    name = rd.text(
        tx,
        f"RltdPties/{party}/Nm",
        f"RltdPties/{party}/Pty/Nm",
        f"RltdPties/Ultmt{party}/Nm",
        f"RltdPties/Ultmt{party}/Pty/Nm",
    )
    payer_acct = rd.text(tx, f"RltdPties/{acct}/Id/IBAN", f"RltdPties/{acct}/Id/Othr/Id")
    tx_ref = rd.text(tx, "Refs/AcctSvcrRef")
    refs = [r for path in _REF_PATHS for r in _texts(rd, tx, path) if r != "NOTPROVIDED"]
    remittance = " ".join(
        _texts(rd, tx, "RmtInf/Ustrd")
        + _texts(rd, tx, "RmtInf/Strd/AddtlRmtInf")
        + [t for t in (rd.text(tx, "AddtlTxInf"), base.remittance) if t]
    )
    own = _codes(rd, tx)
    codes = own if own[0] or own[3] else None  # a detail without BkTxCd inherits the entry's
    return replace(
        base,
        id=stable_id(base.id, part.index, tx_ref),
        direction=direction,
        amount=part.amount,
        currency=part.currency,
        payer_name=name,
        payer_account=payer_acct,
        references=tuple(dict.fromkeys(refs)),
        remittance=remittance,
        bank_code=_code_text(codes) if codes else base.bank_code,
        kind=_classify(*codes, direction) if codes else base.kind,
        raw=dict(
            base.raw, tx_index=str(part.index + 1), tx_ref=tx_ref, end_to_end=rd.text(tx, "Refs/EndToEndId")
        ),
    )
