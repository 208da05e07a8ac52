"""The independent checker: source, state and ERP compared with no help from crmsync's code.

It reads the fake CRM's current records, each fake ERP's stored documents and the state
store's tables with plain SQL (psycopg, no ``sync.*`` import), and derives on its own:

- what the CRM implies per account: for every record that is ``normal`` now, an order debits
  the customer's receivable and credits sales (revenue + output VAT, whose split is the
  mapping's tax rule), a payment debits the bank account of its method and credits the
  customer, a refund the other way round; voided records imply nothing;
- what each ERP holds per account (debit minus credit, customer lines per customer code);
- duplicates: the same external reference stored twice in an ERP, or a source record with
  more than one live voucher;
- missing: a voucher the state says reached the ERP that the ERP does not have, an ERP
  document the state does not know, a ``normal`` record without a live voucher, a voided one
  with one, and anything left pending, sending, failed or quarantined.

After a state was deleted (``state_lost``), the ERP keeps documents the new state never saw:
revisions reversed and voids undone before the loss. Those are not duplicates only if,
together, they net to zero on every account (each one undone by another); anything else is
a duplicate, and the totals against the CRM must still agree to the cent.

SAP's short references are recomputed here from the documented rule (``CS`` + base32 SHA-256,
cut to the field's length; references that fit are kept), not imported.
"""

from __future__ import annotations

import base64
import csv
import hashlib
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

__all__ = ["Finding", "check_destination", "source_totals"]

AMOUNT = {"SalesOrderObj": "order_amount", "PaymentObj": "payment_amount", "RefundObj": "refunded_amount"}
SALES = ("6001", "2221.01.05")


@dataclass
class Finding:
    """What the checker found for one destination."""

    destination: str
    documents: int = 0
    vouchers_in_state: int = 0
    reversals_in_state: int = 0
    live_vouchers: int = 0
    duplicates: int = 0
    missing: int = 0
    unsettled: dict[str, int] = field(default_factory=dict)
    quarantined: int = 0
    problems: list[str] = field(default_factory=list)
    totals_equal: bool = False
    accounts_compared: int = 0
    #: documents from before a state loss, unknown to the new state and netting to zero
    history_before_loss: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if k != "problems"} | {"problems": self.problems[:20]}


def _short(ref: str, length: int) -> str:
    if len(ref) <= length:
        return ref
    return ("CS" + base64.b32encode(hashlib.sha256(ref.encode()).digest()).decode().rstrip("="))[:length]


def _lookup_csv(path: Path, key: str, value: str) -> dict[str, str]:
    with open(path, encoding="utf-8") as fh:
        return {row[key]: row[value] for row in csv.DictReader(fh)}


def source_totals(records: dict[str, list[dict[str, Any]]], lookups: Path) -> dict[str, Decimal]:
    """Debit minus credit per canonical account the current CRM implies (``1122:<customer>``)."""
    customers = _lookup_csv(lookups / "customers.csv", "crm_account_id", "erp_customer_code")
    banks = _lookup_csv(lookups / "bank_accounts.csv", "payment_term", "account")
    totals: dict[str, Decimal] = defaultdict(Decimal)
    for stream, rows in records.items():
        for r in rows:
            if r.get("life_status") != "normal" or AMOUNT[stream] not in r:
                continue
            amount = Decimal(r[AMOUNT[stream]])
            customer = f"1122:{customers.get(r['account_id'], r['account_id'])}"
            if stream == "SalesOrderObj":
                totals[customer] += amount
                totals["sales"] -= amount
            elif stream == "PaymentObj":
                totals[banks.get(str(r.get("payment_term", "")), "1002.01")] += amount
                totals[customer] -= amount
            else:
                totals[customer] += amount
                totals[banks.get(str(r.get("refunded_method", "")), "1002.01")] -= amount
    return {k: v for k, v in totals.items() if v}


# -- what each ERP holds ------------------------------------------------------------------------


def erp_documents(name: str, fake: Any) -> tuple[list[str], dict[str, Decimal]]:
    """(the reference of every stored document, net per canonical account)."""
    refs, by_doc = documents_by_ref(name, fake)
    totals: dict[str, Decimal] = defaultdict(Decimal)
    for net in by_doc:
        for account, amount in net.items():
            totals[account] += amount
    return refs, {k: v for k, v in totals.items() if v}


def documents_by_ref(name: str, fake: Any) -> tuple[list[str], list[dict[str, Decimal]]]:
    """Each stored document's reference and its net per canonical account, in the same order."""
    refs: list[str] = []
    nets: list[dict[str, Decimal]] = []

    def add(account: str, amount: Decimal) -> None:
        nets[-1]["sales" if account in SALES else account] += amount

    if name == "kingdee":
        for v in list(fake.vouchers):
            refs.append(str(v.header.get("FBillNo", "")))
            nets.append(defaultdict(Decimal))
            for e in v.entries:
                account = f"1122:{e.dims.get('FFLEX6', '')}" if e.account == "1122" else e.account
                add(account, e.debit - e.credit)
    elif name == "sap_s4":
        back = {str(v).lstrip("0"): k for k, v in fake_map(name).items() if isinstance(v, str)}
        for doc in list(fake.documents):
            refs.append(doc.reference_id)
            nets.append(defaultdict(Decimal))
            for ln in doc.lines:
                if ln.kind == "DebtorItem":
                    add(f"1122:{ln.customer}", ln.amount)
                else:
                    add(back.get(ln.gl_account.lstrip("0"), f"?{ln.gl_account}"), ln.amount)
    else:
        for entry in list(fake.entries):
            refs.append(entry["Reference"])
            nets.append(defaultdict(Decimal))
            for ln in entry["JournalEntryLines"]:
                partner = ln["ShortName"] != ln["AccountCode"]
                account = f"1122:{ln['ShortName']}" if partner else ln["AccountCode"]
                add(account, Decimal(ln["Debit"]) - Decimal(ln["Credit"]))
    return refs, nets


def _nets_to_zero(docs: list[dict[str, Decimal]]) -> bool:
    total: dict[str, Decimal] = defaultdict(Decimal)
    for net in docs:
        for account, amount in net.items():
            total[account] += amount
    return all(v == 0 for v in total.values())


def fake_map(name: str) -> dict[str, Any]:
    from tests.torture.world import B1_MAP, S4_MAP

    return S4_MAP if name == "sap_s4" else B1_MAP


def erp_ref(name: str, external_ref: str) -> str:
    """How the ERP stores a voucher's reference (Kingdee FBillNo: up to 80; SAP: 16 characters)."""
    return _short(external_ref, 80 if name == "kingdee" else 16)


# -- the state store, with plain SQL --------------------------------------------------------------


def state_rows(pg_url: str, schema: str) -> tuple[list[dict[str, Any]], int]:
    """(every outbox row, open quarantine entries)."""
    import psycopg
    from psycopg.rows import dict_row

    with psycopg.connect(pg_url, row_factory=dict_row) as conn:
        conn.execute(f'SET search_path TO "{schema}"')
        rows = conn.execute(
            "SELECT external_ref, kind, status, source_stream, source_id, reversal_of, erp_id FROM outbox"
        ).fetchall()
        quarantined = conn.execute("SELECT count(*) AS n FROM quarantine WHERE status = 'open'").fetchone()
    return list(rows), int(quarantined["n"] if quarantined else 0)


def check_destination(
    name: str,
    fake: Any,
    pg_url: str,
    schema: str,
    records: dict[str, list[dict[str, Any]]],
    expected: dict[str, Decimal],
    *,
    state_lost: bool = False,
) -> Finding:
    finding = Finding(name)
    refs, held = erp_documents(name, fake)
    _, nets = documents_by_ref(name, fake)
    finding.documents = len(refs)
    rows, finding.quarantined = state_rows(pg_url, schema)
    in_erp = Counter(refs)
    dupes = {r: n for r, n in in_erp.items() if n > 1}
    finding.duplicates += sum(n - 1 for n in dupes.values())
    finding.problems += [f"{name}: reference {r} stored {n} times" for r, n in list(dupes.items())[:5]]

    reached = {erp_ref(name, r["external_ref"]): r for r in rows if r["status"] in ("posted", "reversed")}
    finding.vouchers_in_state = sum(1 for r in rows if r["kind"] == "voucher")
    finding.reversals_in_state = sum(1 for r in rows if r["kind"] == "reversal")
    lost = [ref for ref in reached if ref not in in_erp]
    unknown = [ref for ref in in_erp if ref not in reached]
    finding.missing += len(lost)
    if state_lost and unknown and _nets_to_zero([nets[i] for i, r in enumerate(refs) if r not in reached]):
        finding.history_before_loss = len(unknown)
        unknown = []
    finding.duplicates += len(unknown)  # in the ERP but not recorded: a resend would post it twice
    finding.problems += [f"{name}: state says posted, ERP lacks {r}" for r in lost[:5]]
    finding.problems += [f"{name}: ERP holds {r}, unknown to the state" for r in unknown[:5]]
    finding.unsettled = dict(
        Counter(r["status"] for r in rows if r["status"] not in ("posted", "reversed", "superseded"))
    )
    finding.missing += sum(finding.unsettled.values()) + finding.quarantined

    # every record that is normal now has exactly one live voucher; a voided one has none
    reversed_refs = {r["reversal_of"] for r in rows if r["kind"] == "reversal" and r["status"] == "posted"}
    live: Counter[tuple[str, str]] = Counter(
        (r["source_stream"], r["source_id"])
        for r in rows
        if r["kind"] == "voucher" and r["status"] == "posted" and r["external_ref"] not in reversed_refs
    )
    finding.live_vouchers = sum(live.values())
    for stream, recs in records.items():
        for rec in recs:
            n = live.get((stream, rec["_id"]), 0)
            want = 1 if rec.get("life_status") == "normal" and AMOUNT[stream] in rec else 0
            if n < want:
                finding.missing += 1
                finding.problems.append(f"{name}: {stream} {rec['_id']} has no live voucher")
            elif n > want:
                finding.duplicates += n - want
                finding.problems.append(f"{name}: {stream} {rec['_id']} has {n} live vouchers, wants {want}")

    finding.accounts_compared = len(set(held) | set(expected))
    finding.totals_equal = held == expected
    if not finding.totals_equal:
        diff = {
            k: str(held.get(k, Decimal(0)) - expected.get(k, Decimal(0)))
            for k in set(held) | set(expected)
            if held.get(k, Decimal(0)) != expected.get(k, Decimal(0))
        }
        finding.problems.append(f"{name}: totals differ (ERP - source) {dict(list(diff.items())[:8])}")
    return finding
