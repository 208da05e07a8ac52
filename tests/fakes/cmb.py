"""A fake China Merchants Bank 银企直连 gateway speaking DCTRSINF (transaction detail query) on loopback.

Behaves like the bank as far as our client can tell: one account-day per request, pages
of ``page_size`` lines with ``cotflg = Y`` and the last booking sequence, resumption from
``trsseq``, ``resultcode`` SUC0000 or an error code with a Chinese ``resultmsg`` under
HTTP 200, signature checked over the canonical request, IP-whitelist style refusal for an
unknown userid, and (knob) "交易过于频繁" rate limiting. Lines carry the running balance
``trsblv``. Amounts are yuan strings.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from dataclasses import dataclass, field
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tests.fakes.http_fake import send_json, serve_in_thread, stop_server


def _sign(request: dict[str, Any], secret: str) -> str:
    blob = json.dumps(request, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return base64.b64encode(hmac.new(secret.encode(), blob.encode(), hashlib.sha256).digest()).decode()


@dataclass
class CmbAccount:
    accnbr: str
    opening: Decimal
    #: day (YYYYMMDD) -> lines in booking order, each a dict of DCTRSINF fields
    days: dict[str, list[dict[str, str]]] = field(default_factory=dict)
    balance: Decimal = Decimal(0)

    def __post_init__(self) -> None:
        self.balance = self.opening

    def add(
        self,
        day: str,
        *,
        amount: str,
        cdr: str,
        rpynam: str = "",
        rpyacc: str = "",
        nusage: str = "",
        naryur: str = "",
        busnam: str = "汇入汇款",
        trscod: str = "CPAA",
        rsvflg: str = "",
        yurref: str = "",
        rpybnk: str = "",
    ) -> dict[str, str]:
        lines = self.days.setdefault(day, [])
        seq = len(lines) + 1
        self.balance += Decimal(amount) if cdr == "C" else -Decimal(amount)
        line = {
            "etydat": day,
            "etytim": f"{9 + seq % 8:02d}{seq % 60:02d}00",
            "vltdat": day,
            "trscod": trscod,
            "naryur": naryur,
            "trsamt": amount,
            "amtcdr": cdr,
            "trsblv": f"{self.balance:.2f}",
            "refnbr": f"K{day[2:]}{seq:06d}",
            "reqnbr": "",
            "busnam": busnam,
            "nusage": nusage,
            "yurref": yurref,
            "busnar": "",
            "otrnar": "",
            "narext": "",
            "rpynam": rpynam,
            "rpyacc": rpyacc,
            "rpybnk": rpybnk,
            "rsvflg": rsvflg,
            "trsseq": str(seq),
        }
        lines.append(line)
        return line


class FakeCmb:
    """Start with ``with FakeCmb(...) as bank:``; ``bank.url`` is the gateway URL."""

    def __init__(
        self,
        userid: str = "N002461789",
        secret: str = "cmb-test-sign-key-7f3a9c2e5b1d",
        bbknbr: str = "75",
        page_size: int = 3,
    ) -> None:
        self.userid = userid
        self.secret = secret
        self.bbknbr = bbknbr
        self.page_size = page_size
        self.accounts: dict[str, CmbAccount] = {}
        self.requests: list[dict[str, Any]] = []
        #: knob: answer this many next requests with "交易过于频繁" before serving
        self.busy_next = 0
        #: knob: drop the line with this refnbr from answers (a bank-side gap)
        self.hide_refnbr: str | None = None
        #: knob: answer every request with this plain text, as the real gateway answers a request
        #: it cannot take at all (e.g. "CDCServer: 非法请求报文"), HTTP 200, no JSON
        self.plain_text: str | None = None
        self._server: ThreadingHTTPServer | None = None

    def account(self, accnbr: str, opening: str = "0.00") -> CmbAccount:
        acc = CmbAccount(accnbr, Decimal(opening))
        self.accounts[accnbr] = acc
        return acc

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}/cdcserver/api/v2"

    def __enter__(self) -> FakeCmb:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                if fake.plain_text is not None:
                    fake.requests.append({"plain": True})
                    text = fake.plain_text.encode()
                    self.send_response(200)
                    self.send_header("Content-Type", "text/plain;charset=UTF-8")
                    self.send_header("Content-Length", str(len(text)))
                    self.end_headers()
                    self.wfile.write(text)
                    return
                status, answer = fake.answer(body)
                send_json(self, status, answer, content_type="application/json;charset=UTF-8")

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        serve_in_thread(self._server)
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._server is not None
        stop_server(self._server)

    @staticmethod
    def _error(code: str, msg: str, reqid: str = "") -> dict[str, Any]:
        return {"response": {"head": {"resultcode": code, "resultmsg": msg, "reqid": reqid}, "body": {}}}

    def answer(self, raw: bytes) -> tuple[int, dict[str, Any]]:
        try:
            envelope = json.loads(raw.decode("utf-8"))
            request = envelope["request"]
            head, body = request["head"], request["body"]
        except (ValueError, KeyError, TypeError):
            return 200, self._error("CDCS400", "报文格式错误")
        self.requests.append(request)
        reqid = str(head.get("reqid", ""))
        if head.get("userid") != self.userid:
            return 200, self._error("CSAC002", "用户不存在或IP未登记白名单", reqid)
        if envelope.get("signature", {}).get("sigdat") != _sign(request, self.secret):
            return 200, self._error("CSAC001", "验签失败", reqid)
        if head.get("funcode") != "DCTRSINF":
            return 200, self._error("CDCS404", f"功能码{head.get('funcode')}不存在", reqid)
        if self.busy_next > 0:
            self.busy_next -= 1
            return 200, self._error("-5", "交易过于频繁，请稍后再试", reqid)
        if body.get("bbknbr") != self.bbknbr:
            return 200, self._error("CSAC010", "分行号与账号不匹配", reqid)
        acc = self.accounts.get(str(body.get("accnbr")))
        if acc is None:
            return 200, self._error("CSAC011", "账号不存在或未开通查询权限", reqid)
        day = str(body.get("trsdat", ""))
        start = int(body.get("trsseq") or 0)
        lines = [
            ln
            for ln in acc.days.get(day, [])
            if int(ln["trsseq"]) >= max(start, 1) and ln["refnbr"] != self.hide_refnbr
        ]
        page, more = lines[: self.page_size], len(lines) > self.page_size
        credits = [ln for ln in acc.days.get(day, []) if ln["amtcdr"] == "C"]
        debits = [ln for ln in acc.days.get(day, []) if ln["amtcdr"] == "D"]
        info = {
            "cotflg": "Y" if more else "N",
            "trsseq": page[-1]["trsseq"] if page else str(max(start - 1, 0)),
            "crtnbr": str(len(credits)),
            "crtamt": f"{sum(Decimal(c['trsamt']) for c in credits):.2f}",
            "dbtnbr": str(len(debits)),
            "dbtamt": f"{sum(Decimal(d['trsamt']) for d in debits):.2f}",
        }
        return 200, {
            "response": {
                "head": {"resultcode": "SUC0000", "resultmsg": "", "reqid": reqid},
                "body": {"ntrbptrsz1": [info], "ntqactrsz2": page},
            }
        }
