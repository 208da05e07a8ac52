"""JSON schemas ``discover`` announces: the Fxiaoke query API's record shapes.

Amounts are strings (``"1130.00"``), times epoch milliseconds, lookups ``_id`` strings with a
``__r`` display label beside them (docs/specs/fxiaoke.md §3). Every schema allows other
properties: field names are tenant-configurable and custom fields end in ``__c``.
"""

from __future__ import annotations

from typing import Any, Final

__all__ = ["schema_for"]

_S: Final = {"type": ["null", "string"]}
_MS: Final = {"type": ["null", "integer"], "description": "epoch milliseconds"}
_AMOUNT: Final = {"type": ["null", "string"], "description": 'decimal string, e.g. "1130.00"'}
_LIST: Final = {"type": ["null", "array"], "items": {"type": "string"}}

_ENVELOPE: Final[dict[str, Any]] = {
    "_id": {"type": "string"},
    "name": _S,
    "owner": _LIST,
    "created_by": _LIST,
    "last_modified_by": _LIST,
    "create_time": _MS,
    "last_modified_time": _MS,
    "life_status": _S,
    "lock_status": _S,
    "is_deleted": {"type": ["null", "boolean"]},
    "version": _S,
    "record_type": _S,
    "remark": _S,
}

_OBJECTS: Final[dict[str, dict[str, Any]]] = {
    "AccountObj": {
        "account_no": _S,
        "account_type": _S,
        "account_level": _S,
        "tel": _S,
        "email": _S,
        "address": _S,
    },
    "SalesOrderObj": {
        "account_id": _S,
        "account_id__r": _S,
        "order_time": _MS,
        "order_amount": _AMOUNT,
        "discount": _S,
        "delivery_date": _MS,
        "order_status": _S,
    },
    "SalesOrderProductObj": {
        "order_id": _S,
        "product_id": _S,
        "product_id__r": _S,
        "quantity": _S,
        "sales_price": _AMOUNT,
        "subtotal": _AMOUNT,
    },
    "PaymentObj": {
        "account_id": _S,
        "account_id__r": _S,
        "order_id": _S,
        "order_id__r": _S,
        "payment_time": _MS,
        "payment_amount": _AMOUNT,
        "payment_term": _S,
        "finance_confirm_time": _MS,
    },
    "OrderPaymentObj": {
        "payment_id": _S,
        "order_id": _S,
        "account_id": _S,
        "payment_amount": _AMOUNT,
        "payment_time": _MS,
    },
    "RefundObj": {
        "account_id": _S,
        "account_id__r": _S,
        "order_id": _S,
        "refunded_amount": _AMOUNT,
        "refunded_time": _MS,
        "refunded_method": _S,
    },
    "InvoiceApplicationObj": {
        "account_id": _S,
        "account_id__r": _S,
        "order_id": _S,
        "invoice_applied_amount": _AMOUNT,
        "invoice_date": _MS,
        "invoice_type": _S,
        "invoice_no": _S,
        "invoice_title": _S,
        "tax_id": _S,
    },
    "InvoiceApplicationLinesObj": {
        "invoice_id": _S,
        "order_id": _S,
        "invoiced_amount": _AMOUNT,
        "tax_rate": _S,
        "tax_amount": _AMOUNT,
        "invoice_date": _MS,
    },
}


def schema_for(stream: str) -> dict[str, Any]:
    """The schema of one object API name (the envelope alone for objects we do not know)."""
    return {
        "$schema": "http://json-schema.org/draft-07/schema#",
        "type": "object",
        "additionalProperties": True,
        "required": ["_id"],
        "properties": {**_ENVELOPE, **_OBJECTS.get(stream, {})},
    }
