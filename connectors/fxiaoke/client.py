"""The Fxiaoke OpenAPI wire client: legacy body auth, token cache, pacing, retries.

Why a client of our own rather than the CDK's ``HttpStream`` machinery: Fxiaoke answers every
error with HTTP 200 and carries the token inside the JSON body, so status-code error mappings
and header authenticators do not fit. This module owns the wire; the streams own paging and
state. It imports no airbyte_cdk, so the fake's tests and the bench can use it cheaply.

Rules kept here (docs/specs/fxiaoke.md §1, §4):
- one ``corpAccessToken`` per (base_url, app, permanent code), cached for its lifetime in the
  process, refreshed under a lock, the token endpoint called at most 10 times a minute;
- a token error code drops the token, fetches a new one and replays the call exactly once;
- each endpoint is paced separately (``requests_per_second``, default 2.5);
- throttle codes, 5xx, timeouts and connection resets are retried with exponential backoff
  and jitter; quota and permission codes stop at once with what the admin must do.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Final

import requests

from connectors.fxiaoke.errors import (
    ErrorKind,
    FxiaokeApiError,
    FxiaokeConfigError,
    FxiaokeTransientError,
    MalformedPage,
    classify,
)
from sync.backoff import Backoff
from sync.http import TransportConfig, make_session
from sync.secrets import redact, register_secret

__all__ = [
    "CUSTOM_QUERY_PATH",
    "DESCRIBE_PATH",
    "QUERY_PATH",
    "TOKEN_PATH",
    "Credentials",
    "FxiaokeClient",
    "RateLimiter",
]

log = logging.getLogger("crmsync.fxiaoke")

TOKEN_PATH: Final = "/cgi/corpAccessToken/get/V2"  # noqa: S105 - a path, not a secret
QUERY_PATH: Final = "/cgi/crm/v2/data/query"
CUSTOM_QUERY_PATH: Final = "/cgi/crm/custom/v2/data/query"
DESCRIBE_PATH: Final = "/cgi/crm/v2/object/describe"
UPDATE_PATH: Final = "/cgi/crm/v2/data/update"
CUSTOM_UPDATE_PATH: Final = "/cgi/crm/custom/v2/data/update"

#: the token endpoint allows 10 calls a minute (docs/specs/fxiaoke.md §1.3)
_TOKEN_CALLS_PER_MINUTE: Final = 10


@dataclass(frozen=True)
class Credentials:
    """The tenant's app credentials (legacy auth) and the user calls run as."""

    base_url: str
    app_id: str
    app_secret: str
    permanent_code: str
    open_user_id: str

    def cache_key(self) -> str:
        """Identifies the token without holding the secrets in the key."""
        digest = hashlib.sha256(f"{self.app_secret}\0{self.permanent_code}".encode()).hexdigest()[:16]
        return f"{self.base_url.rstrip('/')}|{self.app_id}|{digest}"


class RateLimiter:
    """Spaces calls to each endpoint at least ``1 / per_second`` apart (thread-safe)."""

    def __init__(self, per_second: float, *, sleep: Callable[[float], None] = time.sleep) -> None:
        if per_second <= 0:
            raise ValueError("requests_per_second must be > 0")
        self._interval = 1.0 / per_second
        self._next: dict[str, float] = {}
        self._lock = threading.Lock()
        self._sleep = sleep

    def wait(self, key: str) -> float:
        """Block until a call to ``key`` is allowed; returns the seconds waited."""
        with self._lock:
            now = time.monotonic()
            start = max(now, self._next.get(key, now))
            self._next[key] = start + self._interval
        delay = start - now
        if delay > 0:
            self._sleep(delay)
        return delay


@dataclass
class _Token:
    value: str
    corp_id: str
    expires_at: float  # time.monotonic()


@dataclass
class _TokenSlot:
    """One credential's token and the history of token calls (for the 10/minute limit)."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    token: _Token | None = None
    calls: deque[float] = field(default_factory=deque)


#: process-wide token cache: every client of the same tenant app shares one token
_SLOTS: dict[str, _TokenSlot] = {}
_SLOTS_LOCK = threading.Lock()


def _slot(key: str) -> _TokenSlot:
    with _SLOTS_LOCK:
        return _SLOTS.setdefault(key, _TokenSlot())


class _BadBody(Exception):
    """The answer is not a JSON object with an integer errorCode."""


class FxiaokeClient:
    """Calls the Fxiaoke OpenAPI in the legacy body style; see the module docstring."""

    def __init__(
        self,
        credentials: Credentials,
        *,
        requests_per_second: float = 2.5,
        retry: Backoff | None = None,
        timeout: tuple[float, float] = (10.0, 60.0),
        session: requests.Session | None = None,
        transport: TransportConfig | None = None,
    ) -> None:
        self.credentials = credentials
        if transport is not None:  # the config's transport: section wins over the default timeout
            timeout = (transport.connect_timeout_seconds, transport.read_timeout_seconds)
        self._base = credentials.base_url.rstrip("/")
        self._retry = retry or Backoff(attempts=8)
        self._limiter = RateLimiter(requests_per_second)
        self._timeout = timeout
        self._session = session or make_session(
            transport or TransportConfig(connect_timeout_seconds=timeout[0], read_timeout_seconds=timeout[1]),
            system="fxiaoke",
        )
        self._slot = _slot(credentials.cache_key())
        for secret in (credentials.app_secret, credentials.permanent_code):
            register_secret(secret)

    # -- business calls ------------------------------------------------------------------------

    def query(
        self, api_name: str, search_query_info: Mapping[str, Any], *, stream: str = "", where: str = ""
    ) -> list[dict[str, Any]]:
        """One page of ``api_name`` records (custom ``__c`` objects use the custom endpoint)."""
        path = CUSTOM_QUERY_PATH if api_name.endswith("__c") else QUERY_PATH
        data = {
            "dataObjectApiName": api_name,
            "find_explicit_total_num": False,
            "search_query_info": dict(search_query_info),
        }
        offset = int(search_query_info.get("offset", 0))
        try:
            payload = self.call(path, data)
        except _BadBody as exc:
            raise MalformedPage(stream or api_name, offset, str(exc), where=where) from None
        return _data_list(payload, stream or api_name, offset, where)

    def describe(self, api_name: str) -> dict[str, Any]:
        """The object's field descriptions (``data.describe.fields``)."""
        try:
            payload = self.call(DESCRIBE_PATH, {"apiName": api_name, "includeDetail": False})
        except _BadBody as exc:
            raise FxiaokeApiError(
                DESCRIBE_PATH, -1, {"errorMessage": str(exc)}, kind=ErrorKind.UNKNOWN
            ) from None
        data = payload.get("data")
        describe = data.get("describe") if isinstance(data, dict) else None
        fields = describe.get("fields") if isinstance(describe, dict) else None
        return fields if isinstance(fields, dict) else {}

    def update(self, api_name: str, record_id: str, fields: Mapping[str, Any]) -> dict[str, Any]:
        """Set ``fields`` on one record without triggering work- or approval flows."""
        path = CUSTOM_UPDATE_PATH if api_name.endswith("__c") else UPDATE_PATH
        data = {"object_data": {"_id": record_id, "dataObjectApiName": api_name, **fields}}
        extra = {"triggerWorkFlow": False, "triggerApprovalFlow": False}
        try:
            return self.call(path, data, extra=extra)
        except _BadBody as exc:
            raise FxiaokeApiError(path, -1, {"errorMessage": str(exc)}, kind=ErrorKind.UNKNOWN) from None

    # -- the wire --------------------------------------------------------------------------------

    def call(
        self, path: str, data: Mapping[str, Any], *, extra: Mapping[str, Any] | None = None
    ) -> dict[str, Any]:
        """POST ``data`` to ``path`` with auth; returns the body of an ``errorCode 0`` answer."""
        replayed = False
        attempt = 0
        last_problem = ""
        while True:
            token = self._token()
            body = {
                "corpAccessToken": token.value,
                "corpId": token.corp_id,
                "currentOpenUserId": self.credentials.open_user_id,
                **(extra or {}),
                "data": data,
            }
            outcome = self._post(path, body)
            if isinstance(outcome, dict):
                code = outcome["errorCode"]
                kind = classify(code)
                if kind is ErrorKind.OK:
                    return outcome
                if kind is ErrorKind.TOKEN and not replayed:
                    log.info(
                        "fxiaoke %s: token refused (errorCode %s); refreshing once and replaying", path, code
                    )
                    self._invalidate(token)
                    replayed = True
                    continue
                if kind is not ErrorKind.THROTTLE:
                    raise _refusal(path, code, outcome, kind)
                last_problem = f"errorCode {code} (throttled), traceId {outcome.get('traceId', '')}"
            else:
                last_problem = outcome
            attempt += 1
            if attempt >= self._retry.attempts:
                raise FxiaokeTransientError(
                    f"fxiaoke {path}: gave up after {attempt} attempts; last problem: {last_problem}"
                )
            wait = self._retry.delay(attempt)
            log.warning("fxiaoke %s: %s; retry %d in %.2fs", path, last_problem, attempt, wait)
            time.sleep(wait)

    def _post(self, path: str, body: Mapping[str, Any]) -> dict[str, Any] | str:
        """The decoded answer, or a text saying which transient transport failure happened."""
        self._limiter.wait(path)
        url = f"{self._base}{path}"
        try:
            response = self._session.post(
                url,
                params={"thirdTraceId": str(uuid.uuid4())},
                data=json.dumps(body, ensure_ascii=False).encode("utf-8"),
                headers={"Content-Type": "application/json"},
                timeout=self._timeout,
            )
        except requests.Timeout:
            return f"timed out after {self._timeout[1]:g}s"
        except requests.ConnectionError as exc:
            return f"connection failed ({type(exc).__name__})"
        if response.status_code >= 500 or response.status_code == 429:
            return f"HTTP {response.status_code}"
        if response.status_code != 200:
            raise FxiaokeConfigError(
                path,
                response.status_code,
                {"errorMessage": f"HTTP {response.status_code} from {url}: is base_url an Fxiaoke gateway?"},
                kind=ErrorKind.PERMISSION,
            )
        return _decode(response.content)

    # -- token ----------------------------------------------------------------------------------

    def _token(self) -> _Token:
        slot = self._slot
        token = slot.token
        if token is not None and time.monotonic() < token.expires_at:
            return token
        with slot.lock:  # one refresh at a time per tenant app; others wait and reuse it
            token = slot.token
            if token is not None and time.monotonic() < token.expires_at:
                return token
            slot.token = self._fetch_token(slot)
            return slot.token

    def _invalidate(self, used: _Token) -> None:
        with self._slot.lock:
            if self._slot.token is used:
                self._slot.token = None

    def _fetch_token(self, slot: _TokenSlot) -> _Token:
        body = {
            "appId": self.credentials.app_id,
            "appSecret": self.credentials.app_secret,
            "permanentCode": self.credentials.permanent_code,
        }
        attempt = 0
        while True:
            _respect_token_limit(slot.calls)
            outcome = self._post(TOKEN_PATH, body)
            if isinstance(outcome, dict):
                code = outcome["errorCode"]
                kind = classify(code)
                if kind is ErrorKind.OK:
                    return _token_from(outcome)
                if kind is not ErrorKind.THROTTLE:
                    # a token error on the token endpoint itself means the credentials are wrong
                    kind = ErrorKind.PERMISSION if kind is ErrorKind.TOKEN else kind
                    raise _refusal(TOKEN_PATH, code, outcome, kind)
                problem = f"errorCode {code} (throttled)"
            else:
                problem = outcome
            attempt += 1
            if attempt >= self._retry.attempts:
                raise FxiaokeTransientError(
                    f"fxiaoke {TOKEN_PATH}: gave up after {attempt} attempts: {problem}"
                )
            time.sleep(self._retry.delay(attempt))


def _respect_token_limit(calls: deque[float]) -> None:
    """Wait so that no more than 10 token calls fall in any 60-second window."""
    now = time.monotonic()
    while calls and now - calls[0] >= 60:
        calls.popleft()
    if len(calls) >= _TOKEN_CALLS_PER_MINUTE:
        wait = 60 - (now - calls[0])
        log.warning("fxiaoke token endpoint: 10 calls in the last minute; waiting %.1fs", wait)
        time.sleep(wait)
        calls.popleft()
    calls.append(time.monotonic())


def _token_from(body: Mapping[str, Any]) -> _Token:
    value, corp_id, expires_in = body.get("corpAccessToken"), body.get("corpId"), body.get("expiresIn")
    if not isinstance(value, str) or not value or not isinstance(corp_id, str):
        raise FxiaokeApiError(
            TOKEN_PATH,
            0,
            {"errorMessage": "token answer without corpAccessToken/corpId"},
            kind=ErrorKind.UNKNOWN,
        )
    register_secret(value)
    lifetime = float(expires_in) if isinstance(expires_in, int | float) and expires_in > 0 else 7200.0
    # refresh before the end: 7200 s tokens are renewed after 6700 s (docs: reissue window 6600-7200)
    margin = min(500.0, lifetime / 10)
    return _Token(value, corp_id, time.monotonic() + lifetime - margin)


def _decode(content: bytes) -> dict[str, Any]:
    try:
        payload = json.loads(content, parse_float=Decimal)  # a numeric amount never passes through float
    except ValueError:
        snippet = redact(content[:80].decode("utf-8", "replace"))
        raise _BadBody(f"answer is not JSON (starts with {snippet!r})") from None
    if not isinstance(payload, dict):
        raise _BadBody(f"answer is a JSON {type(payload).__name__}, not an object")
    code = payload.get("errorCode")
    if isinstance(code, bool) or not isinstance(code, int):
        raise _BadBody(f"answer has no integer errorCode (got {code!r})")
    return payload


def _refusal(path: str, code: int, body: dict[str, Any], kind: ErrorKind) -> Exception:
    if kind is ErrorKind.TOKEN:  # refused again right after a fresh token: credentials or corpId
        return FxiaokeConfigError(path, code, body, kind=ErrorKind.PERMISSION)
    if kind in (ErrorKind.QUOTA, ErrorKind.PERMISSION):
        return FxiaokeConfigError(path, code, body, kind=kind)
    return FxiaokeApiError(path, code, body, kind=kind)


def _data_list(payload: Mapping[str, Any], stream: str, offset: int, where: str) -> list[dict[str, Any]]:
    """``data.dataList``, checked: a list of objects each with ``_id`` and ``last_modified_time``."""

    def bad(detail: str) -> MalformedPage:
        return MalformedPage(stream, offset, detail, where=where)

    data = payload.get("data")
    if not isinstance(data, dict):
        raise bad(f"'data' is {type(data).__name__}, expected an object")
    records = data.get("dataList")
    if not isinstance(records, list):
        raise bad(f"'data.dataList' is {type(records).__name__}, expected a list")
    for index, record in enumerate(records):
        if not isinstance(record, dict):
            raise bad(f"row {index} is {type(record).__name__}, expected an object")
        if not isinstance(record.get("_id"), str) or not record["_id"]:
            raise bad(f"row {index} has no '_id'")
        lmt = record.get("last_modified_time")
        if isinstance(lmt, bool) or not isinstance(lmt, int):
            raise bad(
                f"row {index} (_id {record['_id']}) has last_modified_time {lmt!r}, expected epoch ms",
            )
    return [_exact_text(record) for record in records]


def _exact_text(record: dict[str, Any]) -> dict[str, Any]:
    """A record with each fractional JSON number as its exact decimal text (11300.1 -> "11300.1").

    Most tenants answer amounts as text already; the few that answer numbers get the same
    shape, which every Airbyte destination and the state store carry without a float.
    """
    return {k: format(v, "f") if isinstance(v, Decimal) else v for k, v in record.items()}
