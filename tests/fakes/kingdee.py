"""A fake Kingdee K/3 Cloud (金蝶云星空) WebAPI on loopback, faithful to the wire (spec kingdee.md).

It speaks what the real server speaks, quirks included: every business failure is HTTP 200
with ``IsSuccess: false``; ExecuteBillQuery answers a bare 2-D array, or ``[[{envelope}]]``
on error; a lost session is MsgCode 1 "会话信息已丢失，请重新登录"; the API gateway rejects
with HTTP 519 and an ``errcode``. It verifies the X-Api/X-Kd signature headers (its own
implementation of the SDK algorithm, not the connector's) and session cookies, expires
sessions, validates vouchers like the real one (balanced, known accounts and customers, open
period, required fields, the dimensions each account requires) and numbers them 记-1, 记-2 …

Faults are injected at ``fault_rate`` with a seeded RNG: lost session, MsgCode 13 (网控),
MsgCode 14 (调用限制), HTTP 503, and a timeout *after* the voucher was saved.

What live tenants are reported to do (spec addendum 2026-12), as switches:

- ``hide_saved``: ExecuteBillQuery does not return vouchers that are only saved (status Z/A)
  -- ``"unless_status_filter"``: unless the FilterString names FDocumentStatus;
  ``"always"``: never; View by Number still finds them;
- ``coding_rule``: the tenant's coding rule (编码规则) replaces a client-supplied FBillNo with
  its own number;
- always on: FDate is honoured only when it comes after FAccountBookID and FEntity in the
  Model; before them the voucher lands in the current period (``today``).

Use it as a context manager in tests, or ``python -m tests.fakes.kingdee --port N
[--setup base.json] [--fault-rate 0.2 --seed 7]`` for a subprocess (``GET /_fake/state``
returns what it holds).
"""

from __future__ import annotations

import argparse
import base64
import datetime as dt
import hashlib
import hmac
import json
import random
import re
import threading
import time
import urllib.parse
import uuid
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from http.server import BaseHTTPRequestHandler
from typing import Any

from tests.fakes.http_fake import QuietServer, serve_in_thread, stop_server

__all__ = ["ALL_FAULTS", "FakeKingdee", "StoredVoucher"]

ALL_FAULTS = ("session_lost", "msg13", "msg14", "http503", "timeout_after_save")
WRITE_OPS = frozenset({"Save", "BatchSave", "Submit", "Audit"})
SESSION_LOST = "会话信息已丢失，请重新登录"
DIM_NAMES = {"FFLEX4": "供应商", "FFLEX5": "部门", "FFLEX6": "客户", "FFLEX7": "员工"}
DIM_FORMS = {"FFLEX4": "BD_Supplier", "FFLEX5": "BD_Department", "FFLEX6": "BD_Customer"}
_XOR_KEY = b"0054f397c6234378b09ca7d3e5debce7"
PREFIX = "/k3cloud/Kingdee.BOS.WebApi.ServicesStub."


def _b64hex_hmac(key: str, msg: str) -> str:
    return base64.b64encode(
        hmac.new(key.encode(), msg.encode(), hashlib.sha256).hexdigest().encode()
    ).decode()


@dataclass
class StoredEntry:
    entry_id: int
    account: str
    debit: Decimal
    credit: Decimal
    amount_for: Decimal
    currency: str
    dims: dict[str, str]
    explanation: str


@dataclass
class StoredVoucher:
    id: int
    book: str
    date: dt.date
    year: int
    period: int
    group: str
    group_no: int
    status: str
    header: dict[str, Any]
    entries: list[StoredEntry] = field(default_factory=list)

    @property
    def number(self) -> str:
        return f"{self.header.get('_group_name', '记')}-{self.group_no}"

    def field(self, name: str) -> Any:
        return self.header.get(name, "")


@dataclass
class _Session:
    id: str
    last_used: float


class FakeKingdee:
    """The fake site; every knob is a constructor argument, every assertion a method."""

    def __init__(
        self,
        *,
        acct_id: str = "65a1b2c3d4e5f6",
        username: str = "webapi",
        app_id: str = "224466_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        app_secret: str = "0123456789abcdef0123456789abcdef",
        password: str = "Kd!pass-2025",
        lcid: int = 2052,
        org_num: str = "0",
        books: Iterable[str] = ("001",),
        voucher_groups: Mapping[str, str] | None = None,
        accounts: Mapping[str, Sequence[str]] | None = None,
        customers: Iterable[str] = (),
        suppliers: Iterable[str] = (),
        departments: Iterable[str] = (),
        currencies: Iterable[str] = ("PRE001", "PRE007"),
        closed_periods: Iterable[str] = (),
        custom_fields: Iterable[str] = ("F_XXX_SyncKey",),
        login_methods: Iterable[str] = ("LoginBySign", "LoginByAppSecret", "ValidateUser"),
        session_ttl: float = 1800.0,
        fault_rate: float = 0.0,
        faults: Sequence[str] = ALL_FAULTS,
        seed: int = 0,
        timeout_delay: float = 2.0,
        clock_tolerance: float = 600.0,
        hide_saved: str = "never",
        coding_rule: bool = False,
        today: dt.date | None = None,
    ) -> None:
        if hide_saved not in ("never", "unless_status_filter", "always"):
            raise ValueError(f"hide_saved: {hide_saved!r}")
        self.hide_saved = hide_saved
        self.coding_rule = coding_rule
        self.today = today or dt.datetime.now(dt.timezone(dt.timedelta(hours=8))).date()
        self.acct_id, self.username, self.app_id, self.app_secret = acct_id, username, app_id, app_secret
        self.password, self.lcid, self.org_num = password, lcid, org_num
        self.books = set(books)
        self.voucher_groups = dict(voucher_groups or {"PRE001": "记"})
        self.accounts: dict[str, tuple[str, ...]] = {k: tuple(v) for k, v in (accounts or {}).items()}
        self.disabled_accounts: set[str] = set()
        self.base_data: dict[str, set[str]] = {
            "BD_Customer": set(customers),
            "BD_Supplier": set(suppliers),
            "BD_Department": set(departments),
        }
        self.currencies = set(currencies)
        self.closed_periods = set(closed_periods)
        self.custom_fields = set(custom_fields)
        self.login_methods = set(login_methods)
        self.session_ttl = session_ttl
        self.fault_rate = fault_rate
        self.faults = tuple(faults)
        self.timeout_delay = timeout_delay
        self.clock_tolerance = clock_tolerance
        self.vouchers: list[StoredVoucher] = []
        self.calls: Counter[str] = Counter()
        self.injected: Counter[str] = Counter()
        self.requests: list[tuple[str, dict[str, str], Any]] = []
        self._rng = random.Random(seed)
        self._scripted: dict[str, list[str]] = {}
        self._lock = threading.RLock()
        self._sessions: dict[str, _Session] = {}
        self._next_id = 100001
        self._next_entry = 230001
        self._numbers: Counter[tuple[str, int, int, str]] = Counter()
        self._server: QuietServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ------------------------------------------------------------------------

    def start(self, port: int = 0) -> FakeKingdee:
        fake = self

        class Handler(_Handler):
            site = fake

        self._server = QuietServer(("127.0.0.1", port), Handler)
        self._thread = serve_in_thread(self._server, name="fake-kingdee", poll_interval=0.05)
        return self

    def stop(self) -> None:
        if self._server is not None:
            stop_server(self._server)
            self._server = None

    def __enter__(self) -> FakeKingdee:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        assert self._server is not None, "start the fake first"
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/k3cloud/"

    # -- knobs used by tests --------------------------------------------------------------

    def expire_sessions(self) -> None:
        with self._lock:
            self._sessions.clear()

    def add_account(self, code: str, *dims: str) -> None:
        with self._lock:
            self.accounts[code] = tuple(dims)

    def add_customer(self, code: str) -> None:
        with self._lock:
            self.base_data["BD_Customer"].add(code)

    # -- assertions -----------------------------------------------------------------------

    def totals_by_account(self) -> dict[str, Decimal]:
        """Net debit minus credit per account over every stored voucher."""
        totals: dict[str, Decimal] = {}
        with self._lock:
            for voucher in self.vouchers:
                for entry in voucher.entries:
                    totals[entry.account] = totals.get(entry.account, Decimal(0)) + entry.debit - entry.credit
        return totals

    def count_by_ref(self, ref: str, field_name: str = "FBillNo") -> int:
        with self._lock:
            return sum(1 for v in self.vouchers if v.field(field_name) == ref)

    def refs(self, field_name: str = "FBillNo") -> Counter[str]:
        with self._lock:
            return Counter(str(v.field(field_name)) for v in self.vouchers)

    def by_ref(self, ref: str, field_name: str = "FBillNo") -> StoredVoucher | None:
        with self._lock:
            return next((v for v in self.vouchers if v.field(field_name) == ref), None)

    def state(self) -> dict[str, Any]:
        with self._lock:
            return {
                "vouchers": [
                    {
                        "id": v.id,
                        "number": v.number,
                        "status": v.status,
                        "date": v.date.isoformat(),
                        "header": {k: v2 for k, v2 in v.header.items() if not k.startswith("_")},
                        "entries": [
                            {
                                "account": e.account,
                                "debit": str(e.debit),
                                "credit": str(e.credit),
                                "dims": e.dims,
                                "explanation": e.explanation,
                            }
                            for e in v.entries
                        ],
                    }
                    for v in self.vouchers
                ],
                "calls": dict(self.calls),
                "injected": dict(self.injected),
            }

    # -- authentication -------------------------------------------------------------------

    def _client_sec(self) -> str:
        part = self.app_id.split("_", 1)[1] if "_" in self.app_id else ""
        if len(part) != 32:
            return ""
        raw = base64.b64decode(part)
        return base64.b64encode(bytes(b ^ _XOR_KEY[i % len(_XOR_KEY)] for i, b in enumerate(raw))).decode()

    def _check_signature(self, path: str, headers: Mapping[str, str]) -> tuple[int, str] | None:
        """None when the X-Api/X-Kd headers are right, else (errcode, description) for a 519."""
        appkey = headers.get("x-kd-appkey", "")
        if not appkey or headers.get("x-api-clientid", "") != self.app_id.split("_", 1)[0]:
            return 4002, "Unauthorized, APP_ID is empty[GW]"
        if appkey != self.app_id:
            return 4001, "Unauthorized, APP_ID is invalid[GW]"
        ts = headers.get("x-api-timestamp", "")
        if not ts.isdigit() or abs(time.time() - int(ts)) > self.clock_tolerance:
            return 4006, "X-Api-TimeStamp过期"
        enc = urllib.parse.quote(path, safe="").replace("/", "%2F")
        nonce = headers.get("x-api-nonce", "")
        expected = _b64hex_hmac(
            self._client_sec(), f"POST\n{enc}\n\nx-api-nonce:{nonce}\nx-api-timestamp:{ts}\n"
        )
        plain = f"{self.acct_id},{self.username},{self.lcid},{self.org_num}"
        if (
            headers.get("x-api-signature") != expected
            or headers.get("x-kd-appdata") != base64.b64encode(plain.encode()).decode()
            or headers.get("x-kd-signature") != _b64hex_hmac(self.app_secret, self.app_id + plain)
        ):
            return 4003, "Unauthorized, signature is invalid[GW]"
        return None

    def _session_of(self, headers: Mapping[str, str]) -> str:
        cookie = headers.get("cookie", "")
        match = re.search(r"kdservice-sessionid=([^;\s]+)", cookie)
        return match.group(1) if match else headers.get("kdservice-sessionid", "")

    def _live(self, sid: str) -> bool:
        with self._lock:
            session = self._sessions.get(sid)
            now = time.monotonic()
            if session is None or now - session.last_used > self.session_ttl:
                self._sessions.pop(sid, None)
                return False
            session.last_used = now
            return True

    def _new_session(self) -> str:
        sid = str(uuid.uuid4())
        with self._lock:
            self._sessions[sid] = _Session(sid, time.monotonic())
        return sid

    def login(self, method: str, params: Sequence[Any]) -> tuple[dict[str, Any], str | None]:
        """(body, new session id or None) for a login call."""
        ok = False
        if method == "LoginBySign" and len(params) >= 6:
            acct, user, app, ts, sign = (str(p) for p in params[:5])
            parts = "".join(sorted([self.acct_id, self.username, self.app_id, self.app_secret, ts]))
            good = {hashlib.sha256(parts.encode()).hexdigest(), hashlib.sha1(parts.encode()).hexdigest()}
            fresh = ts.isdigit() and abs(time.time() - int(ts)) <= self.clock_tolerance
            ok = (acct, user, app) == (self.acct_id, self.username, self.app_id) and sign in good and fresh
        elif method == "LoginByAppSecret" and len(params) >= 4:
            ok = [str(p) for p in params[:4]] == [self.acct_id, self.username, self.app_id, self.app_secret]
        elif method == "ValidateUser" and len(params) >= 3:
            ok = [str(p) for p in params[:3]] == [self.acct_id, self.username, self.password]
        if not ok:
            return {
                "Message": "用户名或密码错误！",
                "MessageCode": "LoginFailed",
                "LoginResultType": 0,
                "Context": None,
                "KDSVCSessionId": None,
                "IsSuccessByAPI": False,
            }, None
        sid = self._new_session()
        body = {
            "Message": None,
            "MessageCode": "CheckPasswordPolicy",
            "LoginResultType": 1,
            "Context": {
                "UserLocale": "zh-CN",
                "DBid": self.acct_id,
                "SessionId": sid[:24],
                "UserId": 178301,
                "UserName": self.username,
                "DisplayVersion": "9.0.553.10",
                "DataCenterName": "正式账套",
                "CurrentOrganizationInfo": {"ID": 1, "Name": "总公司"},
            },
            "KDSVCSessionId": sid,
            "FormId": None,
            "ErrorStackTrace": None,
            "Lcid": 0,
            "AccessToken": None,
            "IsSuccessByAPI": True,
        }
        return body, sid

    # -- faults ---------------------------------------------------------------------------

    def script_fault(self, operation: str, fault: str) -> None:
        """Inject ``fault`` on the next call of ``operation`` (besides the random ones)."""
        with self._lock:
            self._scripted.setdefault(operation, []).append(fault)

    def draw_fault(self, operation: str) -> str | None:
        with self._lock:
            if self._scripted.get(operation):
                fault = self._scripted[operation].pop(0)
                self.injected[fault] += 1
                return fault
            if self.fault_rate <= 0 or self._rng.random() >= self.fault_rate:
                return None
            choices = [f for f in self.faults if f != "timeout_after_save" or operation in WRITE_OPS]
            if not choices:
                return None
            fault = self._rng.choice(choices)
            self.injected[fault] += 1
            return fault

    # -- operations -----------------------------------------------------------------------

    def operate(self, operation: str, body: Mapping[str, Any]) -> Any:
        data = body.get("data")
        if data is None and isinstance(body.get("parameters"), list):
            params = body["parameters"]
            data = params[-1] if params else {}
        if isinstance(data, str):
            data = json.loads(data, parse_float=Decimal)
        data = data if isinstance(data, Mapping) else {}
        with self._lock:
            if operation == "Save":
                return self._save([data.get("Model")], data)
            if operation == "BatchSave":
                models = data.get("Model")
                return self._save(models if isinstance(models, list) else [models], data)
            if operation in ("Submit", "Audit"):
                return self._transition(operation, data)
            if operation == "ExecuteBillQuery":
                return self._query(data)
            if operation == "View":
                return self._view(data)
        return envelope(False, [("", f"不支持的操作 {operation}", 0)], msg_code=3)

    def _save(self, models: list[Any], data: Mapping[str, Any]) -> dict[str, Any]:
        auto = str(data.get("IsAutoSubmitAndAudit", "false")).lower() == "true"
        returns = [str(f) for f in data.get("NeedReturnFields") or []]
        errors: list[tuple[str, str, int]] = []
        successes: list[dict[str, Any]] = []
        need: list[dict[str, Any]] = []
        for index, model in enumerate(models):
            problems = self._validate(model) if isinstance(model, Mapping) else [("Model", "Model 不是对象")]
            if problems:
                errors.extend((f, m, index) for f, m in problems)
                continue
            voucher = self._store(model, "C" if auto else "A")
            successes.append({"Id": voucher.id, "Number": str(voucher.field("FBillNo")), "DIndex": index})
            need.append({k: self._header_value(voucher, k) for k in returns})
        result = envelope(not errors, errors, successes, msg_code=11 if errors else 0)
        if successes and len(models) == 1:
            result["Result"].update({"Id": successes[0]["Id"], "Number": successes[0]["Number"]})
        result["Result"]["NeedReturnData"] = need
        return result

    def _header_value(self, voucher: StoredVoucher, key: str) -> Any:
        if key == "FVOUCHERID":
            return voucher.id
        if key == "FVOUCHERGROUPNO":
            return str(voucher.group_no)
        if key == "FDocumentStatus":
            return voucher.status
        return voucher.field(key)

    def _validate(self, model: Mapping[str, Any]) -> list[tuple[str, str]]:
        problems: list[tuple[str, str]] = []
        book = _number(model.get("FAccountBookID"))
        group = _number(model.get("FVOUCHERGROUPID"))
        if not book:
            problems.append(("FAccountBookID", "字段“账簿”是必填项"))
        elif book not in self.books:
            problems.append(("FAccountBookID", f"账簿“{book}”不存在或未审核"))
        if not group:
            problems.append(("FVOUCHERGROUPID", "字段“凭证字”是必填项"))
        elif group not in self.voucher_groups:
            problems.append(("FVOUCHERGROUPID", f"凭证字“{group}”不存在"))
        for key in model:
            if key.startswith("F_") and key not in self.custom_fields:
                problems.append((key, f"元数据中标识为{key}的字段不存在"))
        date = _date(model.get("FDate"))
        if date is None:
            problems.append(("FDate", "字段“日期”是必填项"))
        else:
            year, period = int(model.get("FYEAR") or date.year), int(model.get("FPERIOD") or date.month)
            keys = list(model)
            if any(k in keys and keys.index("FDate") < keys.index(k) for k in ("FAccountBookID", "FEntity")):
                pass  # the date is not honoured anyway (see _store)
            elif (year, period) != (date.year, date.month):
                problems.append(("FPERIOD", f"凭证日期{date}不在会计期间{year}年第{period}期内"))
            elif f"{year:04d}-{period:02d}" in self.closed_periods:
                problems.append(("FDate", f"账簿“{book}”的{year}年第{period}期已结账，不能新增凭证"))
        entries = model.get("FEntity")
        if not isinstance(entries, list) or len(entries) < 2:
            problems.append(("FEntity", "凭证分录至少需要两行"))
            return problems
        debit, credit = Decimal(0), Decimal(0)
        for number, entry in enumerate(entries, 1):
            problems.extend(self._validate_entry(number, entry))
            d, c = _amount(entry.get("FDEBIT")), _amount(entry.get("FCREDIT"))
            debit += d or 0
            credit += c or 0
        if not problems and debit != credit:
            problems.append(("FEntity", f"凭证借贷方不平衡，借方合计{debit}，贷方合计{credit}"))
        return problems

    def _validate_entry(self, n: int, entry: Any) -> list[tuple[str, str]]:
        if not isinstance(entry, Mapping):
            return [("FEntity", f"第{n}行分录格式不正确")]
        problems: list[tuple[str, str]] = []
        account = _number(entry.get("FACCOUNTID"))
        if not account:
            problems.append(("FACCOUNTID", f"第{n}行分录，字段“科目编码”是必填项"))
        elif account not in self.accounts or account in self.disabled_accounts:
            problems.append(("FACCOUNTID", f"第{n}行分录，科目“{account}”不存在或已禁用"))
        currency = _number(entry.get("FCURRENCYID"))
        if not currency:
            problems.append(("FCURRENCYID", f"第{n}行分录，字段“币别”是必填项"))
        elif currency not in self.currencies:
            problems.append(("FCURRENCYID", f"第{n}行分录，币别“{currency}”不存在"))
        if not _number(entry.get("FEXCHANGERATETYPE")):
            problems.append(("FEXCHANGERATETYPE", f"第{n}行分录，字段“汇率类型”是必填项"))
        debit, credit = _amount(entry.get("FDEBIT")), _amount(entry.get("FCREDIT"))
        if debit is None or credit is None or _amount(entry.get("FAMOUNTFOR")) is None:
            problems.append(("FDEBIT", f"第{n}行分录，金额必须是数字"))
        elif debit and credit:
            problems.append(("FDEBIT", f"第{n}行分录，借方金额和贷方金额不能同时有值"))
        elif not debit and not credit:
            problems.append(("FDEBIT", f"第{n}行分录，借方金额和贷方金额不能同时为零"))
        if account in self.accounts:
            problems.extend(self._validate_dims(n, account, entry.get("FDetailID")))
        return problems

    def _validate_dims(self, n: int, account: str, detail: Any) -> list[tuple[str, str]]:
        given = (
            {str(k).split("__", 1)[-1].upper(): _number(v) for k, v in (detail or {}).items()}
            if isinstance(detail, Mapping)
            else {}
        )
        given = {k: v for k, v in given.items() if v}
        required = self.accounts[account]
        problems = []
        for flex in required:
            if flex not in given:
                problems.append(
                    (
                        "FACCOUNTID",
                        f"第{n}行分录，科目“{account}”的核算维度“{DIM_NAMES.get(flex, flex)}”为必录项！",
                    )
                )
        for flex, code in given.items():
            if flex not in required:
                problems.append(
                    ("FDetailID", f"第{n}行分录，科目“{account}”未设置核算维度“{DIM_NAMES.get(flex, flex)}”")
                )
            elif flex in DIM_FORMS and code not in self.base_data[DIM_FORMS[flex]]:
                problems.append(
                    ("FDetailID", f"第{n}行分录，核算维度“{DIM_NAMES[flex]}”的编码“{code}”不存在")
                )
        return problems

    def _store(self, model: Mapping[str, Any], status: str) -> StoredVoucher:
        date = _date(model.get("FDate"))
        assert date is not None
        keys = list(model)
        if any(k in keys and keys.index("FDate") < keys.index(k) for k in ("FAccountBookID", "FEntity")):
            date = self.today  # FDate read before the book and entries: the current period wins
        book, group = _number(model.get("FAccountBookID")), _number(model.get("FVOUCHERGROUPID"))
        slot = (book, date.year, date.month, group)
        self._numbers[slot] += 1
        header = {k: v for k, v in model.items() if not isinstance(v, list | dict)}
        header["_group_name"] = self.voucher_groups[group]
        header.setdefault("FBillNo", f"JZPZ{self._next_id:06d}")
        if self.coding_rule:
            header["FBillNo"] = f"JZPZ{date.year}{date.month:02d}{self._numbers[slot]:05d}"
        voucher = StoredVoucher(
            self._next_id, book, date, date.year, date.month, group, self._numbers[slot], status, header
        )
        self._next_id += 1
        for entry in model["FEntity"]:
            detail = entry.get("FDetailID") or {}
            voucher.entries.append(
                StoredEntry(
                    self._next_entry,
                    _number(entry.get("FACCOUNTID")),
                    _amount(entry.get("FDEBIT")) or Decimal(0),
                    _amount(entry.get("FCREDIT")) or Decimal(0),
                    _amount(entry.get("FAMOUNTFOR")) or Decimal(0),
                    _number(entry.get("FCURRENCYID")),
                    {str(k).split("__", 1)[-1].upper(): _number(v) for k, v in detail.items()},
                    str(entry.get("FEXPLANATION") or ""),
                )
            )
            self._next_entry += 1
        self.vouchers.append(voucher)
        return voucher

    def _transition(self, operation: str, data: Mapping[str, Any]) -> dict[str, Any]:
        ids = [i.strip() for i in str(data.get("Ids") or "").split(",") if i.strip()]
        numbers = data.get("Numbers") or []
        targets: list[StoredVoucher | None] = [self._by_id(i) for i in ids] + [
            next((v for v in self.vouchers if v.field("FBillNo") == n), None) for n in numbers
        ]
        errors: list[tuple[str, str, int]] = []
        successes: list[dict[str, Any]] = []
        for index, voucher in enumerate(targets):
            if voucher is None:
                errors.append(("", "单据不存在或已删除", index))
                continue
            if operation == "Submit" and voucher.status in ("Z", "A", "D"):
                voucher.status = "B"
            elif operation == "Audit" and voucher.status == "B":
                voucher.status = "C"
            else:
                state = {"B": "单据已经提交！", "C": "单据已经审核！", "A": "单据未提交，不能审核！"}
                errors.append(
                    (
                        "",
                        f"凭证“{voucher.number}”，{state.get(voucher.status, '单据状态不允许此操作')}",
                        index,
                    )
                )
                continue
            successes.append({"Id": voucher.id, "Number": str(voucher.field("FBillNo")), "DIndex": index})
        return envelope(not errors, errors, successes, msg_code=11 if errors else 0)

    def _by_id(self, text: str) -> StoredVoucher | None:
        return next((v for v in self.vouchers if str(v.id) == text), None)

    # -- ExecuteBillQuery -----------------------------------------------------------------

    def _query(self, data: Mapping[str, Any]) -> Any:
        form = str(data.get("FormId") or "")
        keys = [k.strip() for k in str(data.get("FieldKeys") or "").split(",") if k.strip()]
        try:
            table = self._table(form)
            columns = self._columns(form)
            if not keys:
                raise _QueryProblem("FieldKeys不能为空", 8)
            conditions = parse_filter(str(data.get("FilterString") or ""))
            for name in [*keys, *(c[0] for c in conditions)]:
                if name not in columns:
                    raise _QueryProblem(f"元数据中标识为{name}的字段不存在", 9)
        except _QueryProblem as exc:
            return [[envelope(False, [("", str(exc), 0)], msg_code=exc.code)]]
        rows = [row for row in table if all(_matches(row.get(n), op, v) for n, op, v in conditions)]
        if form == "GL_VOUCHER" and self._hides_saved(conditions):
            rows = [row for row in rows if row["FDocumentStatus"] not in ("Z", "A")]
        if any(k.startswith(("FEntity_", "FACCOUNTID", "FDEBIT", "FCREDIT", "FDetailID")) for k in keys):
            pass  # the table already has one row per entry for GL_VOUCHER
        else:
            rows = _distinct_headers(rows, keys)
        order = str(data.get("OrderString") or "").split()
        if order and rows and order[0] in rows[0]:
            rows.sort(key=lambda r: r[order[0]], reverse=len(order) > 1 and order[1].upper() == "DESC")
        start = int(data.get("StartRow") or 0)
        limit = min(int(data.get("Limit") or 2000), 2000)
        return [[row[k] for k in keys] for row in rows[start : start + limit]]

    def _hides_saved(self, conditions: Sequence[tuple[str, str, Any]]) -> bool:
        if self.hide_saved == "always":
            return True
        named = any(name == "FDocumentStatus" for name, _, _ in conditions)
        return self.hide_saved == "unless_status_filter" and not named

    # -- View -----------------------------------------------------------------------------

    def _view(self, data: Mapping[str, Any]) -> dict[str, Any]:
        """The whole voucher by Id or Number, ORM names without the F prefix; any status."""
        wanted_id, number = str(data.get("Id") or ""), str(data.get("Number") or "")
        voucher = next(
            (
                v
                for v in self.vouchers
                if (wanted_id and str(v.id) == wanted_id) or (number and str(v.field("FBillNo")) == number)
            ),
            None,
        )
        if voucher is None:
            return envelope(False, [("", "单据不存在或已删除", 0)], msg_code=0)
        result = envelope(True)
        result["Result"]["Result"] = {
            "Id": voucher.id,
            "BillNo": voucher.field("FBillNo"),
            "Date": voucher.date.isoformat() + "T00:00:00",
            "VOUCHERGROUPNO": str(voucher.group_no),
            "DocumentStatus": voucher.status,
            "AccountBookID": {"Id": 1, "Number": voucher.book},
            "VOUCHERGROUPID": {"Id": 1, "Number": voucher.group, "Name": voucher.header["_group_name"]},
            "FEntity": [
                {
                    "Id": e.entry_id,
                    "ACCOUNTID": {"Number": e.account},
                    "DEBIT": e.debit,
                    "CREDIT": e.credit,
                    "EXPLANATION": e.explanation,
                }
                for e in voucher.entries
            ],
        }
        return result

    def _table(self, form: str) -> list[dict[str, Any]]:
        if form == "GL_VOUCHER":
            return self._voucher_rows()
        simple: dict[str, Iterable[tuple[str, str]]] = {
            "BD_AccountBook": ((b, f"{b} 主账簿") for b in sorted(self.books)),
            "BD_VOUCHERGROUP": sorted(self.voucher_groups.items()),
            "BD_Account": ((a, f"科目{a}") for a in sorted(self.accounts)),
            **{f: ((c, f"{f} {c}") for c in sorted(codes)) for f, codes in self.base_data.items()},
        }
        if form not in simple:
            raise _QueryProblem(f"业务对象“{form}”不存在", 5)
        return [
            {"FNumber": n, "FName": name, "FForbidStatus": "B" if n in self.disabled_accounts else "A"}
            for n, name in simple[form]
        ]

    def _columns(self, form: str) -> set[str]:
        if form != "GL_VOUCHER":
            return {"FNumber", "FName", "FForbidStatus"}
        return {
            "FVOUCHERID",
            "FBillNo",
            "FVOUCHERGROUPNO",
            "FDocumentStatus",
            "FDate",
            "FYEAR",
            "FPERIOD",
            "FAccountBookID.FNumber",
            "FVOUCHERGROUPID.FNumber",
            "FVOUCHERGROUPID.FName",
            "FEntity_FEntryID",
            "FACCOUNTID.FNumber",
            "FDEBIT",
            "FCREDIT",
            "FAMOUNTFOR",
            "FEXPLANATION",
            *self.custom_fields,
            *(f"FDetailID.{flex}.FNumber" for flex in DIM_NAMES),
        }

    def _voucher_rows(self) -> list[dict[str, Any]]:
        rows = []
        for v in self.vouchers:
            header = {
                "FVOUCHERID": v.id,
                "FBillNo": v.field("FBillNo"),
                "FVOUCHERGROUPNO": str(v.group_no),
                "FDocumentStatus": v.status,
                "FDate": v.date.isoformat(),
                "FYEAR": v.year,
                "FPERIOD": v.period,
                "FAccountBookID.FNumber": v.book,
                "FVOUCHERGROUPID.FNumber": v.group,
                "FVOUCHERGROUPID.FName": v.header["_group_name"],
                **{f: v.header.get(f, "") for f in self.custom_fields},
            }
            for e in v.entries:
                rows.append(
                    {
                        **header,
                        "FEntity_FEntryID": e.entry_id,
                        "FACCOUNTID.FNumber": e.account,
                        "FDEBIT": e.debit,
                        "FCREDIT": e.credit,
                        "FAMOUNTFOR": e.amount_for,
                        "FEXPLANATION": e.explanation,
                        **{f"FDetailID.{flex}.FNumber": e.dims.get(flex, "") for flex in DIM_NAMES},
                    }
                )
        if not rows:  # keep the column names known for validation of an empty table
            return []
        return rows


class _QueryProblem(Exception):
    def __init__(self, message: str, code: int) -> None:
        super().__init__(message)
        self.code = code


def _distinct_headers(rows: list[dict[str, Any]], keys: Sequence[str]) -> list[dict[str, Any]]:
    seen: set[tuple[Any, ...]] = set()
    out = []
    for row in rows:
        ident = (row.get("FVOUCHERID"), *(row.get(k) for k in keys))
        if ident not in seen:
            seen.add(ident)
            out.append(row)
    return out


_TOKEN = re.compile(
    r"\s*(?:(?P<str>'(?:[^']|'')*')|(?P<num>-?\d+(?:\.\d+)?)|(?P<op><>|>=|<=|=|>|<|(?i:LIKE)\b)|"
    r"(?P<punct>[(),])|(?P<word>[A-Za-z_][A-Za-z0-9_.]*))"
)


def parse_filter(text: str) -> list[tuple[str, str, Any]]:
    """A conjunction of ``field op literal`` and ``field IN (…)`` terms (what integrations send)."""
    tokens: list[tuple[str, str]] = []
    pos = 0
    text = text.strip()
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if not match or match.end() == pos:
            raise _QueryProblem(f"过滤条件语法错误：{text[pos : pos + 20]}", 8)
        kind = match.lastgroup or ""
        tokens.append((kind, match.group(kind)))
        pos = match.end()
    terms: list[tuple[str, str, Any]] = []
    i = 0
    while i < len(tokens):
        kind, name = tokens[i]
        if kind != "word":
            raise _QueryProblem(f"过滤条件语法错误：{name}", 8)
        if i + 1 < len(tokens) and tokens[i + 1][1].upper() == "IN":
            values, i = _in_list(tokens, i + 2)
            terms.append((name, "IN", values))
        elif i + 2 < len(tokens) and tokens[i + 1][0] == "op":
            terms.append((name, tokens[i + 1][1], _literal(tokens[i + 2])))
            i += 3
        else:
            raise _QueryProblem(f"过滤条件语法错误：{name}", 8)
        if i < len(tokens):
            if tokens[i][1].upper() != "AND":
                raise _QueryProblem(f"过滤条件语法错误：{tokens[i][1]}", 8)
            i += 1
    return terms


def _in_list(tokens: list[tuple[str, str]], i: int) -> tuple[list[Any], int]:
    if i >= len(tokens) or tokens[i][1] != "(":
        raise _QueryProblem("过滤条件语法错误：IN 后缺少括号", 8)
    values = []
    i += 1
    while i < len(tokens) and tokens[i][1] != ")":
        if tokens[i][1] != ",":
            values.append(_literal(tokens[i]))
        i += 1
    return values, i + 1


def _literal(token: tuple[str, str]) -> Any:
    kind, text = token
    if kind == "str":
        return text[1:-1].replace("''", "'")
    if kind == "num":
        return Decimal(text)
    raise _QueryProblem(f"过滤条件语法错误：{text}", 8)


def _matches(value: Any, op: str, wanted: Any) -> bool:
    if op == "IN":
        return any(_matches(value, "=", w) for w in wanted)
    if op.upper() == "LIKE":  # SQL Server LIKE: % any run, _ any one character
        pattern = "".join(".*" if c == "%" else "." if c == "_" else re.escape(c) for c in str(wanted))
        return re.fullmatch(pattern, "" if value is None else str(value), re.DOTALL) is not None
    if isinstance(wanted, Decimal):
        try:
            left: Any = Decimal(str(value))
        except ArithmeticError:
            return False
    else:
        left = "" if value is None else str(value)
    ops = {"=": left == wanted, "<>": left != wanted}
    if op in ops:
        return bool(ops[op])
    try:
        return bool({">": left > wanted, "<": left < wanted, ">=": left >= wanted, "<=": left <= wanted}[op])
    except TypeError:
        return False


def _number(ref: Any) -> str:
    if isinstance(ref, Mapping):
        return str(ref.get("FNumber") or ref.get("FNUMBER") or "")
    return ""


def _amount(value: Any) -> Decimal | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, Decimal | int):
        return Decimal(value)
    return None


def _date(value: Any) -> dt.date | None:
    try:
        return dt.date.fromisoformat(str(value)[:10])
    except ValueError:
        return None


def envelope(
    ok: bool,
    errors: Sequence[tuple[str, str, int]] = (),
    successes: Sequence[dict[str, Any]] = (),
    msg_code: int = 0,
) -> dict[str, Any]:
    status: dict[str, Any] = {
        "IsSuccess": ok,
        "Errors": [{"FieldName": f or None, "Message": m, "DIndex": i} for f, m, i in errors],
        "SuccessEntitys": list(successes),
        "SuccessMessages": [],
        "MsgCode": msg_code,
    }
    if not ok:
        status = {"ErrorCode": 500, **status}
    return {"Result": {"ResponseStatus": status}}


def _dumps(value: Any) -> bytes:
    def default(obj: Any) -> Any:
        if isinstance(obj, Decimal):
            return float(obj)  # the real server writes doubles too (11300.0)
        raise TypeError(type(obj).__name__)

    return json.dumps(value, ensure_ascii=False, default=default).encode("utf-8")


class _Handler(BaseHTTPRequestHandler):
    site: FakeKingdee
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # answers go out at once (no 40 ms delayed-ACK stalls)

    def log_message(self, format: str, *args: Any) -> None:
        return None

    def do_GET(self) -> None:
        if self.path == "/_fake/state":
            self._send(200, _dumps(self.site.state()))
        else:
            self._send(404, b"not found")

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length)
        path = urllib.parse.urlsplit(self.path).path
        if not (path.startswith(PREFIX) and path.endswith(".common.kdsvc")):
            self._send(404, b"<html><body>404 Not Found</body></html>", "text/html")
            return
        service = path[len(PREFIX) : -len(".common.kdsvc")]
        headers = {k.lower(): v for k, v in self.headers.items()}
        try:
            body = json.loads(raw or b"{}", parse_float=Decimal)
        except ValueError:
            self._send(200, b"response_error: JSON\xe6\xa0\xbc\xe5\xbc\x8f\xe9\x94\x99\xe8\xaf\xaf")
            return
        with self.site._lock:
            self.site.calls[service.rsplit(".", 1)[-1]] += 1
            self.site.requests.append((service, headers, body))
        if service.startswith("AuthService."):
            self._login(service.split(".", 1)[1], body)
        elif service.startswith("DynamicFormService."):
            self._operate(path, service.split(".", 1)[1], headers, body)
        else:
            self._send(404, b"<html><body>404 Not Found</body></html>", "text/html")

    def _login(self, method: str, body: Any) -> None:
        if method not in self.site.login_methods:
            self._send(404, b"<html><body>404 Not Found</body></html>", "text/html")
            return
        params = body.get("parameters") if isinstance(body, dict) else None
        if not isinstance(params, list):
            params = (
                [body.get(k) for k in ("acctID", "username", "password", "lcid")]
                if isinstance(body, dict)
                else []
            )
        answer, sid = self.site.login(method, params)
        cookies = [
            f"kdservice-sessionid={sid}; path=/",
            f"ASP.NET_SessionId={uuid.uuid4().hex[:24]}; path=/; HttpOnly",
        ]
        self._send(200, _dumps(answer), cookies=cookies if sid else [])

    def _operate(self, path: str, operation: str, headers: Mapping[str, str], body: Any) -> None:
        site = self.site
        sid = site._session_of(headers)
        cookies: list[str] = []
        if "x-kd-appkey" in headers or "x-api-clientid" in headers:
            rejection = site._check_signature(path, headers)
            if rejection is not None:
                self._send(519, _dumps({"errcode": rejection[0], "description": rejection[1]}))
                return
            if sid and not site._live(sid):
                self._send(200, _dumps(envelope(False, [("", SESSION_LOST, 0)], msg_code=1)))
                return
            if not sid:
                sid = site._new_session()
                cookies.append(f"kdservice-sessionid={sid}; path=/")
        elif not sid or not site._live(sid):
            self._send(200, _dumps(envelope(False, [("", SESSION_LOST, 0)], msg_code=1)))
            return
        fault = site.draw_fault(operation)
        if fault == "session_lost":
            with site._lock:
                site._sessions.pop(sid, None)
            self._send(200, _dumps(envelope(False, [("", SESSION_LOST, 0)], msg_code=1)))
            return
        if fault == "msg13":
            self._send(
                200,
                _dumps(
                    envelope(
                        False,
                        [("", "网控冲突：凭证正在被其他用户（张会计）操作，请稍后再试", 0)],
                        msg_code=13,
                    )
                ),
            )
            return
        if fault == "msg14":
            self._send(
                200, _dumps(envelope(False, [("", "接口调用频率超出限制，请稍后再试", 0)], msg_code=14))
            )
            return
        if fault == "http503":
            self._send(503, b"<html><body>503 Service Unavailable</body></html>", "text/html")
            return
        answer = site.operate(operation, body if isinstance(body, dict) else {})
        if fault == "timeout_after_save":
            time.sleep(site.timeout_delay)  # the work is done; the answer comes too late
        self._send(200, _dumps(answer), cookies=cookies)

    def _send(
        self,
        status: int,
        payload: bytes,
        content_type: str = "application/json; charset=utf-8",
        cookies: Sequence[str] = (),
    ) -> None:
        try:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(payload)))
            for cookie in cookies:
                self.send_header("Set-Cookie", cookie)
            self.end_headers()
            self.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (timeout): the work stays done


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="fake Kingdee K/3 Cloud WebAPI on 127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument(
        "--setup", help="JSON: accounts {code: [FFLEX6…]}, customers [..], closed_periods [..]"
    )
    parser.add_argument("--fault-rate", type=float, default=0.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--timeout-delay", type=float, default=2.0)
    args = parser.parse_args(argv)
    setup: dict[str, Any] = {}
    if args.setup:
        with open(args.setup, encoding="utf-8") as fh:
            setup = json.load(fh)
    fake = FakeKingdee(fault_rate=args.fault_rate, seed=args.seed, timeout_delay=args.timeout_delay, **setup)
    fake.start(args.port)
    print(f"fake Kingdee listening on {fake.url}", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        fake.stop()


if __name__ == "__main__":
    main()
