"""Stripe balance transactions: charges (with our order number), refunds, fees and payouts.

The balance transaction is the ledger line (gross ``amount``, ``fee``, ``net``, minor
units). It has no metadata, so the list call expands ``data.source`` and the order number
is read from the charge's (or refund's) ``metadata``. Each payout is the bridge to one
bank credit: its member transactions are listed with ``payout=po_…`` and written on the
payout record (``raw["members"]``) and on each member read in the same run
(``payout_id``). Pagination is Stripe's cursor: ``starting_after`` = the last id of the
previous page, while ``has_more``. Incremental runs re-read ``overlap_days`` before the
saved ``created`` cursor (a pending transaction becomes available later) and rely on ids
for dedupe, as Stripe advises.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Iterable, Iterator, Mapping
from decimal import Decimal
from typing import Any

import requests

from connectors.bank.stream import bank_stream_base
from sync.backoff import Backoff, retry_transient
from sync.banking import CREDIT, DEBIT, BankTransaction
from sync.dates import CHINA
from sync.errors import ConfigurationError, PermanentError, TransientError
from sync.http import TransportConfig, make_session
from sync.secrets import redact

__all__ = ["StripeClient", "classify", "make_stripe_stream", "to_transaction"]

log = logging.getLogger(__name__)

#: Stripe's ``reporting_category`` (what Stripe recommends classifying by) -> (kind, reversal)
_CATEGORIES: dict[str, tuple[str, bool]] = {
    "charge": ("charge", False),
    "partial_capture_reversal": ("charge", True),
    "refund": ("refund", False),
    "refund_failure": ("refund", True),  # the refund came back: money on our balance again
    "dispute": ("refund", False),  # a chargeback: the customer's money goes back
    "dispute_reversal": ("refund", True),  # a dispute won
    "fee": ("fee", False),  # stripe_fee, stripe_fx_fee, application_fee, …
    "tax": ("fee", False),  # tax on Stripe's fees (tax_fee)
    "payout": ("payout", False),
    "payout_reversal": ("payout", True),  # payout_failure, payout_cancel: back on the balance
    "transfer": ("transfer", False),
    "transfer_reversal": ("transfer", True),
    "topup": ("transfer", False),
    "topup_reversal": ("transfer", True),
    "other_adjustment": ("other", False),
}
#: by ``type`` when a transaction has no reporting_category (older API versions, some fixtures)
_TYPES: dict[str, tuple[str, bool]] = {
    "charge": ("charge", False),
    "payment": ("charge", False),
    "payment_reversal": ("charge", True),
    "refund": ("refund", False),
    "payment_refund": ("refund", False),
    "refund_failure": ("refund", True),
    "payment_failure_refund": ("refund", True),
    "payout": ("payout", False),
    "payout_failure": ("payout", True),
    "payout_cancel": ("payout", True),
    "stripe_fee": ("fee", False),
    "stripe_fx_fee": ("fee", False),
    "tax_fee": ("fee", False),
    "application_fee": ("fee", False),
    "application_fee_refund": ("fee", True),
    "adjustment": ("other", False),
    "transfer": ("transfer", False),
    "transfer_cancel": ("transfer", True),
    "transfer_failure": ("transfer", True),
    "transfer_refund": ("transfer", True),
    "topup": ("transfer", False),
    "topup_reversal": ("transfer", True),
}


def classify(txn: Mapping[str, Any]) -> tuple[str, bool]:
    """(kind, reversal) of a balance transaction: by reporting_category, else by type, else other."""
    category = str(txn.get("reporting_category") or "")
    if category in _CATEGORIES:
        return _CATEGORIES[category]
    return _TYPES.get(str(txn.get("type")), ("other", False))


class StripeClient:
    """GET-only client for the list endpoints we need; errors classified from status and body."""

    def __init__(
        self,
        api_key: str,
        base_url: str = "https://api.stripe.com",
        transport: TransportConfig | None = None,
        max_attempts: int = 4,
    ) -> None:
        self._key = api_key
        self.base_url = base_url.rstrip("/")
        self.session = make_session(transport, system="stripe")
        self.max_attempts = max_attempts

    @classmethod
    def from_config(cls, cfg: Any) -> StripeClient:
        key = cfg.api_key.get_secret_value() if hasattr(cfg.api_key, "get_secret_value") else cfg.api_key
        return cls(key, cfg.base_url or "https://api.stripe.com", cfg.transport)

    def get(self, path: str, params: list[tuple[str, str]]) -> dict[str, Any]:
        return retry_transient(lambda: self._get(path, params), Backoff(self.max_attempts, 0.05, 5))

    def _get(self, path: str, params: list[tuple[str, str]]) -> dict[str, Any]:
        try:
            resp = self.session.get(
                f"{self.base_url}{path}", params=params, headers={"Authorization": f"Bearer {self._key}"}
            )
        except requests.RequestException as exc:
            raise TransientError(f"stripe {path}: {type(exc).__name__}: {redact(str(exc))}") from None
        try:
            data: dict[str, Any] = json.loads(resp.content.decode("utf-8"), parse_float=Decimal)
        except ValueError:
            data = {}
        err = data.get("error") or {}
        msg = redact(str(err.get("message") or resp.text[:200]))
        should_retry = resp.headers.get("Stripe-Should-Retry")
        if resp.status_code == 200:
            return data
        if resp.status_code in {401, 403}:
            raise ConfigurationError(
                f"stripe refused the API key (HTTP {resp.status_code}): {msg}",
                hint="set api_key to a secret or restricted key with read access to balance",
            )
        if should_retry == "false":
            raise PermanentError(f"stripe {path}: HTTP {resp.status_code} {err.get('type', '')}: {msg}")
        if resp.status_code in {409, 429} or resp.status_code >= 500 or should_retry == "true":
            retry_after = resp.headers.get("Retry-After")
            raise TransientError(
                f"stripe {path}: HTTP {resp.status_code}: {msg}",
                retry_after=float(retry_after) if retry_after else None,
            )
        raise PermanentError(f"stripe {path}: HTTP {resp.status_code} {err.get('type', '')}: {msg}")

    def list_all(
        self, path: str, params: list[tuple[str, str]], page_size: int = 100
    ) -> Iterator[dict[str, Any]]:
        """Every object of a list endpoint, following ``starting_after`` while ``has_more``."""
        after: str | None = None
        while True:
            page = self.get(
                path, [*params, ("limit", str(page_size)), *([("starting_after", after)] if after else [])]
            )
            items = list(page.get("data") or [])
            yield from items
            if not page.get("has_more") or not items:
                return
            after = str(items[-1]["id"])

    def check(self) -> tuple[bool, Any]:
        try:
            self.get("/v1/balance_transactions", [("limit", "1")])
        except (ConfigurationError, TransientError, PermanentError) as exc:
            return False, exc.message
        return True, None


#: Stripe's zero-decimal currencies, as Stripe documents them (an amount of 1000 CLP is 1000, not
#: 10.00); its list differs from ISO 4217's minor units (MGA), so it is Stripe's that counts here
STRIPE_ZERO_DECIMAL = frozenset(
    {
        "BIF",
        "CLP",
        "DJF",
        "GNF",
        "JPY",
        "KMF",
        "KRW",
        "MGA",
        "PYG",
        "RWF",
        "UGX",
        "VND",
        "VUV",
        "XAF",
        "XOF",
        "XPF",
    }
)
#: Stripe's three-decimal currencies (amounts in thousandths)
STRIPE_THREE_DECIMAL = frozenset({"BHD", "JOD", "KWD", "OMR", "TND"})


def stripe_decimals(currency: str) -> int:
    code = currency.upper()
    if code in STRIPE_ZERO_DECIMAL:
        return 0
    return 3 if code in STRIPE_THREE_DECIMAL else 2


def _money(minor: int | Decimal, currency: str) -> Decimal:
    """An amount in Stripe's smallest unit of ``currency`` as a Decimal in that currency."""
    return Decimal(int(minor)).scaleb(-stripe_decimals(currency))


def _day(seconds: int | None) -> dt.date | None:
    return dt.datetime.fromtimestamp(int(seconds), CHINA).date() if seconds else None


def to_transaction(txn: Mapping[str, Any], order_key: str, payout_id: str = "") -> BankTransaction:
    """One balance transaction (``source`` expanded or not) as a normalised line."""
    currency = str(txn.get("currency") or "").upper()
    amount = _money(txn.get("amount") or 0, currency)
    fee = _money(txn.get("fee") or 0, currency)
    net = _money(txn.get("net") or 0, currency)
    src = txn.get("source")
    source: Mapping[str, Any] = src if isinstance(src, Mapping) else {"id": src or ""}
    metadata = source.get("metadata") or {}
    kind, reversal = classify(txn)
    trace = source.get("trace_id")
    trace_id = str(trace.get("value") or "") if isinstance(trace, Mapping) else str(trace or "")
    billing = source.get("billing_details") or {}
    members = txn.get("_payout_members") or []
    created = _day(txn.get("created"))
    assert created is not None
    raw = {
        "type": str(txn.get("type")),
        "reporting_category": str(txn.get("reporting_category") or ""),
        "source": str(source.get("id") or ""),
        "gross_signed": str(amount),
        "net_signed": str(net),
        "description": str(txn.get("description") or ""),
    }
    if members:
        raw["members"] = ",".join(members)
    return BankTransaction(
        id=str(txn["id"]),
        format="stripe",
        account=f"stripe:{currency}",
        direction=CREDIT if amount >= 0 else DEBIT,
        amount=abs(amount),
        currency=currency,
        booking_date=created,
        value_date=_day(txn.get("available_on") or source.get("arrival_date")),
        payer_name=str(billing.get("name") or source.get("customer") or ""),
        references=tuple(
            r for r in (str(source.get("id") or ""), str(source.get("payment_intent") or "")) if r
        ),
        remittance=str(txn.get("description") or source.get("description") or ""),
        bank_code=str(txn.get("reporting_category") or txn.get("type") or ""),
        status=str(txn.get("status") or ""),
        kind=kind,
        reversal=reversal,
        fee=fee,
        net=abs(net),
        order_ref=str(metadata.get(order_key) or ""),
        payout_id=str(source.get("id")) if kind == "payout" else payout_id,
        trace_id=trace_id,
        raw=raw,
    )


def _window(cfg: Any, since: int | None) -> list[tuple[str, str]]:
    """List parameters: expand the source, and the ``created`` window with the overlap."""
    params = [("expand[]", "data.source")]
    if since is not None:
        params.append(("created[gte]", str(int(since) - cfg.overlap_days * 86400)))
    elif cfg.start_date is not None:
        first = dt.datetime.combine(cfg.start_date, dt.time(), CHINA)
        params.append(("created[gte]", str(int(first.timestamp()))))
    if cfg.end_date is not None:
        limit = dt.datetime.combine(cfg.end_date + dt.timedelta(days=1), dt.time(), CHINA).timestamp()
        params.append(("created[lt]", str(int(limit))))
    return params


def make_stripe_stream(cfg: Any) -> Any:
    from airbyte_cdk.models import SyncMode

    client = StripeClient.from_config(cfg)

    class StripeBalance(bank_stream_base()):  # type: ignore[misc]
        name = "stripe"

        def read_records(
            self,
            sync_mode: SyncMode,
            cursor_field: Any = None,
            stream_slice: Mapping[str, Any] | None = None,
            stream_state: Mapping[str, Any] | None = None,
        ) -> Iterable[Mapping[str, Any]]:
            params = _window(cfg, self._state.get("created"))
            txns = list(client.list_all("/v1/balance_transactions", params, cfg.page_size))
            member_of: dict[str, str] = {}
            for txn in txns:
                if txn.get("type") == "payout":
                    src = txn.get("source")
                    po = str(src.get("id") if isinstance(src, Mapping) else src)
                    members = [
                        str(m["id"])
                        for m in client.list_all("/v1/balance_transactions", [("payout", po)], cfg.page_size)
                        if m["id"] != txn["id"]
                    ]
                    txn["_payout_members"] = members
                    for m in members:
                        member_of[m] = po
            newest = self._state.get("created")
            for txn in reversed(txns):  # oldest first
                yield to_transaction(
                    txn, cfg.order_metadata_key, member_of.get(str(txn["id"]), "")
                ).to_record()
                created = int(txn.get("created") or 0)
                newest = created if newest is None else max(int(newest), created)
            if newest is not None:
                self.state = {"created": int(newest)}

    return StripeBalance()
