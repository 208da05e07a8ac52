"""Which fields of the CRM's records the read model uses, and which records count.

Tenants rename and add fields (``__c``), so every field name is configurable; the defaults
are Fxiaoke's API names. One counting rule serves every feature that reads the CRM outside
a sync (reports, reminders, credit, reconciliation, write-back) and matches the shipped
mappings (``when: life_status == 'normal'``): a record counts when it is not deleted and its
``life_status`` is one of ``statuses``.

Records arrive as versions (an edit, a void, a delete is a newer copy of the same ``_id``);
the latest version read decides, as it does for the vouchers: a version that no longer counts
(作废 invalid, deleted, 未生效) takes the record out of every report, and one whose status is
in ``held_statuses`` (变更中 in_change: a change of an approved record waits for approval)
leaves the last version that counted as it was, exactly as the shipped mappings'
``hold_when`` leaves its posted voucher alone. A record under review (审核中) that never
counted does not count yet.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["CrmFields"]


@dataclass(frozen=True, slots=True)
class CrmFields:
    """Field names the read model reads, and the statuses that count."""

    payment_stream: str = "PaymentObj"
    order_stream: str = "SalesOrderObj"
    id: str = "_id"
    order_number: str = "name"
    order_amount: str = "order_amount"
    order_date: str = "order_time"
    order_customer: str = "account_id__r"
    #: a date field holding the due date (e.g. ``due_date__c``); empty = order date + terms
    order_due_date: str = ""
    payment_terms_days: int = 30
    payment_number: str = "name"
    payment_amount: str = "payment_amount"
    payment_date: str = "payment_time"
    payment_method: str = "payment_term"
    payment_customer: str = "account_id__r"
    payment_order_id: str = "order_id"
    payment_order_number: str = "order_id__r"
    refund_stream: str = "RefundObj"
    refund_number: str = "name"
    refund_amount: str = "refunded_amount"
    refund_date: str = "refunded_time"
    refund_method: str = "refunded_method"
    refund_customer: str = "account_id__r"
    refund_order_id: str = "order_id"
    #: a payment field with the payer's bank account, if the tenant has one
    payer_account: str = ""
    #: AccountObj field with the credit limit (e.g. ``credit_limit__c``); empty = none in CRM
    credit_limit: str = ""
    status_field: str = "life_status"
    statuses: tuple[str, ...] = ("normal",)
    #: statuses whose version leaves the last counted version in place (a change awaiting approval)
    held_statuses: tuple[str, ...] = ("in_change",)
    #: values of ``excluded_field`` that never count, whatever the status (reconcile's
    #: older ``voided_field``/``voided_values`` keys)
    excluded_field: str = ""
    excluded_values: tuple[str, ...] = ()
    #: 回款方式 option value -> label; select fields carry per-tenant option values ("1")
    method_labels: tuple[tuple[str, str], ...] = ()
    #: employee id -> name for 负责人 when records carry no ``owner__r`` label
    employee_names: tuple[tuple[str, str], ...] = ()

    def counts(self, record: Mapping[str, Any]) -> bool:
        """Whether ``record`` takes part: not deleted, a status that counts, not excluded."""
        if record.get("is_deleted") is True:
            return False
        if self.excluded_field and str(record.get(self.excluded_field, "")) in self.excluded_values:
            return False
        return str(record.get(self.status_field, "normal")) in self.statuses

    def held(self, record: Mapping[str, Any]) -> bool:
        """Whether this version waits for approval: the last version that counted still stands."""
        if record.get("is_deleted") is True:
            return False
        status = str(record.get(self.status_field, "normal"))
        return status in self.held_statuses and status not in self.statuses
