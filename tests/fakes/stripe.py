"""A fake Stripe API on loopback: ``GET /v1/balance_transactions`` as Stripe serves it.

Bearer secret-key auth (401 ``invalid_request_error`` otherwise), lists newest first with
``has_more``, cursor pagination by ``starting_after``/``ending_before`` (mutually
exclusive; an unknown id is 400 ``resource_missing``), ``limit`` 1..100, ``created[gte|lt]``,
``payout=po_…`` (the transactions settled by that payout), ``expand[]=data.source``
(charges with ``metadata``, refunds, payouts with ``trace_id``), amounts in minor units,
lower-case currencies, and a knob for 429 rate limiting with ``Stripe-Should-Retry``.
"""

from __future__ import annotations

import itertools
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlparse

from tests.fakes.http_fake import send_json, serve_in_thread, stop_server

_ids = itertools.count(1)


def _id(prefix: str) -> str:
    return f"{prefix}_3Qa{next(_ids):018d}"


class FakeStripe:
    def __init__(self, api_key: str = "sk_test_51QaFakeKey8f2b7c4e9d1a6b3c5e7f9a2b4c6d8e0f1") -> None:
        self.api_key = api_key
        self.txns: list[dict[str, Any]] = []
        self.objects: dict[str, dict[str, Any]] = {}
        self.payout_members: dict[str, list[str]] = {}
        self.requests: list[str] = []
        self.rate_limit_next = 0
        self._server: ThreadingHTTPServer | None = None
        self._clock = 1_762_000_000

    # -- data -----------------------------------------------------------------------------

    def _tick(self, created: int | None) -> int:
        self._clock += 60
        return created or self._clock

    def charge(
        self,
        amount: int,
        order_no: str,
        name: str = "",
        currency: str = "cny",
        created: int | None = None,
        fee: int | None = None,
    ) -> dict[str, Any]:
        created = self._tick(created)
        fee = round(amount * 0.034) + 0 if fee is None else fee
        ch = {
            "id": _id("ch"),
            "object": "charge",
            "amount": amount,
            "currency": currency,
            "metadata": {"order_no": order_no},
            "billing_details": {"name": name},
            "payment_intent": _id("pi"),
            "status": "succeeded",
            "paid": True,
            "created": created,
            "description": f"Order {order_no}",
        }
        return self._txn("charge", "charge", amount, fee, currency, created, ch)

    def refund(self, charge_txn: dict[str, Any], amount: int, created: int | None = None) -> dict[str, Any]:
        created = self._tick(created)
        ch = self.objects[charge_txn["source"]]
        re = {
            "id": _id("re"),
            "object": "refund",
            "amount": amount,
            "charge": ch["id"],
            "currency": ch["currency"],
            "metadata": dict(ch["metadata"]),
            "status": "succeeded",
            "created": created,
        }
        return self._txn("refund", "refund", -amount, 0, ch["currency"], created, re)

    def payout(
        self, members: list[dict[str, Any]], arrival: int, trace: str = "", created: int | None = None
    ) -> dict[str, Any]:
        created = self._tick(created)
        net = sum(m["net"] for m in members)
        currency = members[0]["currency"]
        po = {
            "id": _id("po"),
            "object": "payout",
            "amount": net,
            "currency": currency,
            "arrival_date": arrival,
            "automatic": True,
            "method": "standard",
            "status": "paid",
            "trace_id": {"status": "supported", "value": trace},
            "reconciliation_status": "completed",
            "created": created,
        }
        txn = self._txn("payout", "payout", -net, 0, currency, created, po)
        self.payout_members[po["id"]] = [m["id"] for m in members] + [txn["id"]]
        return txn

    def _txn(
        self,
        kind: str,
        category: str,
        amount: int,
        fee: int,
        currency: str,
        created: int,
        source: dict[str, Any],
    ) -> dict[str, Any]:
        self.objects[source["id"]] = source
        txn = {
            "id": _id("txn"),
            "object": "balance_transaction",
            "amount": amount,
            "fee": fee,
            "fee_details": [
                {
                    "amount": fee,
                    "application": None,
                    "currency": currency,
                    "description": "Stripe processing fees",
                    "type": "stripe_fee",
                }
            ]
            if fee
            else [],
            "net": amount - fee,
            "currency": currency,
            "created": created,
            "available_on": created + 2 * 86400,
            "status": "available",
            "type": kind,
            "reporting_category": category,
            "source": source["id"],
            "description": source.get("description"),
            "exchange_rate": None,
            "balance_type": "payments",
        }
        self.txns.append(txn)
        return txn

    # -- server ---------------------------------------------------------------------------

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self) -> FakeStripe:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                fake.requests.append(self.path)
                status, body, headers = fake.answer(self.path, self.headers.get("Authorization", ""))
                send_json(self, status, body, headers=headers)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        serve_in_thread(self._server)
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._server is not None
        stop_server(self._server)

    @staticmethod
    def _error(
        status: int, kind: str, message: str, code: str = "", param: str = ""
    ) -> tuple[int, dict[str, Any], dict[str, str]]:
        err = {
            "type": kind,
            "message": message,
            **({"code": code} if code else {}),
            **({"param": param} if param else {}),
        }
        return status, {"error": err}, {"Stripe-Should-Retry": "false"} if status == 400 else {}

    def answer(self, path: str, auth: str) -> tuple[int, dict[str, Any], dict[str, str]]:
        url = urlparse(path)
        if auth != f"Bearer {self.api_key}":
            return self._error(401, "invalid_request_error", "Invalid API Key provided: sk_test_****")
        if self.rate_limit_next > 0:
            self.rate_limit_next -= 1
            return (
                429,
                {"error": {"type": "rate_limit_error", "message": "Too many requests"}},
                {"Stripe-Should-Retry": "true", "Retry-After": "0"},
            )
        if url.path != "/v1/balance_transactions":
            return self._error(404, "invalid_request_error", f"Unrecognized request URL (GET: {url.path})")
        q = parse_qsl(url.query)
        params = dict(q)
        expand = [v for k, v in q if k == "expand[]"]
        limit = int(params.get("limit", "10"))
        if not 1 <= limit <= 100:
            return self._error(
                400, "invalid_request_error", "Invalid integer: limit must be 1..100", param="limit"
            )
        if "starting_after" in params and "ending_before" in params:
            return self._error(
                400,
                "invalid_request_error",
                "You may only specify one of these parameters: ending_before, starting_after.",
            )
        rows = sorted(self.txns, key=lambda t: (t["created"], t["id"]), reverse=True)
        if "payout" in params:
            members = set(self.payout_members.get(params["payout"], []))
            if params["payout"] not in self.payout_members:
                return self._error(
                    400,
                    "invalid_request_error",
                    f"No such payout: '{params['payout']}'",
                    code="resource_missing",
                    param="payout",
                )
            rows = [t for t in rows if t["id"] in members]
        if "created[gte]" in params:
            rows = [t for t in rows if t["created"] >= int(params["created[gte]"])]
        if "created[lt]" in params:
            rows = [t for t in rows if t["created"] < int(params["created[lt]"])]
        ids = [t["id"] for t in rows]
        if "starting_after" in params:
            if params["starting_after"] not in ids:
                return self._error(
                    400,
                    "invalid_request_error",
                    f"No such balance_transaction: '{params['starting_after']}'",
                    code="resource_missing",
                    param="starting_after",
                )
            rows = rows[ids.index(params["starting_after"]) + 1 :]
        page = rows[:limit]
        data = []
        for t in page:
            item = dict(t)
            if "data.source" in expand:
                item["source"] = self.objects[t["source"]]
            data.append(item)
        return (
            200,
            {
                "object": "list",
                "url": "/v1/balance_transactions",
                "has_more": len(rows) > limit,
                "data": data,
            },
            {},
        )
