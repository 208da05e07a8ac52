"""China Merchants Bank (招商银行) 银企直连 transaction detail query, JSON API ``DCTRSINF``.

One request asks for one account and one day (``trsdat``); a day with more lines than a
page comes back with ``cotflg = Y`` and the last booking sequence (``trsseq``), and the
next page is asked for from that sequence + 1 (a continuation token, not page numbers).
The stream state keeps, per account, the last day and sequence read, so the next run
resumes inside today without re-reading it.

Each line carries the running balance (``trsblv``): every line must equal the previous
balance plus its own signed amount, which is how a day's lines are checked for
completeness (the API has no statement balances). A day that fails the check books
nothing and fails the stream with the account, day and sequence named.

The real gateway wants the payload SM4-encrypted and SM2-signed with the enterprise's
certificate. The ``sigdat`` here is HMAC-SHA256 over the canonical request JSON with the
configured secret: the envelope and every field are the bank's, the signer is the part a
deployment swaps for its SM2 signer (a 前置机 does it for the legacy XML channel).
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import logging
import uuid
from collections.abc import Iterable, Iterator, Mapping
from decimal import Decimal
from typing import Any

import requests

from connectors.bank.stream import bank_stream_base
from sync.backoff import Backoff, retry_transient
from sync.banking import CREDIT, DEBIT, BankTransaction, StatementError
from sync.dates import now_in_china, today_in_china
from sync.errors import ConfigurationError, PermanentError, TransientError
from sync.http import TransportConfig, make_session
from sync.money import MoneyError, format_amount, parse_amount
from sync.secrets import redact

__all__ = ["CmbClient", "make_cmb_stream", "sign"]

log = logging.getLogger(__name__)

#: result codes that mean "try again later" (busy, too frequent, host timeout)
_TRANSIENT = {"CDCS503", "CDCS429", "CSAC999", "-1", "-5"}
#: result codes that mean our credentials / whitelist / signature are wrong
_AUTH = {"CSAC001", "CSAC002", "CSAC003", "-4"}


def canonical(payload: Mapping[str, Any]) -> str:
    return json.dumps(payload, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def sign(request: Mapping[str, Any], secret: str) -> str:
    """``sigdat`` over the canonical ``request`` object (stand-in for the SM2 signature)."""
    mac = hmac.new(secret.encode(), canonical(request).encode(), hashlib.sha256).digest()
    return base64.b64encode(mac).decode()


class CmbClient:
    """Queries DCTRSINF page by page; raises Transient/Permanent/ConfigurationError by result code."""

    def __init__(
        self,
        base_url: str,
        userid: str,
        secret: str,
        bbknbr: str,
        *,
        transport: TransportConfig | None = None,
        max_attempts: int = 4,
    ) -> None:
        self.base_url = base_url
        self.userid = userid
        self._secret = secret
        self.bbknbr = bbknbr
        self.session = make_session(transport, system="cmb")
        self.max_attempts = max_attempts

    @classmethod
    def from_config(cls, cfg: Any) -> CmbClient:
        return cls(
            cfg.base_url,
            cfg.userid,
            cfg.secret.get_secret_value() if hasattr(cfg.secret, "get_secret_value") else cfg.secret,
            cfg.bbknbr,
            transport=cfg.transport,
        )

    def _call(self, funcode: str, body: dict[str, Any]) -> dict[str, Any]:
        return retry_transient(lambda: self._post(funcode, body), Backoff(self.max_attempts, 0.05, 2))

    def _post(self, funcode: str, body: dict[str, Any]) -> dict[str, Any]:
        request = {
            "head": {"funcode": funcode, "userid": self.userid, "reqid": uuid.uuid4().hex},
            "body": body,
        }
        envelope = {
            "request": request,
            "signature": {
                "sigtim": now_in_china().strftime("%Y%m%d%H%M%S"),
                "sigdat": sign(request, self._secret),
            },
        }
        try:
            resp = self.session.post(
                self.base_url,
                data=canonical(envelope).encode(),
                headers={"Content-Type": "application/json;charset=UTF-8"},
            )
        except requests.RequestException as exc:
            raise TransientError(f"cmb {funcode}: {type(exc).__name__}: {redact(str(exc))}") from None
        if resp.status_code >= 500 or resp.status_code == 429:
            raise TransientError(f"cmb {funcode}: HTTP {resp.status_code}")
        if resp.status_code != 200:
            raise PermanentError(f"cmb {funcode}: HTTP {resp.status_code}: {redact(resp.text[:300])}")
        text = resp.content.decode("utf-8", errors="replace").strip()
        if text.startswith("CDCServer"):
            # the gateway's own plain-text refusal of a request it cannot take (format, signature,
            # encryption, UID): the same request fails the same way every time, so it is not retried
            raise ConfigurationError(
                f"cmb {funcode}: the gateway refused the request: {redact(text[:300])}",
                hint="check uid, the keys and the gateway address; the bank's gateway answers plain "
                "text when a request is not in its signed and encrypted form",
            )
        try:
            data = json.loads(text, parse_float=Decimal)
            head = data["response"]["head"]
        except (ValueError, KeyError, TypeError):
            raise TransientError(f"cmb {funcode}: answer is not the DCTRSINF JSON envelope") from None
        code, msg = str(head.get("resultcode", "")), redact(str(head.get("resultmsg", "")))
        if code == "SUC0000":
            body_out: dict[str, Any] = data["response"].get("body") or {}
            return body_out
        if code in _TRANSIENT:
            raise TransientError(f"cmb {funcode}: {code} {msg}")
        if code in _AUTH:
            raise ConfigurationError(
                f"cmb {funcode}: the bank refused our credentials: {code} {msg}",
                hint="check userid, the signing key and that this host's IP is whitelisted",
            )
        raise PermanentError(f"cmb {funcode}: {code} {msg}")

    def check(self) -> tuple[bool, Any]:
        try:
            self._call(
                "DCTRSINF",
                {
                    "bbknbr": self.bbknbr,
                    "accnbr": "",
                    "trsdat": today_in_china().strftime("%Y%m%d"),
                    "trsseq": "0",
                },
            )
        except (ConfigurationError, TransientError) as exc:
            return False, exc.message
        except PermanentError:
            return True, None  # reached the bank and signed correctly; an empty account is refused as such
        return True, None

    def day(self, accnbr: str, day: dt.date, from_seq: int = 0) -> Iterator[tuple[list[dict[str, Any]], int]]:
        """Pages of one account-day as (lines, last sequence); follows ``cotflg`` to the end."""
        seq = from_seq
        while True:
            body = self._call(
                "DCTRSINF",
                {
                    "bbknbr": self.bbknbr,
                    "accnbr": accnbr,
                    "trsdat": day.strftime("%Y%m%d"),
                    "trsseq": str(seq),
                },
            )
            info = (body.get("ntrbptrsz1") or [{}])[0]
            lines = list(body.get("ntqactrsz2") or [])
            seqs = [int(line["trsseq"]) for line in lines if str(line.get("trsseq", "")).isdigit()]
            last = max(seqs) if seqs else int(info.get("trsseq") or seq - 1)
            yield lines, last
            if str(info.get("cotflg", "N")).upper() != "Y" or not lines:
                return
            seq = last + 1


def _classify(line: Mapping[str, Any], direction: str) -> str:
    text = f"{line.get('busnam', '')}{line.get('naryur', '')}{line.get('trscod', '')}"
    if "手续费" in text or "费用" in text:
        return "fee"
    if "利息" in text or "结息" in text:
        return "interest"
    return "receipt" if direction == CREDIT else "payment"


def to_transaction(
    line: Mapping[str, Any], accnbr: str, where: str, currency: str = "CNY"
) -> BankTransaction:
    """One ``ntqactrsz2`` line as a normalised transaction."""
    flag = str(line.get("amtcdr", ""))
    if flag not in {"C", "D"}:
        raise StatementError(
            where, f"流水号 {line.get('refnbr')}: 借贷标志 amtcdr {flag!r} is neither C nor D"
        )
    try:
        amount = parse_amount(str(line.get("trsamt", "")), field="trsamt")
    except MoneyError as exc:
        raise StatementError(where, f"流水号 {line.get('refnbr')}: {exc}") from None
    refnbr = str(line.get("refnbr") or "")
    if not refnbr:
        raise StatementError(where, "a line without 流水号 refnbr cannot be deduplicated")
    direction = CREDIT if flag == "C" else DEBIT
    etydat = dt.datetime.strptime(str(line["etydat"]), "%Y%m%d").date()
    vltdat = dt.datetime.strptime(str(line["vltdat"]), "%Y%m%d").date() if line.get("vltdat") else None
    texts = [str(line.get(k) or "") for k in ("nusage", "naryur", "busnar", "otrnar", "narext")]
    refs = [str(line.get(k) or "") for k in ("yurref", "refsub", "frmcod")]
    return BankTransaction(
        id=f"cmb:{accnbr}:{etydat:%Y%m%d}:{refnbr}",
        format="cmb",
        account=accnbr,
        direction=direction,
        amount=abs(amount),
        currency=currency,
        booking_date=etydat,
        value_date=vltdat,
        payer_name=str(line.get("rpynam") or ""),
        payer_account=str(line.get("rpyacc") or ""),
        references=tuple(dict.fromkeys(r for r in refs if r)),
        remittance=" ".join(dict.fromkeys(t for t in texts if t)),
        bank_code=str(line.get("trscod") or ""),
        reversal=str(line.get("rsvflg") or "") in {"*", "X"},
        kind=_classify(line, direction),
        statement_id=f"{accnbr}/{etydat:%Y%m%d}",
        source_file=where,
        raw={str(k): str(v) for k, v in line.items() if v is not None and v != ""},
    )


def check_running_balance(
    lines: list[BankTransaction], opening: Decimal | None, where: str
) -> Decimal | None:
    """Each line's 余额 must be the previous 余额 plus its own amount; returns the last 余额."""
    balance = opening
    for txn in lines:
        after_raw = txn.raw.get("trsblv")
        if after_raw is None:
            raise StatementError(
                where, f"流水号 {txn.raw.get('refnbr')} has no 余额 trsblv; cannot check completeness"
            )
        after = parse_amount(after_raw, field="trsblv")
        if balance is not None and balance + txn.signed_amount != after:
            raise StatementError(
                where,
                f"running balance broken at 流水号 {txn.raw.get('refnbr')} "
                f"(seq {txn.raw.get('trsseq', '?')}): {format_amount(balance)} "
                f"{'+' if txn.direction == CREDIT else '-'} {format_amount(txn.amount)} "
                f"!= 余额 {format_amount(after)}; a line is missing, nothing was booked from this day",
            )
        balance = after
    return balance


def make_cmb_stream(cfg: Any) -> Any:
    """The airbyte-cdk stream: one slice per account-day from the saved position to ``end_date``."""
    from airbyte_cdk.models import SyncMode

    client = CmbClient.from_config(cfg)
    start: dt.date = cfg.start_date
    end: dt.date = cfg.end_date or today_in_china()

    class CmbTransactions(bank_stream_base()):  # type: ignore[misc]
        name = "cmb"

        def clean_state(self, value: Mapping[str, Any] | None) -> dict[str, Any]:
            return {"accounts": dict((value or {}).get("accounts") or {})}

        def slices(self) -> Iterable[Mapping[str, Any] | None]:
            for acc in cfg.accounts:
                pos = self._state["accounts"].get(acc)
                day = dt.datetime.strptime(pos["trsdat"], "%Y%m%d").date() if pos else start
                while day <= end:
                    yield {"account": acc, "day": day.isoformat()}
                    day += dt.timedelta(days=1)

        def read_records(
            self,
            sync_mode: SyncMode,
            cursor_field: Any = None,
            stream_slice: Mapping[str, Any] | None = None,
            stream_state: Mapping[str, Any] | None = None,
        ) -> Iterable[Mapping[str, Any]]:
            if not stream_slice:
                return
            acc, day = stream_slice["account"], dt.date.fromisoformat(stream_slice["day"])
            pos = self._state["accounts"].get(acc) or {}
            resume = pos.get("trsdat") == f"{day:%Y%m%d}"
            from_seq = int(pos.get("trsseq", -1)) + 1 if resume else 0
            # the balance carries over days: the first line of a day must follow the last line read
            opening = parse_amount(pos["trsblv"]) if pos.get("trsblv") else None
            where = f"cmb DCTRSINF account {acc} day {day:%Y-%m-%d}"
            txns: list[BankTransaction] = []
            last_seq = from_seq - 1
            for lines, last in client.day(acc, day, from_seq):
                for line in lines:
                    txns.append(to_transaction(line, acc, where))
                last_seq = max(last_seq, last)
            closing = check_running_balance(txns, opening, where)
            for txn in txns:
                yield txn.to_record()
            self._state["accounts"][acc] = {
                "trsdat": f"{day:%Y%m%d}",
                "trsseq": str(max(last_seq, -1)),
                **({"trsblv": format_amount(closing)} if closing is not None else {}),
            }

    return CmbTransactions()
