"""The CRM read model: one counting rule for reports, reconciliation and the shipped mappings."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

from sync.crm import CrmFields, load_book
from sync.mapping import MappingSet
from sync.reconcile.config import ReconcileConfig
from sync.reconcile.inputs import crm_from_records
from sync.reports.config import ReportsConfig

REPO = Path(__file__).resolve().parents[2]
#: every life_status Fxiaoke gives a 回款, and a deleted one
LIFE_STATUSES = ("normal", "under_review", "in_change", "invalid", "ineffective")


def _payment(i: int, status: str, *, deleted: bool = False) -> dict[str, Any]:
    return {
        "_id": f"pay{i:021d}",
        "name": f"20261120-{i:06d}",
        "life_status": status,
        "is_deleted": deleted,
        "account_id": "faa711825b846c6b7287728e",
        "account_id__r": "西安秦川软件技术有限公司",
        "payment_time": 1795104000000,  # 2026-11-20 00:00 UTC+8
        "payment_amount": f"{50000 + i}.11",
        "payment_term": "1",
        "order_id": "221b63d91f7937d7b40588fe",
        "order_id__r": "SO-20261101-0001",
    }


def _tenant() -> list[dict[str, Any]]:
    records = [_payment(i, status) for i, status in enumerate(LIFE_STATUSES)]
    records.append(_payment(len(records), "normal", deleted=True))
    return records


def test_reports_and_reconciliation_count_exactly_the_same_payments_under_every_life_status() -> None:
    records = _tenant()
    pairs = [("PaymentObj", r) for r in records]
    reported = set(load_book(pairs, ReportsConfig().fields()).payments)
    matched, _, problems = crm_from_records(pairs, ReconcileConfig().crm_fields.fields())
    assert problems == []
    assert {p.id for p in matched} == reported == {"pay000000000000000000000"}


def test_the_counting_rule_is_the_shipped_payment_mappings_rule() -> None:
    mappings = MappingSet.load(
        [REPO / "mappings" / "fxiaoke-kingdee" / "payment_received.yaml"], base_dir=REPO / "mappings"
    )
    fields = CrmFields()
    for record in _tenant():
        if record["is_deleted"]:
            continue  # a delete reaches the mappings as a void, not as a record to map
        booked = any(r.vouchers for r in mappings.map_record("crm", "PaymentObj", record))
        assert booked == fields.counts(record), record["life_status"]


def test_reconcile_honours_the_reports_statuses_when_it_names_none() -> None:
    pairs = [("PaymentObj", r) for r in _tenant()]
    fields = ReconcileConfig().crm_fields.fields(("normal", "in_change"))
    matched, _, _ = crm_from_records(pairs, fields)
    assert {p.id for p in matched} == {"pay000000000000000000000", "pay000000000000000000002"}


def test_the_hold_rule_is_the_shipped_mappings_rule() -> None:
    fields = CrmFields()
    for name in ("payment_received", "sales_order_confirmed", "refund_paid", "invoice_issued"):
        mapping = MappingSet.load(
            [REPO / "mappings" / "fxiaoke-kingdee" / f"{name}.yaml"], base_dir=REPO / "mappings"
        )
        stream = mapping.mappings[0].stream
        for record in _tenant():
            if record["is_deleted"]:
                continue
            held = any(r.held for r in mapping.map_record("crm", stream, record))
            assert held == fields.held(record), (name, record["life_status"])


def _versions(*statuses: str, amounts: tuple[str, ...] = ()) -> list[tuple[str, dict[str, Any]]]:
    """One payment's versions, oldest first, as the CRM sends an edit, a change or a void."""
    out = []
    for n, status in enumerate(statuses):
        record = _payment(7, status)
        if n < len(amounts):
            record["payment_amount"] = amounts[n]
        out.append(("PaymentObj", record))
    return out


def test_a_newer_void_takes_the_payment_out_of_the_book() -> None:
    book = load_book(_versions("normal", "invalid"), ReportsConfig().fields())
    assert book.payments == {}


def test_a_newer_delete_takes_the_order_out_of_the_book() -> None:
    order = {
        "_id": "221b63d91f7937d7b40588fe",
        "name": "SO-20261101-0001",
        "life_status": "normal",
        "account_id": "faa711825b846c6b7287728e",
        "order_time": 1793548800000,
        "order_amount": "49999.50",
    }
    book = load_book(
        [("SalesOrderObj", order), ("SalesOrderObj", {**order, "is_deleted": True})], ReportsConfig().fields()
    )
    assert book.orders == {}


def test_a_change_awaiting_approval_leaves_the_approved_amount() -> None:
    book = load_book(_versions("normal", "in_change", amounts=("97226.45", "99000.00")), CrmFields())
    assert [p.amount for p in book.payments.values()] == [Decimal("97226.45")]


def test_the_approved_change_replaces_the_amount() -> None:
    versions = _versions("normal", "in_change", "normal", amounts=("97226.45", "99000.00", "99000.00"))
    book = load_book(versions, CrmFields())
    assert [p.amount for p in book.payments.values()] == [Decimal("99000.00")]


def test_a_record_never_approved_does_not_count_while_it_changes() -> None:
    assert load_book(_versions("under_review", "in_change"), CrmFields()).payments == {}
