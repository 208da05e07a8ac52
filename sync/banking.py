"""The one shape every bank and platform format is normalised into.

A camt.053 entry, an MT940 ``:61:`` line, a CMB 流水, a Stripe balance transaction and an
Alipay bill row all become a ``BankTransaction``. Reconciliation and the mappings see only
this shape, so adding a bank never touches them. Records travel through Airbyte as plain
JSON, where Decimal cannot go and floats lose cents: amounts are decimal *strings* in the
record (``to_record``) and Decimals again on the way back (``from_record``).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Final

from sync.money import format_amount, parse_amount

__all__ = [
    "BANK_FORMATS",
    "CREDIT",
    "DEBIT",
    "KINDS",
    "RECORD_SCHEMA",
    "BankTransaction",
    "StatementError",
    "stable_id",
]

#: every source ``type:`` that yields BankTransaction records (the bank connector serves them all)
BANK_FORMATS: Final = (
    "camt052",
    "camt053",
    "camt054",
    "mt940",
    "cmb",
    "stripe",
    "alipay_bill",
    "wechat_bill",
)

CREDIT: Final = "credit"
DEBIT: Final = "debit"

#: what a line is, for routing: only ``receipt`` lines are matched to CRM payments.
KINDS: Final = ("receipt", "payment", "fee", "interest", "refund", "charge", "payout", "transfer", "other")


class StatementError(ValueError):
    """A statement file (or API page) that must not be booked: hostile, malformed or not adding up.

    The message always names the file (or the API call) so the person who receives it
    knows which download to fetch again.
    """

    def __init__(self, source: str, problem: str) -> None:
        self.source = source
        self.problem = problem
        super().__init__(f"{source}: {problem}")


def stable_id(prefix: str, *parts: object) -> str:
    """A dedupe id from the fields that identify a line when the bank gives no unique one."""
    blob = "\x1f".join("" if p is None else str(p) for p in parts)
    return f"{prefix}:{hashlib.sha256(blob.encode()).hexdigest()[:24]}"


@dataclass(frozen=True, slots=True)
class BankTransaction:
    """One booked movement on a bank or platform account.

    ``amount`` is always positive; ``direction`` says whether money came in (credit) or
    went out (debit). A reversal (camt ``RvslInd``, MT940 ``RC``/``RD``, CMB ``RSVFLG``)
    keeps the direction of the money actually moved and sets ``reversal``. ``fee`` and
    ``net`` are set by platforms that report them per line (Stripe, Alipay, WeChat Pay):
    ``net`` is the positive effect on the platform balance, ``amount - fee`` for a credit
    and ``amount + fee`` for a debit (a fee the platform gives back is negative).
    ``order_ref`` is our own order number when the platform carried it (Stripe metadata,
    商户订单号); ``payout_id`` ties a platform line to the payout that settled it, and
    ``trace_id`` is the reference the payout shows at the bank. ``raw`` keeps the source's own fields as text.
    """

    id: str
    format: str
    account: str
    direction: str
    amount: Decimal
    currency: str
    booking_date: dt.date
    value_date: dt.date | None = None
    payer_name: str = ""
    payer_account: str = ""
    references: tuple[str, ...] = ()
    remittance: str = ""
    bank_code: str = ""
    status: str = "booked"
    reversal: bool = False
    kind: str = "other"
    fee: Decimal | None = None
    net: Decimal | None = None
    order_ref: str = ""
    payout_id: str = ""
    trace_id: str = ""
    statement_id: str = ""
    source_file: str = ""
    raw: dict[str, str] = field(default_factory=dict)

    @property
    def signed_amount(self) -> Decimal:
        """Effect on the account balance: credits add, debits subtract."""
        return self.amount if self.direction == CREDIT else -self.amount

    def to_record(self) -> dict[str, Any]:
        """The Airbyte record: JSON only, amounts as decimal strings, dates ISO."""
        return {
            "id": self.id,
            "format": self.format,
            "account": self.account,
            "direction": self.direction,
            "amount": format_amount(self.amount, self.currency),
            "currency": self.currency,
            "booking_date": self.booking_date.isoformat(),
            "value_date": self.value_date.isoformat() if self.value_date else None,
            "payer_name": self.payer_name,
            "payer_account": self.payer_account,
            "references": list(self.references),
            "remittance": self.remittance,
            "bank_code": self.bank_code,
            "status": self.status,
            "reversal": self.reversal,
            "kind": self.kind,
            "fee": None if self.fee is None else format_amount(self.fee, self.currency),
            "net": None if self.net is None else format_amount(self.net, self.currency),
            "order_ref": self.order_ref,
            "payout_id": self.payout_id,
            "trace_id": self.trace_id,
            "statement_id": self.statement_id,
            "source_file": self.source_file,
            "raw": dict(self.raw),
        }

    @classmethod
    def from_record(cls, rec: dict[str, Any]) -> BankTransaction:
        """Back from an Airbyte record (or a stored copy of one) to Decimals and dates."""
        return cls(
            id=str(rec["id"]),
            format=str(rec.get("format", "")),
            account=str(rec.get("account", "")),
            direction=str(rec["direction"]),
            amount=parse_amount(rec["amount"], field="amount"),
            currency=str(rec.get("currency") or "CNY"),
            booking_date=dt.date.fromisoformat(str(rec["booking_date"])),
            value_date=dt.date.fromisoformat(rec["value_date"]) if rec.get("value_date") else None,
            payer_name=str(rec.get("payer_name") or ""),
            payer_account=str(rec.get("payer_account") or ""),
            references=tuple(rec.get("references") or ()),
            remittance=str(rec.get("remittance") or ""),
            bank_code=str(rec.get("bank_code") or ""),
            status=str(rec.get("status") or "booked"),
            reversal=bool(rec.get("reversal")),
            kind=str(rec.get("kind") or "other"),
            fee=parse_amount(rec["fee"], field="fee") if rec.get("fee") is not None else None,
            net=parse_amount(rec["net"], field="net") if rec.get("net") is not None else None,
            order_ref=str(rec.get("order_ref") or ""),
            payout_id=str(rec.get("payout_id") or ""),
            trace_id=str(rec.get("trace_id") or ""),
            statement_id=str(rec.get("statement_id") or ""),
            source_file=str(rec.get("source_file") or ""),
            raw={str(k): str(v) for k, v in (rec.get("raw") or {}).items()},
        )


_STR = {"type": "string"}
_OPT_STR = {"type": ["null", "string"]}

#: JSON schema of the normalised stream (amounts are strings on purpose).
RECORD_SCHEMA: Final[dict[str, Any]] = {
    "$schema": "http://json-schema.org/draft-07/schema#",
    "type": "object",
    "additionalProperties": True,  # a newer parser may add a field; old readers keep working
    "required": ["id", "account", "direction", "amount", "currency", "booking_date"],
    "properties": {
        "id": _STR,
        "format": _STR,
        "account": _STR,
        "direction": {"type": "string", "enum": [CREDIT, DEBIT]},
        "amount": {"type": "string", "description": 'positive decimal string, e.g. "1500.00"'},
        "currency": _STR,
        "booking_date": {"type": "string", "format": "date"},
        "value_date": {"type": ["null", "string"], "format": "date"},
        "payer_name": _STR,
        "payer_account": _STR,
        "references": {"type": "array", "items": _STR},
        "remittance": _STR,
        "bank_code": _STR,
        "status": _STR,
        "reversal": {"type": "boolean"},
        "kind": {"type": "string", "enum": list(KINDS)},
        "fee": _OPT_STR,
        "net": _OPT_STR,
        "order_ref": _STR,
        "payout_id": _STR,
        "trace_id": _STR,
        "statement_id": _STR,
        "source_file": _STR,
        "raw": {"type": "object", "additionalProperties": _STR},
    },
}
