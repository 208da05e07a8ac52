"""A fake SAP Business One Service Layer on loopback: sessions, JournalEntries, paging, errors.

Like the real Service Layer:

- ``POST /b1s/v1/Login`` with CompanyDB/UserName/Password sets ``B1SESSION`` (HttpOnly) and
  ``ROUTEID`` (path=/b1s); every later call needs **both** cookies (this fake plays a two-node
  installation, so a missing ROUTEID loses the session). Sessions expire after
  ``session_timeout`` seconds of idleness: ``401`` with code ``301`` "Invalid session or
  session already timeout.";
- ``POST JournalEntries`` validates (balanced, one non-negative side per line, known accounts
  and business partners, field lengths; ``Debit``/``Credit`` are Edm.Double in the metadata,
  so a JSON string there is refused as the wrong type) and answers ``201`` with the entity and ``JdtNum``,
  or ``204`` + ``Location`` under ``Prefer: return-no-content``; errors are ``400`` with the
  v1 shape ``{"error":{"code":-10,"message":{"lang":"en-us","value":…}}}`` under ``/b1s/v1``
  and the v2 shape ``{"error":{"code":"-10","message":"…"}}`` under ``/b1s/v2``;
- no duplicate check: the same entry posted twice exists twice;
- ``GET JournalEntries?$filter=…`` pages (default 20, ``Prefer: odata.maxpagesize``) with
  ``odata.nextLink`` (v1) / ``@odata.nextLink`` (v2); ``ChartOfAccounts('x')`` and
  ``BusinessPartners('x')`` answer 404 with -2028 when missing;
- faults at a seeded rate: 503, 500 before processing, connection reset before or after
  processing, a hang past the client's timeout after posting, and a lost session.

``python -m tests.fakes.sap_b1 --port 0 --fault-rate 0.2`` runs it as a process;
``GET /__fake__/documents`` lists the stored journal entries.
"""

from __future__ import annotations

import json
import random
import secrets
import threading
import time
from collections.abc import Iterable
from decimal import Decimal, InvalidOperation
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, quote, unquote, urlsplit

from tests.fakes.http_fake import (
    QuietServer,
    reset_connection,
    roll_fault,
    run_fake_main,
    send_json,
    serve_in_thread,
    stop_server,
)
from tests.fakes.sap_s4 import FilterError, compile_filter

FAULTS = ("unavailable", "error500", "reset_before", "reset_after", "hang_after_post", "session_lost")
LENGTHS = {"Memo": 50, "Reference": 100, "Reference2": 100, "Reference3": 27}
_ODATA_JSON = "application/json;odata=minimalmetadata;charset=utf-8"
LINE_LENGTHS = {"LineMemo": 50, "ShortName": 15, "AccountCode": 15}


class B1Error(Exception):
    def __init__(self, status: int, code: int, text: str) -> None:
        super().__init__(text)
        self.status, self.code, self.text = status, code, text


class FakeB1:
    """Company database SBODEMOCN with a small chart of accounts and three customers."""

    def __init__(
        self,
        *,
        company_db: str = "SBODEMOCN",
        username: str = "manager",
        password: str = "B1-secret-Passw0rd!",
        accounts: Iterable[str] = ("1122", "6001", "222101", "1002", "11002000", "41000000", "22210000"),
        customers: dict[str, str] | None = None,
        fault_rate: float = 0.0,
        faults: Iterable[str] = FAULTS,
        seed: int = 11,
        hang_seconds: float = 3.0,
        session_timeout: float = 1800.0,
        max_faults: int | None = None,
        port: int = 0,
    ) -> None:
        self.company_db, self.username, self.password = company_db, username, password
        self.accounts = set(accounts)
        #: CardCode -> control account
        self.customers = (
            customers
            if customers is not None
            else {
                "10100001": "1122",
                "10100002": "1122",
                "10100003": "1122",
            }
        )
        self.fault_rate = fault_rate
        self.faults = tuple(faults)
        self.hang_seconds = hang_seconds
        self.session_timeout = session_timeout
        self.max_faults = max_faults
        self.sessions: dict[str, float] = {}  # B1SESSION -> last use
        self.entries: list[dict[str, Any]] = []
        self.logins = 0
        self.faults_fired: dict[str, int] = {}
        self._rng = random.Random(seed)
        self._lock = threading.Lock()
        self._next = 4710
        self._server = QuietServer(("127.0.0.1", port), _handler(self))
        self._server.daemon_threads = True

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/b1s/v1"

    def start(self) -> FakeB1:
        serve_in_thread(self._server)
        return self

    def stop(self) -> None:
        stop_server(self._server)

    def __enter__(self) -> FakeB1:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- assertions ------------------------------------------------------------------------

    def expire_all_sessions(self) -> None:
        with self._lock:
            self.sessions.clear()

    def by_reference(self) -> dict[str, list[dict[str, Any]]]:
        out: dict[str, list[dict[str, Any]]] = {}
        with self._lock:
            for entry in self.entries:
                out.setdefault(entry["Reference"], []).append(entry)
        return out

    def totals_by_account(self) -> dict[str, Decimal]:
        """Debit minus credit per AccountCode (business-partner lines as ``customer:<CardCode>``)."""
        totals: dict[str, Decimal] = {}
        with self._lock:
            for entry in self.entries:
                for ln in entry["JournalEntryLines"]:
                    bp = ln["ShortName"] != ln["AccountCode"]
                    key = f"customer:{ln['ShortName']}" if bp else ln["AccountCode"]
                    totals[key] = totals.get(key, Decimal(0)) + Decimal(ln["Debit"]) - Decimal(ln["Credit"])
        return totals

    def roll(self) -> str | None:
        with self._lock:
            return roll_fault(self._rng, self.fault_rate, self.faults, self.faults_fired, self.max_faults)

    # -- sessions --------------------------------------------------------------------------

    def login(self, body: dict[str, Any]) -> str:
        if body.get("CompanyDB") != self.company_db:
            raise B1Error(
                401, -304, f"Fail to get DB Credentials from SLD for company {body.get('CompanyDB')}"
            )
        if body.get("UserName") != self.username or body.get("Password") != self.password:
            raise B1Error(401, 100000027, "Login failed")
        token = f"{secrets.token_hex(4)}-{secrets.token_hex(2)}-{secrets.token_hex(2)}-{secrets.token_hex(6)}"
        with self._lock:
            self.sessions[token] = time.monotonic()
            self.logins += 1
        return token

    def touch(self, cookies: dict[str, str]) -> bool:
        token = cookies.get("B1SESSION", "")
        with self._lock:
            last = self.sessions.get(token)
            if last is None or cookies.get("ROUTEID") != ".node1":
                return False
            if time.monotonic() - last > self.session_timeout:
                del self.sessions[token]
                return False
            self.sessions[token] = time.monotonic()
            return True

    # -- journal entries -------------------------------------------------------------------

    def add_entry(self, body: dict[str, Any]) -> dict[str, Any]:
        if not isinstance(body, dict) or not body.get("ReferenceDate"):
            raise B1Error(400, -5002, "Enter posting date [OJDT.RefDate]")
        for name, limit in LENGTHS.items():
            if len(str(body.get(name) or "")) > limit:
                raise B1Error(400, -5002, f"Value too long in property '{name}' of 'JournalEntry'")
        lines = body.get("JournalEntryLines") or []
        if len(lines) < 2:
            raise B1Error(400, -10, "Journal entry must contain at least two rows [OJDT.TransId]")
        stored, debit, credit = [], Decimal(0), Decimal(0)
        for number, line in enumerate(lines, 1):
            stored.append(self._line(number, line))
            debit += Decimal(stored[-1]["Debit"])
            credit += Decimal(stored[-1]["Credit"])
        if debit != credit:
            raise B1Error(
                400, -10, f"Unbalanced transaction [JournalEntryLines.Debit] (debit {debit}, credit {credit})"
            )
        with self._lock:
            self._next += 1
            entry = {
                "ReferenceDate": body["ReferenceDate"],
                "TaxDate": body.get("TaxDate", body["ReferenceDate"]),
                "DueDate": body.get("DueDate", body["ReferenceDate"]),
                "Memo": body.get("Memo", ""),
                "Reference": body.get("Reference", ""),
                "Reference2": body.get("Reference2", ""),
                "Reference3": body.get("Reference3", ""),
                "TransactionCode": "",
                "ProjectCode": "",
                "JdtNum": self._next,
                "Number": self._next,
                "Series": 17,
                "AutoVAT": "tNO",
                "OriginalJournal": "ttJournalEntry",
                "JournalEntryLines": stored,
            }
            self.entries.append(entry)
        return entry

    def _line(self, number: int, line: dict[str, Any]) -> dict[str, Any]:
        where = f"[JournalEntryLines.AccountCode][line: {number}]"
        for name, limit in LINE_LENGTHS.items():
            if len(str(line.get(name) or "")) > limit:
                raise B1Error(400, -5002, f"Value too long in property '{name}' of 'JournalEntryLine'")
        for name in ("Debit", "Credit"):
            if name in line and (isinstance(line[name], str | bool) or line[name] is None):
                raise B1Error(
                    400,
                    -1000,
                    f"Property '{name}' of 'JournalEntryLine' has invalid value type (Edm.Double expected)",
                )
        try:
            debit = Decimal(str(line.get("Debit", "0") or "0"))
            credit = Decimal(str(line.get("Credit", "0") or "0"))
        except InvalidOperation:
            raise B1Error(400, -10, f"Invalid amount [JournalEntryLines.Debit][line: {number}]") from None
        if debit < 0 or credit < 0:
            raise B1Error(400, -10, f"Amount cannot be negative [JournalEntryLines.Debit][line: {number}]")
        if (debit == 0) == (credit == 0):
            raise B1Error(
                400,
                -10,
                f"Enter an amount in either Debit or Credit [JournalEntryLines.Debit][line: {number}]",
            )
        short = str(line.get("ShortName") or "")
        account = str(line.get("AccountCode") or "")
        if short and short not in self.accounts:
            if short not in self.customers:
                raise B1Error(
                    400, -10, f"Invalid BP code '{short}' [JournalEntryLines.ShortName][line: {number}]"
                )
            account = account or self.customers[short]
        if not account or account not in self.accounts:
            raise B1Error(400, -10, f"Invalid account code {where}")
        return {
            "Line_ID": number - 1,
            "AccountCode": account,
            "ShortName": short or account,
            "Debit": str(debit),
            "Credit": str(credit),
            "LineMemo": line.get("LineMemo", ""),
            "CostingCode": line.get("CostingCode", ""),
            "CostingCode2": line.get("CostingCode2", ""),
        }


def _handler(fake: FakeB1) -> type[BaseHTTPRequestHandler]:  # noqa: C901
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: Any) -> None:
            pass

        @property
        def v2(self) -> bool:
            return self.path.startswith("/b1s/v2/")

        def _json(self, status: int, data: Any = None, headers: dict[str, str] | None = None) -> None:
            send_json(self, status, data, content_type=_ODATA_JSON, headers=headers)

        def _error(self, status: int, code: int, text: str) -> None:
            if self.v2:
                self._json(status, {"error": {"code": str(code), "message": text}})
            else:
                self._json(status, {"error": {"code": code, "message": {"lang": "en-us", "value": text}}})

        def _cookies(self) -> dict[str, str]:
            out = {}
            for part in self.headers.get("Cookie", "").split(";"):
                name, _, value = part.strip().partition("=")
                if name:
                    out[name] = value
            return out

        def _read(self) -> Any:
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            return json.loads(raw or b"{}", parse_float=Decimal) if raw else {}

        def _reset(self) -> None:
            reset_connection(self)

        def _resource(self) -> str:
            path = urlsplit(self.path).path
            for prefix in ("/b1s/v1/", "/b1s/v2/"):
                if path.startswith(prefix):
                    return unquote(path[len(prefix) :])
            return ""

        def _session_ok(self) -> bool:
            if fake.touch(self._cookies()):
                return True
            self._error(401, 301, "Invalid session or session already timeout.")
            return False

        def do_POST(self) -> None:  # noqa: C901
            resource = self._resource()
            try:
                body = self._read()
            except ValueError:
                self._error(400, -1000, "Invalid JSON")
                return
            if resource == "Login":
                try:
                    token = fake.login(body)
                except B1Error as exc:
                    self._error(exc.status, exc.code, exc.text)
                    return
                prefix = "/b1s/v2" if self.v2 else "/b1s/v1"
                self.send_response(200)
                data = json.dumps(
                    {
                        "odata.metadata": f"{prefix}/$metadata#B1Sessions/@Element",
                        "SessionId": token,
                        "Version": "1000110",
                        "SessionTimeout": int(fake.session_timeout // 60) or 1,
                    }
                ).encode()
                self.send_header("Set-Cookie", f"B1SESSION={token};HttpOnly;")
                self.send_header("Set-Cookie", "ROUTEID=.node1; path=/b1s")
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
                return
            if resource == "Logout":
                with fake._lock:
                    fake.sessions.pop(self._cookies().get("B1SESSION", ""), None)
                self._json(204)
                return
            if resource != "JournalEntries":
                self._error(404, -5006, f"Resource not found for the segment '{resource}'")
                return
            fault = fake.roll()
            if fault == "session_lost":
                fake.expire_all_sessions()
            if not self._session_ok():
                return
            if fault == "unavailable":
                self._json(503, None, {"Retry-After": "0"})
                return
            if fault == "error500":
                self._error(500, -1, "Internal server error")
                return
            if fault == "reset_before":
                self._reset()
                return
            try:
                entry = fake.add_entry(body)
            except B1Error as exc:
                self._error(exc.status, exc.code, exc.text)
                return
            if fault == "reset_after":
                self._reset()
                return
            if fault == "hang_after_post":
                time.sleep(fake.hang_seconds)
            try:
                if "return-no-content" in self.headers.get("Prefer", ""):
                    self._json(
                        204,
                        None,
                        {
                            "Location": f"/b1s/v1/JournalEntries({entry['JdtNum']})",
                            "Preference-Applied": "return-no-content",
                        },
                    )
                else:
                    self._json(201, {"odata.metadata": "/b1s/v1/$metadata#JournalEntries/@Element", **entry})
            except OSError:
                pass

        def do_GET(self) -> None:
            split = urlsplit(self.path)
            if split.path == "/__fake__/documents":
                with fake._lock:
                    self._json(200, fake.entries)
                return
            if not self._session_ok():
                return
            resource = self._resource()
            for entity, known in (
                ("ChartOfAccounts", fake.accounts),
                ("BusinessPartners", set(fake.customers)),
            ):
                if resource.startswith(f"{entity}('"):
                    key = resource[len(entity) + 2 : -2].replace("''", "'")
                    if key in known:
                        self._json(200, {"Code" if entity == "ChartOfAccounts" else "CardCode": key})
                    else:
                        self._error(404, -2028, "No matching records found (ODBC -2028)")
                    return
            if resource != "JournalEntries":
                self._error(404, -5006, f"Resource not found for the segment '{resource}'")
                return
            self._entries(parse_qs(split.query))

        def _entries(self, query: dict[str, list[str]]) -> None:
            with fake._lock:
                rows = list(fake.entries)
            flt = query.get("$filter", [""])[0]
            if flt:
                try:
                    pred = compile_filter(flt)
                except FilterError as exc:
                    self._error(400, -1000, str(exc))
                    return
                rows = [r for r in rows if pred(r)]
            select = [s for s in query.get("$select", [""])[0].split(",") if s]
            if select:
                rows = [{k: r[k] for k in select if k in r} for r in rows]
            size, headers = 20, {}
            for part in self.headers.get("Prefer", "").split(","):
                if part.strip().startswith("odata.maxpagesize="):
                    size = int(part.split("=")[1])
                    headers["Preference-Applied"] = part.strip()
            if self.headers.get("B1S-PageSize"):
                size = int(self.headers["B1S-PageSize"])
            skip = int(query.get("$skip", ["0"])[0])
            page = rows[skip : skip + size] if size else rows[skip:]
            prefix = "/b1s/v2" if self.v2 else "/b1s/v1"
            data: dict[str, Any] = {"odata.metadata": f"{prefix}/$metadata#JournalEntries", "value": page}
            if size and len(rows) > skip + size:
                params = "&".join(f"{k}={quote(v[0], safe=',')}" for k, v in query.items() if k != "$skip")
                link = f"{prefix}/JournalEntries?{params}&$skip={skip + size}"
                data["@odata.nextLink" if self.v2 else "odata.nextLink"] = link
            self._json(200, data, headers)

    return Handler


def main(argv: list[str] | None = None) -> None:
    run_fake_main(
        argv,
        description="fake SAP Business One Service Layer",
        seed=11,
        make=lambda a: FakeB1(port=a.port, fault_rate=a.fault_rate, seed=a.seed, hang_seconds=a.hang_seconds),
    )


if __name__ == "__main__":
    main()
