"""JSON schemas of the streams: the record envelope plus each object's known money and time fields.

Records pass through untouched (amounts are decimal strings, times epoch ms, exactly as the
API sends them), so the schemas only describe; ``additionalProperties`` stays open because
every tenant adds its own ``__c`` fields.
"""

from __future__ import annotations

from typing import Any, Final

__all__ = ["PRESET_STREAMS", "json_schema"]

PRESET_STREAMS: Final = (
    "AccountObj",
    "SalesOrderObj",
    "SalesOrderProductObj",
    "PaymentObj",
    "OrderPaymentObj",
    "RefundObj",
    "InvoiceApplicationObj",
    "InvoiceApplicationLinesObj",
)

_STRING: Final = {"type": ["null", "string"]}
_MS: Final = {"type": ["null", "integer"], "description": "epoch milliseconds"}
_MONEY: Final = {"type": ["null", "string"], "description": 'decimal string, e.g. "1280.50"'}
_IDS: Final = {"type": ["null", "array"], "items": {"type": "string"}}

_ENVELOPE: Final[dict[str, Any]] = {
    "_id": {"type": "string", "description": "24-hex record id"},
    "name": _STRING,
    "owner": _IDS,
    "created_by": _IDS,
    "last_modified_by": _IDS,
    "create_time": _MS,
    "last_modified_time": {"type": "integer", "description": "epoch milliseconds; the cursor"},
    "life_status": {
        "type": ["null", "string"],
        "description": "normal | under_review | invalid (voided) | …",
    },
    "lock_status": {"type": ["null", "string"], "description": '"0" unlocked, "1" locked'},
    "is_deleted": {"type": ["null", "boolean"]},
    "version": _STRING,
    "record_type": _STRING,
}

#: per object: (money fields, time fields, reference/text fields)
_FIELDS: Final[dict[str, tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]]] = {
    "AccountObj": ((), (), ("account_no", "account_type", "account_level", "tel", "address", "tax_id")),
    "SalesOrderObj": (
        (
            "order_amount",
            "product_amount",
            "received_amount",
            "receivable_amount",
            "refund_amount",
            "invoice_amount",
            "discount",
        ),
        ("order_time", "delivery_date"),
        ("account_id", "account_id__r", "order_status", "currency", "remark"),
    ),
    "SalesOrderProductObj": (
        ("quantity", "sales_price", "product_price", "subtotal", "discount", "tax_rate", "tax_amount"),
        (),
        ("order_id", "product_id", "product_id__r", "unit"),
    ),
    "PaymentObj": (
        ("payment_amount",),
        ("payment_time", "finance_confirm_time", "submit_time"),
        ("account_id", "account_id__r", "order_id", "payment_term", "remark"),
    ),
    "OrderPaymentObj": (
        ("payment_amount",),
        ("payment_time", "finance_confirm_time"),
        ("payment_id", "order_id", "account_id", "payment_term"),
    ),
    "RefundObj": (
        ("refunded_amount",),
        ("refunded_time",),
        ("account_id", "account_id__r", "order_id", "refunded_method", "remark"),
    ),
    "InvoiceApplicationObj": (
        ("invoice_applied_amount",),
        ("invoice_date", "submit_time"),
        ("account_id", "order_id", "invoice_type", "invoice_no", "invoice_title", "tax_id"),
    ),
    "InvoiceApplicationLinesObj": (
        ("invoiced_amount", "tax_rate", "tax_amount", "no_invoice_amount"),
        ("invoice_date",),
        ("invoice_id", "order_id"),
    ),
}


def json_schema(api_name: str) -> dict[str, Any]:
    """The schema of one stream (custom ``__c`` objects get the envelope only)."""
    money, times, texts = _FIELDS.get(api_name, ((), (), ()))
    properties: dict[str, Any] = dict(_ENVELOPE)
    properties.update({name: _MONEY for name in money})
    properties.update({name: _MS for name in times})
    properties.update({name: _STRING for name in texts})
    return {
        "$schema": "http://json-schema.org/draft-07/schema#",
        "type": "object",
        "additionalProperties": True,
        "required": ["_id", "last_modified_time"],
        "properties": properties,
    }
