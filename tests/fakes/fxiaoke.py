"""A fake Fxiaoke (纷享销客) OpenAPI on loopback, speaking the real wire format (specs/fxiaoke.md).

Use from tests as a context manager::

    with FakeFxiaoke(records={"PaymentObj": 250}) as fake:
        config = fake.source_config(start_date="2026-01-01")
        ...
        fake.edit("PaymentObj", some_id, payment_amount="99.00")   # bumps last_modified_time
        assert len(fake.calls(TOKEN_PATH)) <= 2

or as a process for end-to-end runs and the bench::

    python -m tests.fakes.fxiaoke --port 8931 --records 100000 --objects PaymentObj

(prints one JSON line with the URL and credentials, then serves until killed).

What it enforces, like the real gateway: every answer is HTTP 200 with ``errorCode``; the
legacy token endpoint (wrong secret -> 10006, wrong permanent code -> 20015, 10 calls a
minute -> 14001, the same token re-issued until near the end of its life); tokens expire
(20016); no token -> 20017; unknown user -> 20012; ``limit`` <= 100; ``offset`` a multiple of
``limit`` and <= 10,000 (10013, the documented body); per-endpoint throttling (30004) above
``rate_limit`` calls per window (real: 100 per 20 s). Faults on demand (``inject``): HTTP 5xx,
hangs beyond the client's timeout, connection resets, malformed pages, token expiry mid-read,
any errorCode, and callbacks run between pages (sudden edits). Every request is recorded.
``/cgi/crm/v2/data/update`` is served and recorded for write-back; locked records are refused.

Invalid (作废) records are returned by default and voiding bumps ``last_modified_time``; the real
behaviour is an open question (spec §6.2), so ``hide_invalid=True`` serves the other reading:
voided rows only come back to a query that filters on ``life_status``.
"""

from __future__ import annotations

import argparse
import bisect
import hashlib
import json
import re
import secrets
import signal
import socket
import struct
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.fakes.http_fake import QuietServer, serve_in_thread, stop_server

__all__ = ["OBJECTS", "FakeFxiaoke", "Fault", "RecordedRequest"]

TOKEN_PATH = "/cgi/corpAccessToken/get/V2"
QUERY_PATH = "/cgi/crm/v2/data/query"
CUSTOM_QUERY_PATH = "/cgi/crm/custom/v2/data/query"
DESCRIBE_PATH = "/cgi/crm/v2/object/describe"
UPDATE_PATH = "/cgi/crm/v2/data/update"
CUSTOM_UPDATE_PATH = "/cgi/crm/custom/v2/data/update"

OBJECTS = (
    "AccountObj",
    "SalesOrderObj",
    "SalesOrderProductObj",
    "PaymentObj",
    "OrderPaymentObj",
    "RefundObj",
    "InvoiceApplicationObj",
    "InvoiceApplicationLinesObj",
)

# realistic credentials (secret masking garbles short ones)
APP_ID = "FSAID_131a2b3c"
APP_SECRET = "e4d0c0ffee0123456789abcdefd0c0ff"
PERMANENT_CODE = "3F9A1B2C3D4E5F60718293A4B5C6DCA5"
OPEN_USER_ID = "FSUID_DA4F6DE5640038B7DDB27908CC4ED1A8"
CORP_ID = "FSCID_5A6B7C8D9E0F11223344556677889900"

_CENT = Decimal("0.01")
_JSON = "application/json;charset=UTF-8"
_DAY_MS = 86_400_000
_CHINA_OFFSET_MS = 8 * 3_600_000
#: 2026-06-01 00:00 Asia/Shanghai: the generated tenant lives in the half year before it
_TENANT_END_MS = 1_780_243_200_000
_TENANT_SPAN_MS = 180 * _DAY_MS


@dataclass
class RecordedRequest:
    """One request as the fake saw it, and what it answered."""

    path: str
    body: Any
    query: dict[str, str]
    at: float
    error_code: int | None = None
    http_status: int = 200
    fault: str | None = None


#: faults that alter a page the real handler answered (they wait for a call that gets one)
_PAGE_FAULTS = frozenset({"malformed", "after_page"})


@dataclass
class Fault:
    """A fault for requests to ``path`` (None = any business path): skip ``after``, then ``times``."""

    kind: str
    path: str | None = QUERY_PATH
    times: int = 1
    after: int = 0
    code: int = 0
    fn: Callable[[], None] | None = None
    seen: int = 0

    def matches(self, path: str) -> bool:
        if self.path is None:
            return path != TOKEN_PATH
        return self.path == path


# ---------------------------------------------------------------------------------------------
# the generated tenant
# ---------------------------------------------------------------------------------------------


def _words(text: str) -> list[str]:
    return text.split()


_CITIES = _words(
    "上海 北京 深圳 杭州 广州 成都 苏州 南京 武汉 天津 重庆 西安 厦门 青岛 长沙 宁波 合肥 郑州 昆明 大连"
)
_WORDS = _words(
    "明远 华辰 云帆 青禾 粤海 蜀通 恒瑞 金陵 光谷 汇通 山城 秦川 "
    "鹭岛 海润 湘江 东港 讯联 中原 彩云 星海 博睿 嘉禾 新元 瑞丰"
)
_TRADES = _words(
    "信息科技 智能装备 供应链管理 电子商务 精密机械制造 物流 医疗器械 数据服务 "
    "新材料 贸易 汽车零部件 软件技术 食品 环保科技 文化传媒 塑料制品"
)
_PRODUCTS = [
    ("工业传感器 A型", "台"),
    ("数据采集网关", "台"),
    ("SaaS 年度订阅", "套"),
    ("实施服务", "人天"),
    ("备品备件包", "件"),
    ("培训课程", "次"),
]
_OWNERS = ["1000", "1001", "1002", "1005"]


def _h(seed: int, key: str, index: int) -> int:
    """A deterministic 64-bit number per (seed, key, index): cheap, stable across processes."""
    digest = hashlib.blake2b(f"{seed}:{key}:{index}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big")


def _oid(seed: int, api: str, index: int, create_ms: int) -> str:
    """A 24-hex id that, like an ObjectId, starts with the creation second."""
    return f"{create_ms // 1000:08x}{_h(seed, api + '#id', index) & 0xFFFFFFFFFFFFFFFF:016x}"


def _midnight(ms: int) -> int:
    """Midnight Asia/Shanghai of the day containing ``ms`` (date fields carry this)."""
    return (ms + _CHINA_OFFSET_MS) // _DAY_MS * _DAY_MS - _CHINA_OFFSET_MS


def _ymd(ms: int) -> str:
    day = (ms + _CHINA_OFFSET_MS) // _DAY_MS
    return time.strftime("%Y%m%d", time.gmtime(day * 86_400))


def _money(cents: int) -> str:
    return str((Decimal(cents) / 100).quantize(_CENT))


class _Tenant:
    """Generates records shaped like examples/crm/*.jsonl, related across objects by index."""

    def __init__(self, seed: int, counts: Mapping[str, int]) -> None:
        self.seed = seed
        self.counts = {api: counts.get(api, 0) for api in OBJECTS}
        self._created: dict[tuple[str, int], int] = {}

    def n(self, api: str) -> int:
        return max(self.counts.get(api, 0), 1)

    def created(self, api: str, i: int) -> int:
        key = (api, i)
        if key not in self._created:
            step = _TENANT_SPAN_MS // self.n(api)
            jitter = _h(self.seed, api + "#t", i) % max(step, 1)
            self._created[key] = _TENANT_END_MS - _TENANT_SPAN_MS + i * step + jitter
        return self._created[key]

    def id(self, api: str, i: int) -> str:
        return _oid(self.seed, api, i, self.created(api, i))

    def envelope(self, api: str, i: int, name: str) -> dict[str, Any]:
        created = self.created(api, i)
        owner = _OWNERS[_h(self.seed, api + "#o", i) % len(_OWNERS)]
        edits = 1 + _h(self.seed, api + "#v", i) % 5
        return {
            "_id": self.id(api, i),
            "name": name,
            "owner": [owner],
            "created_by": [owner],
            "last_modified_by": [owner],
            "create_time": created,
            "last_modified_time": created + 1 + _h(self.seed, api + "#m", i) % 3_600_000,
            "life_status": "normal",
            "lock_status": "0",
            "is_deleted": False,
            "version": str(edits),
            "record_type": "default__c",
        }

    def account_name(self, i: int) -> str:
        h = _h(self.seed, "AccountObj#n", i)
        return f"{_CITIES[h % 20]}{_WORDS[(h >> 8) % 24]}{_TRADES[(h >> 16) % 16]}有限公司"

    def order_cents(self, i: int) -> int:
        return 100_000 + _h(self.seed, "SalesOrderObj#a", i) % 49_900_000  # 1,000.00 … 500,000.00

    def account_of_order(self, i: int) -> int:
        return _h(self.seed, "SalesOrderObj#c", i) % self.n("AccountObj")

    def order_no(self, i: int) -> str:
        return f"SO-{_ymd(self.created('SalesOrderObj', i))}-{i + 1:04d}"

    def payment_cents(self, i: int) -> int:
        order = i % self.n("SalesOrderObj")
        cents = self.order_cents(order)
        return cents * 3 // 10 if i % 5 == 4 else cents  # every fifth is a 30% deposit

    def make(self, api: str, i: int) -> dict[str, Any]:
        return getattr(self, f"_{api}")(i)

    def _AccountObj(self, i: int) -> dict[str, Any]:
        h = _h(self.seed, "AccountObj#x", i)
        city = self.account_name(i)[:2]
        record = self.envelope("AccountObj", i, self.account_name(i))
        record.update(
            {
                "account_no": f"KH{i + 1:05d}",
                "account_type": "1",
                "account_level": "ABC"[h % 3],
                "tel": f"0{h % 90 + 10}-{h % 90_000_000 + 10_000_000}",
                "address": f"{city}市高新区科技路{h % 900 + 1}号",
            }
        )
        return record

    def _SalesOrderObj(self, i: int) -> dict[str, Any]:
        account = self.account_of_order(i)
        created = self.created("SalesOrderObj", i)
        record = self.envelope("SalesOrderObj", i, self.order_no(i))
        record.update(
            {
                "account_id": self.id("AccountObj", account),
                "account_id__r": self.account_name(account),
                "order_time": _midnight(created),
                "order_amount": _money(self.order_cents(i)),
                "discount": "100.00",
                "delivery_date": _midnight(created) + 7 * _DAY_MS,
                "remark": "",
            }
        )
        return record

    def _SalesOrderProductObj(self, i: int) -> dict[str, Any]:
        order, line = i // 2 % self.n("SalesOrderObj"), i % 2
        total = self.order_cents(order)
        subtotal = total // 3 if line else total - total // 3
        product, unit = _PRODUCTS[_h(self.seed, "SalesOrderProductObj#p", i) % len(_PRODUCTS)]
        record = self.envelope("SalesOrderProductObj", i, f"{self.order_no(order)}-{line + 1:02d}")
        record.update(
            {
                "order_id": self.id("SalesOrderObj", order),
                "order_id__r": self.order_no(order),
                "product_id": self.id("ProductObj", _h(self.seed, "SalesOrderProductObj#p", i) % 6),
                "product_id__r": product,
                "quantity": "1",
                "unit": unit,
                "sales_price": _money(subtotal),
                "product_price": _money(subtotal),
                "subtotal": _money(subtotal),
                "discount": "100.00",
                "tax_rate": "13",
            }
        )
        return record

    def _PaymentObj(self, i: int) -> dict[str, Any]:
        order = i % self.n("SalesOrderObj")
        account = self.account_of_order(order)
        created = self.created("PaymentObj", i)
        record = self.envelope("PaymentObj", i, f"{_ymd(created)}-{i + 1:06d}")
        record.update(
            {
                "account_id": self.id("AccountObj", account),
                "account_id__r": self.account_name(account),
                "order_id": self.id("SalesOrderObj", order),
                "order_id__r": self.order_no(order),
                "payment_time": _midnight(created),
                "payment_amount": _money(self.payment_cents(i)),
                "payment_term": str(1 + _h(self.seed, "PaymentObj#t", i) % 4),
                "finance_confirm_time": created - 1000,
                "remark": "",
            }
        )
        return record

    def _OrderPaymentObj(self, i: int) -> dict[str, Any]:
        payment = i % self.n("PaymentObj")
        order = payment % self.n("SalesOrderObj")
        created = self.created("OrderPaymentObj", i)
        record = self.envelope("OrderPaymentObj", i, f"{_ymd(created)}-{i + 1:06d}-01")
        record.update(
            {
                "payment_id": self.id("PaymentObj", payment),
                "order_id": self.id("SalesOrderObj", order),
                "order_id__r": self.order_no(order),
                "account_id": self.id("AccountObj", self.account_of_order(order)),
                "payment_amount": _money(self.payment_cents(payment)),
                "payment_time": _midnight(created),
            }
        )
        return record

    def _RefundObj(self, i: int) -> dict[str, Any]:
        order = i * 7 % self.n("SalesOrderObj")
        account = self.account_of_order(order)
        created = self.created("RefundObj", i)
        record = self.envelope("RefundObj", i, f"TK-{_ymd(created)}-{i + 1:04d}")
        record.update(
            {
                "account_id": self.id("AccountObj", account),
                "account_id__r": self.account_name(account),
                "order_id": self.id("SalesOrderObj", order),
                "order_id__r": self.order_no(order),
                "refunded_amount": _money(self.order_cents(order) // 10),
                "refunded_time": _midnight(created),
                "refunded_method": "1",
                "remark": "部分退货退款",
            }
        )
        return record

    def _invoice_cents(self, i: int) -> int:
        return self.order_cents(i % self.n("SalesOrderObj"))

    def _InvoiceApplicationObj(self, i: int) -> dict[str, Any]:
        order = i % self.n("SalesOrderObj")
        account = self.account_of_order(order)
        created = self.created("InvoiceApplicationObj", i)
        record = self.envelope("InvoiceApplicationObj", i, f"KP-{_ymd(created)}-{i + 1:04d}")
        record.update(
            {
                "account_id": self.id("AccountObj", account),
                "account_id__r": self.account_name(account),
                "order_id": self.id("SalesOrderObj", order),
                "order_id__r": self.order_no(order),
                "invoice_applied_amount": _money(self._invoice_cents(i)),
                "invoice_date": _midnight(created),
                "invoice_type": "1",
                "title_type": "2",
                "invoice_no": f"{_h(self.seed, 'InvoiceApplicationObj#no', i) % 90_000_000 + 10_000_000}",
                "invoice_title": self.account_name(account),
                "tax_id": f"91{_h(self.seed, 'AccountObj#tax', account) % 10**14:014d}MA",
            }
        )
        return record

    def _InvoiceApplicationLinesObj(self, i: int) -> dict[str, Any]:
        invoice = i % self.n("InvoiceApplicationObj")
        cents = self._invoice_cents(invoice)
        tax = (Decimal(cents) * 13 / 113 / 100).quantize(_CENT, ROUND_HALF_UP)
        created = self.created("InvoiceApplicationLinesObj", i)
        name = f"KP-{_ymd(self.created('InvoiceApplicationObj', invoice))}-{invoice + 1:04d}"
        record = self.envelope("InvoiceApplicationLinesObj", i, f"{name}-01")
        record.update(
            {
                "invoice_id": self.id("InvoiceApplicationObj", invoice),
                "invoice_id__r": name,
                "order_id": self.id("SalesOrderObj", invoice % self.n("SalesOrderObj")),
                "order_id__r": self.order_no(invoice % self.n("SalesOrderObj")),
                "invoiced_amount": _money(cents),
                "tax_rate": "13",
                "tax_amount": str(tax),
                "no_invoice_amount": "0.00",
                "invoice_date": _midnight(created),
            }
        )
        return record


_FIELD_TYPES = {
    "_id": "text",
    "name": "text",
    "owner": "employee",
    "created_by": "employee",
    "last_modified_by": "employee",
    "create_time": "date_time",
    "last_modified_time": "date_time",
    "life_status": "select_one",
    "lock_status": "select_one",
    "is_deleted": "true_or_false",
    "version": "text",
    "record_type": "record_type",
    "remark": "long_text",
    "tel": "phone_number",
    "address": "text",
    "tax_id": "text",
    "finance_confirm_time": "date_time",
}


def _field_type(name: str) -> str:
    if name in _FIELD_TYPES:
        return _FIELD_TYPES[name]
    if name.endswith("__r"):
        return "text"
    if name.endswith("_id"):
        return "object_reference"
    if name.endswith(("_amount", "_price", "subtotal")):
        return "currency"
    if name.endswith(("_time", "_date")):
        return "date"
    if name in {"quantity", "tax_rate", "discount"}:
        return "number"
    return "select_one" if name.endswith(("_type", "_term", "_method", "_level")) else "text"


# ---------------------------------------------------------------------------------------------
# query evaluation
# ---------------------------------------------------------------------------------------------


class _BadQuery(Exception):
    def __init__(self, code: int, message: str, description: str = "参数错误") -> None:
        super().__init__(message)
        self.body = {"errorCode": code, "errorMessage": message, "errorDescription": description}


def _comparable(record_value: Any, wanted: Any) -> tuple[Any, Any]:
    if isinstance(record_value, int | float) and not isinstance(record_value, bool):
        try:
            return record_value, float(wanted) if "." in str(wanted) else int(wanted)
        except (TypeError, ValueError):
            return str(record_value), str(wanted)
    return str(record_value), str(wanted)


def _match(record: Mapping[str, Any], flt: Mapping[str, Any]) -> bool:
    name, op, values = flt["field_name"], flt["operator"], flt["field_values"]
    value = record.get(name)
    if op == "IS":
        return value in (None, "", [])
    if op == "ISN":
        return value not in (None, "", [])
    if value is None:
        return op in {"N", "NIN", "NLIKE"}
    if op in {"IN", "NIN", "HASANYOF", "NHASANYOF"}:
        have = {str(v) for v in value} if isinstance(value, list) else {str(value)}
        hit = bool(have & {str(v) for v in values})
        return hit if op in {"IN", "HASANYOF"} else not hit
    if op in {"LIKE", "NLIKE", "STARTWITH", "ENDWITH", "CONTAINS"}:
        text, needle = str(value), str(values[0])
        found = {"STARTWITH": text.startswith, "ENDWITH": text.endswith}.get(op, text.__contains__)(needle)
        return not found if op == "NLIKE" else found
    if op in {"BETWEEN", "NBETWEEN"}:
        low, high = _comparable(value, values[0])[1], _comparable(value, values[1])[1]
        have = _comparable(value, values[0])[0]
        inside = bool(low <= have <= high)
        return inside if op == "BETWEEN" else not inside
    have, want = _comparable(value, values[0])
    return bool(
        {
            "EQ": have == want,
            "N": have != want,
            "GT": have > want,
            "GTE": have >= want,
            "LT": have < want,
            "LTE": have <= want,
        }[op]
    )


_OPERATORS = {
    "EQ",
    "N",
    "GT",
    "GTE",
    "LT",
    "LTE",
    "LIKE",
    "NLIKE",
    "IS",
    "ISN",
    "IN",
    "NIN",
    "BETWEEN",
    "NBETWEEN",
    "STARTWITH",
    "ENDWITH",
    "CONTAINS",
    "HASANYOF",
    "NHASANYOF",
}


def _check_filters(filters: Any) -> list[dict[str, Any]]:
    if not isinstance(filters, list):
        raise _BadQuery(32000, "filters must be a list")
    for flt in filters:
        if not isinstance(flt, dict) or not {"field_name", "field_values", "operator"} <= flt.keys():
            raise _BadQuery(32000, f"filter {flt!r} needs field_name, field_values and operator")
        if not isinstance(flt["field_values"], list):
            raise _BadQuery(32000, f"field_values of {flt['field_name']} must be a list")
        if flt["operator"] not in _OPERATORS:
            raise _BadQuery(32000, f"unknown operator {flt['operator']!r}")
        if flt["operator"] not in {"IS", "ISN"} and not flt["field_values"]:
            raise _BadQuery(32000, f"field_values of {flt['field_name']} is empty")
    return filters


class _Table:
    """One object's records plus an index sorted by (last_modified_time, _id) for fast keyset pages."""

    def __init__(self) -> None:
        self.rows: dict[str, dict[str, Any]] = {}
        self.keys: list[tuple[int, str]] = []

    def put(self, record: dict[str, Any]) -> None:
        old = self.rows.get(record["_id"])
        if old is not None:
            key = (old["last_modified_time"], old["_id"])
            at = bisect.bisect_left(self.keys, key)
            if at < len(self.keys) and self.keys[at] == key:
                del self.keys[at]
        self.rows[record["_id"]] = record
        bisect.insort(self.keys, (record["last_modified_time"], record["_id"]))

    def bulk_load(self, records: Iterable[dict[str, Any]]) -> None:
        for record in records:
            self.rows[record["_id"]] = record
        self.keys = sorted((r["last_modified_time"], r["_id"]) for r in self.rows.values())

    def select(
        self, filters: list[dict[str, Any]], orders: list[dict[str, Any]], offset: int, limit: int
    ) -> list[dict[str, Any]]:
        fast = self._fast_start(filters, orders)
        if fast is None:
            rows = [r for r in self.rows.values() if all(_match(r, f) for f in filters)]
            for order in reversed(orders):
                rows.sort(key=lambda r, n=order["fieldName"]: _sort_key(r.get(n)), reverse=not order["isAsc"])
            return rows[offset : offset + limit]
        start, stop_above = fast
        out: list[dict[str, Any]] = []
        skipped = 0
        for lmt, rid in self.keys[start:]:
            if stop_above is not None and lmt > stop_above:
                break
            row = self.rows[rid]
            if not all(_match(row, f) for f in filters):
                continue
            if skipped < offset:
                skipped += 1
                continue
            out.append(row)
            if len(out) == limit:
                break
        return out

    def _fast_start(
        self, filters: list[dict[str, Any]], orders: list[dict[str, Any]]
    ) -> tuple[int, int | None] | None:
        """Where to start scanning the time index, when the query's order is the index order."""
        shape = [(o.get("fieldName"), o.get("isAsc")) for o in orders]
        time_filters = [f for f in filters if f["field_name"] == "last_modified_time"]
        eq = [f for f in time_filters if f["operator"] == "EQ"]
        if eq and shape in ([("_id", True)], [("last_modified_time", True), ("_id", True)]):
            t = int(eq[0]["field_values"][0])
            return bisect.bisect_left(self.keys, (t, "")), t
        if shape not in ([("last_modified_time", True)], [("last_modified_time", True), ("_id", True)]):
            return None
        lows = [
            int(f["field_values"][0]) + (1 if f["operator"] == "GT" else 0)
            for f in time_filters
            if f["operator"] in {"GT", "GTE"}
        ]
        return (bisect.bisect_left(self.keys, (max(lows), "")) if lows else 0), None


def _sort_key(value: Any) -> tuple[int, Any]:
    if value is None:
        return (0, "")
    if isinstance(value, int | float) and not isinstance(value, bool):
        return (1, value)
    return (2, str(value))


# ---------------------------------------------------------------------------------------------
# the server
# ---------------------------------------------------------------------------------------------


_AMOUNT_TEXT = re.compile(r"^-?\d+\.\d+$")


def _as_number(value: Any) -> Any:
    """A decimal text as the JSON number a Java server writes (a double: "11300.10" -> 11300.1)."""
    return float(value) if isinstance(value, str) and _AMOUNT_TEXT.match(value) else value


class FakeFxiaoke:
    """The fake gateway and its tenant; see the module docstring."""

    def __init__(
        self,
        *,
        records: int | Mapping[str, int] = 20,
        objects: Iterable[str] = OBJECTS,
        seed: int = 20261128,
        custom_objects: Mapping[str, int] | None = None,
        token_ttl: float = 7200.0,
        rate_limit: tuple[int, float] | None = (100, 20.0),
        token_rate_limit: tuple[int, float] = (10, 60.0),
        hang_seconds: float = 3.0,
        port: int = 0,
        hide_invalid: bool = False,
        app_secret: str = APP_SECRET,
        permanent_code: str = PERMANENT_CODE,
        numeric_amounts: bool = False,
    ) -> None:
        self.app_secret, self.permanent_code = app_secret, permanent_code  # the app's credentials
        #: answer money fields as JSON numbers (a Java double: 11300.1), as some tenants do
        self.numeric_amounts = numeric_amounts
        counts = dict(records) if isinstance(records, Mapping) else dict.fromkeys(objects, records)
        self.seed = seed
        self.token_ttl = token_ttl
        #: the other reading of spec §6.2: voided rows only come back when life_status is filtered on
        self.hide_invalid = hide_invalid
        self.rate_limit = rate_limit
        self.token_rate_limit = token_rate_limit
        self.hang_seconds = hang_seconds
        self.users = {OPEN_USER_ID}
        self.requests: list[RecordedRequest] = []
        self.updates: list[dict[str, Any]] = []
        self.faults: list[Fault] = []
        self._lock = threading.RLock()
        self._tables: dict[str, _Table] = {api: _Table() for api in OBJECTS}
        self._tokens: dict[str, float] = {}  # token -> expiry (monotonic)
        self._current_token: tuple[str, float] | None = None  # (token, issued at)
        self._calls: dict[str, deque[float]] = {}
        self._closing = threading.Event()
        self._clock_ms = 0
        tenant = _Tenant(seed, counts)
        for api, count in counts.items():
            if api not in OBJECTS:
                raise ValueError(f"unknown object {api!r}")
            self._tables[api].bulk_load(tenant.make(api, i) for i in range(count))
        for api, count in (custom_objects or {}).items():
            self._tables[api] = _Table()
            self._tables[api].bulk_load(self._custom_record(api, i) for i in range(count))
        self._advance_clock()
        self._server = QuietServer(("127.0.0.1", port), self._handler_class())
        self._thread: threading.Thread | None = None

    # -- lifecycle ---------------------------------------------------------------------------

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> FakeFxiaoke:
        self._thread = serve_in_thread(self._server, name="fake-fxiaoke", poll_interval=0.05)
        return self

    def close(self) -> None:
        self._closing.set()
        stop_server(self._server)
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> FakeFxiaoke:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def source_config(self, **overrides: Any) -> dict[str, Any]:
        """A connector config pointing at this fake (plain dict, as Airbyte passes it)."""
        config: dict[str, Any] = {
            "base_url": self.url,
            "app_id": APP_ID,
            "app_secret": self.app_secret,
            "permanent_code": self.permanent_code,
            "open_user_id": OPEN_USER_ID,
            "start_date": "2025-01-01",
            "requests_per_second": 1000,
        }
        config.update(overrides)
        return config

    # -- the tenant, for tests ----------------------------------------------------------------

    def records(self, api: str) -> list[dict[str, Any]]:
        """Copies of every record of ``api`` (voided ones included), in (time, _id) order."""
        with self._lock:
            table = self._tables[api]
            return [json.loads(json.dumps(table.rows[rid])) for _, rid in table.keys]

    def ids(self, api: str) -> list[str]:
        with self._lock:
            return [rid for _, rid in self._tables[api].keys]

    def get(self, api: str, record_id: str) -> dict[str, Any]:
        with self._lock:
            return json.loads(json.dumps(self._tables[api].rows[record_id]))

    def _advance_clock(self) -> None:
        """The server clock never runs behind its data (sample tenants may be dated ahead)."""
        with self._lock:
            for table in self._tables.values():
                if table.keys:
                    self._clock_ms = max(self._clock_ms, table.keys[-1][0])

    def now_ms(self) -> int:
        """The fake's clock: real time, but strictly increasing and ahead of every record, so each
        edit is the newest change (as on the real server, whose clock stamps last_modified_time)."""
        with self._lock:
            self._clock_ms = max(int(time.time() * 1000), self._clock_ms + 1)
            return self._clock_ms

    def edit(self, api: str, record_id: str, *, at_ms: int | None = None, **fields: Any) -> dict[str, Any]:
        """Change fields of a record as a CRM user would: bumps last_modified_time and version."""
        with self._lock:
            record = dict(self._tables[api].rows[record_id])
            record.update(fields)
            record["last_modified_time"] = self.now_ms() if at_ms is None else at_ms
            record["version"] = str(int(record.get("version", "1")) + 1)
            self._tables[api].put(record)
            return dict(record)

    def void(self, api: str, record_id: str) -> dict[str, Any]:
        """作废: life_status becomes invalid (the record stays readable)."""
        return self.edit(api, record_id, life_status="invalid")

    def bulk_edit(self, api: str, record_ids: Iterable[str], **fields: Any) -> int:
        """A mass update (import, batch action): every record gets the same last_modified_time."""
        stamp = self.now_ms()
        with self._lock:
            for rid in record_ids:
                self.edit(api, rid, at_ms=stamp, **fields)
        return stamp

    def add(self, api: str, **fields: Any) -> dict[str, Any]:
        """A new record (fields win over the generated ones)."""
        with self._lock:
            table = self._tables[api]
            index = len(table.rows)
            record = (
                _Tenant(self.seed, {api: index + 1}).make(api, index)
                if api in OBJECTS
                else self._custom_record(api, index)
            )
            stamp = self.now_ms()
            record.update(
                {
                    "_id": f"{stamp // 1000:08x}{secrets.token_hex(8)}",
                    "create_time": stamp,
                    "last_modified_time": stamp,
                    "version": "1",
                }
            )
            record.update(fields)
            table.put(record)
            return dict(record)

    def lock(self, api: str, record_id: str) -> None:
        with self._lock:
            record = dict(self._tables[api].rows[record_id])
            record["lock_status"] = "1"
            self._tables[api].put(record)

    def unlock(self, api: str, record_id: str) -> None:
        """The approval that locked the record has ended: updates are taken again."""
        with self._lock:
            record = dict(self._tables[api].rows[record_id])
            record["lock_status"] = "0"
            self._tables[api].put(record)

    def load_jsonl(self, folder: str | Path) -> None:
        """Serve the records of ``<folder>/<ApiName>.jsonl`` files (e.g. examples/crm) as the tenant."""
        for path in sorted(Path(folder).glob("*.jsonl")):
            rows = [
                json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()
            ]
            with self._lock:
                self._tables.setdefault(path.stem, _Table()).bulk_load(rows)
        self._advance_clock()

    def total(self, api: str, amount_field: str, *, life_status: str | None = "normal") -> Decimal:
        """Sum of a money field (Decimal) over the records with that life_status (None = all)."""
        with self._lock:
            return sum(
                (
                    Decimal(r[amount_field])
                    for r in self._tables[api].rows.values()
                    if amount_field in r and (life_status is None or r.get("life_status") == life_status)
                ),
                Decimal("0.00"),
            )

    # -- tokens, faults, recording ------------------------------------------------------------

    def expire_tokens(self) -> None:
        """Every issued token dies now (the next business call answers 20016)."""
        with self._lock:
            self._tokens.clear()
            self._current_token = None

    def inject(
        self,
        kind: str,
        *,
        path: str | None = QUERY_PATH,
        times: int = 1,
        after: int = 0,
        code: int = 0,
        fn: Callable[[], None] | None = None,
    ) -> Fault:
        """Queue a fault: ``http_500``/``http_502``/``http_503``, ``hang``, ``reset``, ``malformed``,
        ``not_json``, ``token_expired``, ``throttle``, ``error`` (answer ``code``), or ``after_page``
        (run ``fn`` after the page is computed: a sudden edit between pages)."""
        fault = Fault(kind=kind, path=path, times=times, after=after, code=code, fn=fn)
        with self._lock:
            self.faults.append(fault)
        return fault

    def calls(self, path: str) -> list[RecordedRequest]:
        with self._lock:
            return [r for r in self.requests if r.path == path]

    def query_bodies(self) -> list[dict[str, Any]]:
        """The ``data`` of every query call (both query endpoints)."""
        with self._lock:
            return [
                r.body["data"]
                for r in self.requests
                if r.path in (QUERY_PATH, CUSTOM_QUERY_PATH) and isinstance(r.body, dict)
            ]

    # -- request handling ---------------------------------------------------------------------

    def _take_fault(self, path: str) -> Fault | None:
        with self._lock:
            for fault in self.faults:
                if fault.times > 0 and fault.matches(path):
                    fault.seen += 1
                    if fault.seen > fault.after:
                        fault.times -= 1
                        return fault
            return None

    def _give_back(self, fault: Fault) -> None:
        with self._lock:
            fault.times += 1

    def _throttled(self, path: str, limit: tuple[int, float] | None) -> bool:
        if limit is None:
            return False
        calls, window = limit
        now = time.monotonic()
        with self._lock:
            recent = self._calls.setdefault(path, deque())
            while recent and now - recent[0] > window:
                recent.popleft()
            if len(recent) >= calls:
                return True
            recent.append(now)
            return False

    def _answer(self, path: str, body: Any) -> dict[str, Any]:
        if path == TOKEN_PATH:
            return self._token(body)
        handlers = {
            QUERY_PATH: self._query,
            CUSTOM_QUERY_PATH: self._query,
            DESCRIBE_PATH: self._describe,
            UPDATE_PATH: self._update,
            CUSTOM_UPDATE_PATH: self._update,
        }
        handler = handlers.get(path)
        if handler is None:
            return {
                "errorCode": 32000,
                "errorMessage": f"no such interface {path}",
                "errorDescription": "参数错误",
            }
        if self._throttled(path, self.rate_limit):
            return {"errorCode": 30004, "errorMessage": "秒频次超限", "traceId": self._trace()}
        auth = self._check_auth(body)
        if auth is not None:
            return auth
        try:
            return handler(path, body["data"] if isinstance(body.get("data"), dict) else {}, body)
        except _BadQuery as exc:
            return {**exc.body, "traceId": self._trace()}

    def _trace(self) -> str:
        return f"E-O.fs123456.1000-{secrets.token_hex(8)}"

    def _token(self, body: Any) -> dict[str, Any]:
        if (
            not isinstance(body, dict)
            or body.get("appSecret") != self.app_secret
            or body.get("appId") != APP_ID
        ):
            return {
                "errorCode": 10006,  # a generic parameter error (spec addendum), here the secret
                "errorMessage": "the parameter appSecret is missing or illegal",
                "errorDescription": "缺少参数或参数不合法",
                "traceId": "open-api-gateway-web/0a1b2c",
            }
        if body.get("permanentCode") != self.permanent_code:
            return {
                "errorCode": 20015,
                "errorMessage": "permanentCode is error",
                "errorDescription": "永久授权码错误",
            }
        if self._throttled(TOKEN_PATH, self.token_rate_limit):
            return {"errorCode": 14001, "errorMessage": "接口调用超过限制", "traceId": self._trace()}
        now = time.monotonic()
        with self._lock:
            current = self._current_token
            # the same token is handed out until the last 1/12 of its life (6600 of 7200 s)
            if (
                current is None
                or now - current[1] >= self.token_ttl * 11 / 12
                or current[0] not in self._tokens
            ):
                token = secrets.token_hex(16).upper()
                self._tokens[token] = now + self.token_ttl
                self._current_token = current = (token, now)
            remaining = max(int(self._tokens[current[0]] - now), 0)
        return {
            "errorCode": 0,
            "errorMessage": "success",
            "corpAccessToken": current[0],
            "corpId": CORP_ID,
            "expiresIn": remaining,
        }

    def _check_auth(self, body: Any) -> dict[str, Any] | None:
        token = body.get("corpAccessToken") if isinstance(body, dict) else None
        if not token:
            return {
                "traceId": "E-O.null.-1000-0a1b2c3e",
                "errorMessage": "corpAccessToken为必填项，不能为空",
                "errorCode": 20017,
            }
        with self._lock:
            expiry = self._tokens.get(token)
        if expiry is None or time.monotonic() >= expiry or body.get("corpId") != CORP_ID:
            return {
                "traceId": "E-O.null.-1000-0a1b2c3d",
                "errorMessage": "the cropId,cropAccessToken or authorization is error",
                "errorCode": 20016,
            }
        if body.get("currentOpenUserId") not in self.users:
            return {"errorCode": 20012, "errorMessage": "openUserId not found", "traceId": self._trace()}
        return None

    def _table_for(self, path: str, api: Any) -> _Table:
        if not isinstance(api, str) or api not in self._tables:
            raise _BadQuery(32000, f"对象 {api!r} 不存在", "对象不存在")
        custom_path = path.startswith("/cgi/crm/custom/")
        if api.endswith("__c") and not custom_path:
            raise _BadQuery(32000, f"{api} is a custom object: use {CUSTOM_QUERY_PATH}")
        return self._tables[api]

    def _query(self, path: str, data: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
        table = self._table_for(path, data.get("dataObjectApiName"))
        info = data.get("search_query_info")
        if not isinstance(info, dict):
            raise _BadQuery(32000, "search_query_info is required")
        limit, offset = info.get("limit", 20), info.get("offset", 0)
        if not isinstance(limit, int) or not 1 <= limit <= 100:
            raise _BadQuery(32000, f"limit {limit!r} out of range 1..100")
        if not isinstance(offset, int) or offset < 0:
            raise _BadQuery(32000, f"offset {offset!r} invalid")
        if offset > 10000:
            raise _BadQuery(10013, "offset out of range 10000", "offset 不能超过10000")
        if offset % limit:
            raise _BadQuery(32000, f"offset {offset} must be a multiple of limit {limit}")
        filters = _check_filters(info.get("filters", []))
        if self.hide_invalid and not any(f["field_name"] == "life_status" for f in filters):
            filters = [*filters, {"field_name": "life_status", "field_values": ["invalid"], "operator": "N"}]
        orders = info.get("orders") or [{"fieldName": "create_time", "isAsc": False}]
        projection = info.get("fieldProjection")
        with self._lock:
            rows = table.select(filters, orders, offset, limit)
            page = [dict(r) for r in rows]
        if isinstance(projection, list) and projection:
            page = [{k: v for k, v in r.items() if k in projection or k == "_id"} for r in page]
        if not body.get("includeNull"):
            page = [{k: v for k, v in r.items() if v is not None} for r in page]
        if self.numeric_amounts:
            page = [{k: _as_number(v) for k, v in r.items()} for r in page]
        total = 0
        if data.get("find_explicit_total_num", True):
            with self._lock:
                total = sum(1 for r in table.rows.values() if all(_match(r, f) for f in filters))
        return {
            "errorCode": 0,
            "errorMessage": "OK",
            "errorDescription": "success",
            "traceId": self._trace(),
            "data": {"dataList": page, "total": total, "offset": offset, "limit": limit},
        }

    def _describe(self, path: str, data: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
        table = self._table_for("/cgi/crm/custom/", data.get("apiName"))
        with self._lock:
            sample = next(iter(table.rows.values()), {})
        fields = {
            name: {
                "api_name": name,
                "type": _field_type(name),
                "label": name,
                **({"decimal_places": 2} if _field_type(name) == "currency" else {}),
                **({"time_zone": "GMT+8"} if _field_type(name) in {"date", "date_time"} else {}),
            }
            for name in sample
        }
        return {
            "errorCode": 0,
            "errorMessage": "OK",
            "errorDescription": "success",
            "traceId": self._trace(),
            "data": {"describe": {"api_name": data.get("apiName"), "fields": fields}},
        }

    def _update(self, path: str, data: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
        obj = data.get("object_data")
        if not isinstance(obj, dict) or not obj.get("_id"):
            raise _BadQuery(32000, "object_data._id is required")
        api = obj.get("dataObjectApiName")
        table = self._table_for(path, api)
        with self._lock:
            record = table.rows.get(obj["_id"])
            if record is None:
                raise _BadQuery(32000, f"数据 {obj['_id']} 不存在或已删除", "数据不存在")
            entry = {
                "object": api,
                "id": obj["_id"],
                "fields": {k: v for k, v in obj.items() if k not in {"_id", "dataObjectApiName"}},
                "triggerWorkFlow": body.get("triggerWorkFlow", True),
                "triggerApprovalFlow": body.get("triggerApprovalFlow", True),
                "accepted": False,
            }
            self.updates.append(entry)
            if record.get("lock_status") == "1":
                # the code for a locked record is not documented [inference]; the shape is the usual one
                raise _BadQuery(32000, "数据已锁定，不能编辑", "该数据已被锁定")
            entry["accepted"] = True
            self.edit(api, obj["_id"], **entry["fields"])
        return {
            "errorCode": 0,
            "errorMessage": "OK",
            "errorDescription": "success",
            "traceId": self._trace(),
            "dataId": obj["_id"],
        }

    def _custom_record(self, api: str, i: int) -> dict[str, Any]:
        tenant = _Tenant(self.seed, {})
        record = tenant.envelope(api, i, f"{api}-{i + 1:05d}")
        record["_id"] = _oid(self.seed, api, i, record["create_time"])
        record["amount__c"] = _money(10_000 + _h(self.seed, api, i) % 1_000_000)
        return record

    def _handle(self, path: str, query: str, raw: bytes) -> tuple[int, bytes, str] | str:
        """The (status, body, content type) for one POST, or ``"hang"``/``"reset"`` for a dropped call."""
        try:
            body: Any = json.loads(raw) if raw else None
        except ValueError:
            body = None
        entry = RecordedRequest(path, body, {k: v[0] for k, v in parse_qs(query).items()}, time.time())
        with self._lock:
            self.requests.append(entry)
        fault = self._take_fault(path)
        if fault is not None:
            entry.fault = fault.kind
            early = self._fault_answer(fault, entry)
            if early is not None:
                return early
        answer = self._answer(path, body if isinstance(body, dict) else {})
        entry.error_code = answer.get("errorCode")
        if fault is not None and fault.kind in _PAGE_FAULTS and answer.get("errorCode") != 0:
            # a page fault is about a page: a call refused first (stale token, throttle) keeps it
            self._give_back(fault)
            entry.fault, fault = None, None
        if fault is not None and fault.kind == "after_page" and fault.fn is not None:
            fault.fn()
        if fault is not None and fault.kind == "malformed" and answer.get("errorCode") == 0:
            answer = {**answer, "data": {"dataList": {"records": "unexpected"}}}
        return 200, json.dumps(answer, ensure_ascii=False).encode("utf-8"), _JSON

    def _fault_answer(self, fault: Fault, entry: RecordedRequest) -> tuple[int, bytes, str] | str | None:
        """What a fault answers instead of the real handler (None: go on to the real handler)."""
        kind = fault.kind
        if kind.startswith("http_"):
            entry.http_status = int(kind[5:])
            return entry.http_status, b"<html><body>502 Bad Gateway</body></html>", "text/html"
        if kind in {"hang", "reset"}:
            return kind
        if kind == "not_json":
            return 200, b"<html><head><title>302 Found</title></head></html>", "text/html"
        if kind == "token_expired":
            self.expire_tokens()
            return None
        if kind in {"throttle", "error"}:
            code = 30004 if kind == "throttle" else fault.code
            entry.error_code = code
            message = "秒频次超限" if kind == "throttle" else f"error {code}"
            body = {"errorCode": code, "errorMessage": message, "traceId": self._trace()}
            return 200, json.dumps(body, ensure_ascii=False).encode("utf-8"), _JSON
        return None

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # headers and body go out in two writes: no 40 ms stalls

            def log_message(self, format: str, *args: Any) -> None:
                return

            def do_GET(self) -> None:
                self._send(405, b"<html><body>Method Not Allowed</body></html>", "text/html")

            def do_POST(self) -> None:
                parts = urlsplit(self.path)
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                outcome = fake._handle(parts.path, parts.query, raw)
                if outcome == "hang":  # beyond the client's timeout, then drop the connection
                    fake._closing.wait(fake.hang_seconds)
                    self.close_connection = True
                elif outcome == "reset":  # RST instead of an answer
                    self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                    self.close_connection = True
                elif isinstance(outcome, tuple):
                    self._send(*outcome)

            def _send(self, status: int, payload: bytes, content_type: str = _JSON) -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

        return Handler


def _serve(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m tests.fakes.fxiaoke", description=__doc__.split("\n")[0])
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--records", type=int, default=20, help="records per object")
    parser.add_argument("--objects", default=",".join(OBJECTS), help="comma-separated object API names")
    parser.add_argument("--seed", type=int, default=20261128)
    parser.add_argument("--no-throttle", action="store_true", help="do not enforce 100 calls / 20 s")
    parser.add_argument("--examples", help="serve the *.jsonl files of this folder instead of generated data")
    args = parser.parse_args(argv)
    objects = [o for o in args.objects.split(",") if o]
    fake = FakeFxiaoke(
        records=0 if args.examples else args.records,
        objects=objects,
        seed=args.seed,
        rate_limit=None if args.no_throttle else (100, 20.0),
        port=args.port,
    )
    if args.examples:
        fake.load_jsonl(args.examples)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    with fake:
        print(
            json.dumps(
                {"url": fake.url, **{k: v for k, v in fake.source_config().items() if k != "base_url"}}
            ),
            flush=True,
        )
        stop.wait()


if __name__ == "__main__":
    _serve(sys.argv[1:])
