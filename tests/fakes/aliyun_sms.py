"""A fake Aliyun SMS service (Dysmsapi 2017-05-25 ``SendSms``) on loopback, as the real one answers.

It checks what the real service checks, in its order, and answers with its codes and HTTP
statuses: the common parameters (Action, Version, Format, SignatureMethod HMAC-SHA1,
SignatureVersion 1.0), the timestamp (within 15 minutes), the nonce (never twice:
``SignatureNonceUsed``), the AccessKey (``InvalidAccessKeyId.NotFound``, HTTP 404), the
signature (``SignatureDoesNotMatch``, HTTP 400, recomputed here from the RPC rules, not with
crmsync's code), then the business rules with HTTP 200: the 签名 and 模板 approved, every
template variable given, each number an 11-digit mainland mobile, the balance, and flow
control per number (``isv.BUSINESS_LIMIT_CONTROL``). Accepted messages are kept with their
rendered text.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import re
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qsl, quote

from tests.fakes.http_fake import QuietServer, send_json, serve_in_thread, stop_server

ACCESS_KEY_ID = "LTAI5tFakeKey0001"
ACCESS_KEY_SECRET = "fake-secret-6Qm2pX9rT4"
SIGN_NAME = "云杉科技"
TEMPLATE_CODE = "SMS_462315789"
#: the approved template's text; ${var} are its variables
TEMPLATE = "【云杉科技】${customer}您好，贵司尚有${amount}元货款逾期未付，请尽快安排付款。"
_MOBILE = re.compile(r"^(\+?86)?1[3-9]\d{9}$")


@dataclass
class Sent:
    phone: str
    text: str
    out_id: str
    biz_id: str


@dataclass
class FakeAliyunSms:
    """State of the fake: accepted messages, balance, per-number limits, faults to inject."""

    balance: int = 1000
    per_number_limit: int = 100
    sent: list[Sent] = field(default_factory=list)
    requests: list[dict[str, str]] = field(default_factory=list)
    #: answer this code (HTTP status, code) for the next N requests
    faults: list[tuple[int, str]] = field(default_factory=list)
    _nonces: set[str] = field(default_factory=set)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def answer(self, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        with self._lock:
            self.requests.append(form)
            if self.faults:
                status, code = self.faults.pop(0)
                return status, _error(code, "injected fault")
            return self._check(form)

    def _check(self, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        """The gateway's checks, then the SMS service's: the first failing one answers."""
        return self._check_request(form) or self._check_business(form) or self._send(form)

    def _check_request(self, form: dict[str, str]) -> tuple[int, dict[str, Any]] | None:
        required = ("Action", "Version", "AccessKeyId", "Signature", "SignatureMethod", "SignatureNonce",
                    "SignatureVersion", "Timestamp")  # fmt: skip
        for name in required:
            if not form.get(name):
                message = (
                    f'The input parameter "{name}" that is mandatory for processing this request is not '
                )
                message += "supplied."
                return 400, _error("MissingParameter", message)
        if form["Action"] != "SendSms" or form["Version"] != "2017-05-25":
            return 404, _error(
                "InvalidAction.NotFound", "Specified api is not found, please check your url and method."
            )
        if form["SignatureMethod"] != "HMAC-SHA1" or form["SignatureVersion"] != "1.0":
            return 400, _error("InvalidSignatureMethod", "Specified signature method is not supported.")
        try:
            stamp = dt.datetime.strptime(form["Timestamp"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.UTC)
        except ValueError:
            return 400, _error(
                "InvalidTimeStamp.Format", "Specified time stamp or date value is not well formatted."
            )
        if abs((dt.datetime.now(dt.UTC) - stamp).total_seconds()) > 15 * 60:
            return 400, _error("InvalidTimeStamp.Expired", "Specified time stamp or date value is expired.")
        if form["SignatureNonce"] in self._nonces:
            return 400, _error("SignatureNonceUsed", "Specified signature nonce was used already.")
        self._nonces.add(form["SignatureNonce"])
        if form["AccessKeyId"] != ACCESS_KEY_ID:
            return 404, _error("InvalidAccessKeyId.NotFound", "Specified access key is not found.")
        if not hmac.compare_digest(form["Signature"], _expected_signature(form)):
            return 400, _error(
                "SignatureDoesNotMatch", "Specified signature is not matched with our calculation."
            )
        return None

    def _check_business(self, form: dict[str, str]) -> tuple[int, dict[str, Any]] | None:
        if form.get("SignName") != SIGN_NAME:
            return 200, _error("isv.SMS_SIGNATURE_ILLEGAL", "该账号下找不到对应签名")
        if form.get("TemplateCode") != TEMPLATE_CODE:
            return 200, _error("isv.SMS_TEMPLATE_ILLEGAL", "该账号下找不到对应模板")
        try:
            params = json.loads(form.get("TemplateParam") or "{}")
        except ValueError:
            return 200, _error("isv.INVALID_JSON_PARAM", "JSON参数不合法，只接受字符串值")
        if any(v not in params for v in re.findall(r"\$\{(\w+)\}", TEMPLATE)):
            return 200, _error("isv.TEMPLATE_MISSING_PARAMETERS", "模板变量缺少对应参数值")
        phones = [p for p in form.get("PhoneNumbers", "").split(",") if p]
        if not phones or not all(_MOBILE.match(p) for p in phones):
            return 200, _error("isv.MOBILE_NUMBER_ILLEGAL", "非法手机号")
        if self.balance < len(phones):
            return 200, _error("isv.AMOUNT_NOT_ENOUGH", "账户余额不足")
        if any(sum(1 for s in self.sent if s.phone == p) >= self.per_number_limit for p in phones):
            return 200, _error("isv.BUSINESS_LIMIT_CONTROL", "触发号码天级流控Permits:10")
        return None

    def _send(self, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        params = json.loads(form.get("TemplateParam") or "{}")
        text = TEMPLATE
        for name in re.findall(r"\$\{(\w+)\}", TEMPLATE):
            text = text.replace("${" + name + "}", str(params[name]))
        phones = [p for p in form["PhoneNumbers"].split(",") if p]
        biz_id = f"{uuid.uuid4().int % 10**15:015d}^0"
        for phone in phones:
            self.sent.append(Sent(phone, text, form.get("OutId", ""), biz_id))
        self.balance -= len(phones)
        return 200, {"Code": "OK", "Message": "OK", "BizId": biz_id, "RequestId": str(uuid.uuid4()).upper()}


def _error(code: str, message: str) -> dict[str, Any]:
    return {"Code": code, "Message": message, "RequestId": str(uuid.uuid4()).upper()}


def _pct(text: str) -> str:
    return quote(text, safe="-_.~")


def _expected_signature(form: dict[str, str]) -> str:
    """The RPC signature as Aliyun's documentation computes it (POST, sorted, encoded twice)."""
    pairs = sorted((k, v) for k, v in form.items() if k != "Signature")
    canonical = "&".join(f"{_pct(k)}={_pct(v)}" for k, v in pairs)
    to_sign = "POST&" + _pct("/") + "&" + _pct(canonical)
    digest = hmac.new((ACCESS_KEY_SECRET + "&").encode(), to_sign.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


@contextmanager
def aliyun_sms(fake: FakeAliyunSms | None = None) -> Iterator[tuple[FakeAliyunSms, str]]:
    """The fake on a free loopback port: (its state, its base URL)."""
    state = fake or FakeAliyunSms()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0"))).decode()
            status, answer = state.answer(dict(parse_qsl(body, keep_blank_values=True)))
            send_json(self, status, answer, content_type="application/json;charset=utf-8")

        def log_message(self, format: str, *args: Any) -> None:
            return

    server = QuietServer(("127.0.0.1", 0), Handler)
    serve_in_thread(server, name="fake-aliyun-sms", poll_interval=0.05)
    try:
        yield state, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        stop_server(server)
