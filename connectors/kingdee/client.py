"""The K/3 Cloud WebAPI client: transport, authentication, session recovery, paging.

Every call is ``POST {base_url}/Kingdee.BOS.WebApi.ServicesStub.<Service>.common.kdsvc`` with
a JSON body (docs/specs/kingdee.md §1). What this client decides, and nothing more:

- whether a request never left (connection refused: the ERP is unreachable), was sent but
  its answer is lost (read timeout, reset: ``OutcomeUnknown``), or was answered;
- what the HTTP layer says (519 gateway rejections, 5xx, ``response_error:`` bodies);
- a lost session (MsgCode 1 / "会话信息已丢失"): log in again (session mode) or drop the
  cookie (signature mode) and replay the request exactly once. The server refuses such a call
  before the operation runs, so the replay cannot double a Save.

Business results (Errors per DIndex, MsgCode 11 …) are returned to the caller to classify.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Sequence
from typing import Any

import requests

from connectors.kingdee.answers import (
    GATEWAY_FATAL,
    Envelope,
    Kind,
    QueryError,
    find_envelope,
    is_session_lost,
    parse_envelope,
    parse_query_rows,
)
from connectors.kingdee.auth import Auth
from connectors.kingdee.wire import dumps, loads
from sync.errors import DestinationUnavailable, PermanentError, TransientError
from sync.http import make_session, resolve_transport
from sync.netfaults import describe, never_sent
from sync.secrets import redact

__all__ = ["SERVICE_PREFIX", "KingdeeClient", "OutcomeUnknown", "quote"]

log = logging.getLogger(__name__)

SERVICE_PREFIX = "Kingdee.BOS.WebApi.ServicesStub."
#: ExecuteBillQuery's largest page (docs/specs/kingdee.md §3.4)
MAX_PAGE = 2000
#: the MCP server's observation: a fresh signature-mode session may take minutes to activate
SIGNATURE_SESSION_WARMUP = 300.0


class OutcomeUnknown(TransientError):
    """The request was sent but its answer was lost: look the item up before sending again."""


def quote(value: str) -> str:
    """A FilterString literal: single quotes doubled (docs/specs/kingdee.md §3.4)."""
    return "'" + value.replace("'", "''") + "'"


class KingdeeClient:
    """One Kingdee site, one integration user; both auth modes behind ``Auth``."""

    def __init__(
        self,
        base_url: str,
        auth: Auth,
        *,
        timeout: float = 30.0,
        session: requests.Session | None = None,
        page_size: int = MAX_PAGE,
    ) -> None:
        self.base_url = base_url.rstrip("/") + "/"
        self.auth = auth
        self.timeout = timeout
        self.http = session or make_session(resolve_transport(None, timeout), system="kingdee")
        self.page_size = max(1, min(page_size, MAX_PAGE))
        self.calls: Counter[str] = Counter()

    # -- transport ------------------------------------------------------------------------

    def url(self, service: str) -> str:
        return f"{self.base_url}{SERVICE_PREFIX}{service}.common.kdsvc"

    def _headers(self, url: str) -> dict[str, str]:
        headers = {
            "Content-Type": "application/json",
            "Accept-Charset": "utf-8",
            "User-Agent": "crmsync Kingdee WebApi client",
        }
        headers.update(self.auth.headers(url))
        sid = self.http.cookies.get("kdservice-sessionid")
        if sid and "kdservice-sessionid" not in headers:
            headers["kdservice-sessionid"] = sid
        return headers

    def _exchange(self, service: str, body: Any, *, write: bool) -> Any:
        """One HTTP round trip: the decoded JSON answer, or a typed error."""
        url = self.url(service)
        self.calls[service.rsplit(".", 1)[-1]] += 1
        try:
            response = self.http.post(
                url,
                data=dumps(body).encode("utf-8"),
                headers=self._headers(url),
                timeout=(min(self.timeout, 10.0), self.timeout),
            )
        except requests.RequestException as exc:
            if never_sent(exc):
                what, fix = describe(exc, self.base_url)
                raise DestinationUnavailable(
                    f"Kingdee at {self.base_url} cannot be reached: {what}",
                    hint=f"{fix} (base_url ends with /k3cloud/)",
                ) from None
            what = "timed out" if isinstance(exc, requests.Timeout) else f"failed ({type(exc).__name__})"
            if write:
                raise OutcomeUnknown(
                    f"{service} {what} after the request was sent; Kingdee may have executed it"
                ) from None
            raise TransientError(f"{service} {what}") from None
        return self._decode(service, response, write=write)

    def _decode(self, service: str, response: requests.Response, *, write: bool) -> Any:
        status, text = response.status_code, response.text
        if status == 519:
            self._gateway_rejection(text)
        if status == 429 or status >= 500:
            retry_after = _retry_after(response.headers.get("Retry-After"))
            raise TransientError(f"Kingdee answered HTTP {status} to {service}", retry_after=retry_after)
        if status not in (200, 206):
            raise TransientError(f"Kingdee answered HTTP {status} to {service}: {redact(text[:200])}")
        stripped = text.lstrip()
        if stripped.startswith("response_error:"):
            raise TransientError(f"Kingdee server exception in {service}: {redact(stripped[15:300].strip())}")
        try:
            return loads(text)
        except ValueError:
            message = f"{service} answered HTTP {status} with a body that is not JSON: {redact(text[:120])!r}"
            if write:
                raise OutcomeUnknown(message) from None
            raise TransientError(message) from None

    def _gateway_rejection(self, text: str) -> None:
        try:
            body = loads(text)
        except ValueError:
            body = {}
        errcode = int(body.get("errcode", 0) or 0) if isinstance(body, dict) else 0
        description = str(body.get("description", "")) if isinstance(body, dict) else ""
        if errcode in GATEWAY_FATAL:
            raise DestinationUnavailable(
                f"the Kingdee API gateway refused the request: errcode {errcode} {redact(description)}",
                hint=GATEWAY_FATAL[errcode],
            )
        raise TransientError(
            f"the Kingdee API gateway rejected the request: errcode {errcode} {redact(description)}"
        )

    # -- sessions -------------------------------------------------------------------------

    def login(self) -> None:
        """Log in with the first method the site accepts (session mode only)."""
        failures: list[str] = []
        for service, body in self.auth.login_requests():
            try:
                answer = self._exchange(service, body, write=False)
            except TransientError as exc:
                failures.append(f"{service.rsplit('.', 1)[-1]}: {exc.message}")
                continue
            result_type = int(answer.get("LoginResultType", -1)) if isinstance(answer, dict) else -1
            session_id = str(answer.get("KDSVCSessionId") or "") if isinstance(answer, dict) else ""
            if result_type in (1, -5) and session_id:
                self.auth.logged_in(session_id)
                log.info("logged in to Kingdee with %s", service.rsplit(".", 1)[-1])
                return
            message = str(answer.get("Message") or "") if isinstance(answer, dict) else ""
            failures.append(
                f"{service.rsplit('.', 1)[-1]}: {redact(message) or f'LoginResultType {result_type}'}"
            )
            if result_type == 0:  # PWError: wrong user or secret; other methods will not help
                break
        raise DestinationUnavailable(
            "Kingdee refused the login: " + "; ".join(failures),
            hint="check acct_id (the 数据中心ID), username, app_id and app_secret of the "
            "第三方系统登录授权 entry, and that the user holds WebAPI permission",
        )

    def _reset_session(self) -> None:
        self.auth.session_lost()
        self.http.cookies.clear()

    def call(self, service: str, body: Any, *, write: bool = False) -> Any:
        """Send one request; on a lost session log in again (or drop the cookie) and replay once."""
        if self.auth.needs_login:
            self.login()
        answer = self._exchange(service, body, write=write)
        if not _session_lost(answer):
            return answer
        log.info("Kingdee session lost during %s; re-authenticating and replaying once", service)
        self._reset_session()
        if self.auth.needs_login:
            self.login()
        answer = self._exchange(service, body, write=write)
        if _session_lost(answer):
            self._reset_session()
            raise TransientError(
                f"Kingdee lost the session again right after re-authenticating ({service})",
                retry_after=SIGNATURE_SESSION_WARMUP if self.auth.mode == "signature" else None,
            )
        return answer

    # -- operations -----------------------------------------------------------------------

    def write(self, operation: str, form_id: str, data: dict[str, Any]) -> Envelope:
        """Save / BatchSave / Submit / Audit: the parsed envelope (the caller classifies it)."""
        answer = self.call(f"DynamicFormService.{operation}", {"formid": form_id, "data": data}, write=True)
        try:
            return parse_envelope(answer)
        except ValueError:
            raise OutcomeUnknown(f"{operation} answered something that is not a result envelope") from None

    def query(
        self, form_id: str, field_keys: Sequence[str], filter_string: str, order: str = ""
    ) -> list[list[Any]]:
        """ExecuteBillQuery, every page (``StartRow += Limit`` until a short page)."""
        rows: list[list[Any]] = []
        start = 0
        while True:
            data = {
                "FormId": form_id,
                "FieldKeys": ",".join(field_keys),
                "FilterString": filter_string,
                "OrderString": order,
                "TopRowCount": 0,
                "StartRow": start,
                "Limit": self.page_size,
                "SubSystemId": "",
            }
            answer = self.call("DynamicFormService.ExecuteBillQuery", {"data": data})
            try:
                page = parse_query_rows(answer)
            except QueryError as exc:
                _raise_query_error(form_id, exc.envelope)
            except ValueError:
                raise TransientError(f"ExecuteBillQuery on {form_id} answered an unexpected shape") from None
            rows.extend(page)
            if len(page) < self.page_size:
                return rows
            start += self.page_size

    def view(self, form_id: str, number: str) -> dict[str, Any] | None:
        """View by Number: the whole bill in any document status, or None when there is none."""
        data = {"CreateOrgId": 0, "Number": number, "Id": "", "IsSortBySeq": False}
        answer = self.call("DynamicFormService.View", {"formid": form_id, "data": data})
        result = answer.get("Result") if isinstance(answer, dict) else None
        bill = result.get("Result") if isinstance(result, dict) else None
        if isinstance(bill, dict):
            return bill
        try:
            env = parse_envelope(answer)
        except ValueError:
            raise TransientError(f"View on {form_id} answered an unexpected shape") from None
        if env.kind is Kind.TRANSIENT:
            raise TransientError(f"View on {form_id}: {env.message}")
        return None  # IsSuccess false: no bill with that number (community code's existence check)

    def close(self) -> None:
        self.http.close()


def _raise_query_error(form_id: str, env: Envelope) -> Any:
    if env.kind is Kind.TRANSIENT:
        raise TransientError(f"ExecuteBillQuery on {form_id}: {env.message}")
    raise PermanentError(f"ExecuteBillQuery on {form_id} refused: {env.message} (MsgCode {env.msg_code})")


def _session_lost(answer: Any) -> bool:
    if find_envelope(answer) is None:
        return False
    try:
        return is_session_lost(parse_envelope(answer))
    except ValueError:
        return False


def _retry_after(value: str | None) -> float | None:
    try:
        return max(0.0, float(value)) if value else None
    except ValueError:
        return None
