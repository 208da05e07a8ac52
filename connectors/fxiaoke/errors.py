"""What an Fxiaoke ``errorCode`` means for the caller, as one table.

Every Fxiaoke answer is HTTP 200; the body's ``errorCode`` decides. Classification (this
module) is kept apart from retrying (``client``): the table says what kind of failure a code
is, the client decides how long to wait. ``errorMessage`` is never branched on (the docs say
it changes); it is only quoted back to the person reading the error.
"""

from __future__ import annotations

import enum
from typing import Final

from sync.errors import ConfigurationError, PermanentError, TransientError
from sync.secrets import redact

__all__ = [
    "ErrorKind",
    "FxiaokeApiError",
    "FxiaokeConfigError",
    "FxiaokeTransientError",
    "MalformedPage",
    "classify",
]


class ErrorKind(enum.Enum):
    """What to do about a code: the client acts on the kind, never on the number."""

    OK = "ok"
    TOKEN = "token"  # noqa: S105 - drop the cached token, fetch a new one, replay the call once
    THROTTLE = "throttle"  # back off and retry
    QUOTA = "quota"  # daily quota gone or never bought: stop, an admin must act
    PERMISSION = "permission"  # credentials, app or user rights: stop, an admin must act
    MALFORMED = "malformed"  # our query is wrong (parameters, offset): a bug, stop
    UNKNOWN = "unknown"  # a code we do not know: stop with the API's own words


_TABLE: Final[dict[int, ErrorKind]] = {
    0: ErrorKind.OK,
    # token does not exist / expired; 20017 = no token sent (ours was lost)
    20016: ErrorKind.TOKEN,
    20017: ErrorKind.TOKEN,
    # 秒频次超限 / 接口调用超过限制 / 系统繁忙 / 系统错误 / 服务异常
    30004: ErrorKind.THROTTLE,
    14001: ErrorKind.THROTTLE,
    -1: ErrorKind.THROTTLE,
    -2: ErrorKind.THROTTLE,
    50009: ErrorKind.THROTTLE,
    # daily quota exhausted (resets 00:00) / no OpenAPI quota bought
    30002: ErrorKind.QUOTA,
    30003: ErrorKind.QUOTA,
    # app, credentials and user: wrong secret, wrong permanent code, app disabled, not authorised,
    # no data permission, unknown openUserId
    10006: ErrorKind.PERMISSION,
    20006: ErrorKind.PERMISSION,
    20012: ErrorKind.PERMISSION,
    20014: ErrorKind.PERMISSION,
    20015: ErrorKind.PERMISSION,
    20020: ErrorKind.PERMISSION,
    20021: ErrorKind.PERMISSION,
    20022: ErrorKind.PERMISSION,
    15003: ErrorKind.PERMISSION,
    11001: ErrorKind.PERMISSION,
    11002: ErrorKind.PERMISSION,
    11013: ErrorKind.PERMISSION,
    # parameter errors and the offset > 10000 refusal: our query is wrong
    10013: ErrorKind.MALFORMED,
    15002: ErrorKind.MALFORMED,
    32000: ErrorKind.MALFORMED,
}

#: what the tenant administrator must do, per code (shown after "fix:")
_ADMIN_HINTS: Final[dict[int, str]] = {
    30002: "the tenant's daily OpenAPI quota is used up; it resets at 00:00 (China time), "
    "or the admin buys more quota (开放平台 → OpenAPI 调用次数)",
    30003: "the tenant has not bought OpenAPI quota; the admin must buy an OpenAPI package",
    10006: "Fxiaoke found a parameter missing or illegal (10006 is generic: its message above names "
    "which); on the token call that is usually app_id or app_secret, so copy both again from the "
    "app's page in the admin console",
    20006: "app_id or app_secret is wrong; copy both again from the admin console",
    20015: "permanent_code is wrong; get the tenant's permanent authorization code again",
    20021: "the app is disabled in this tenant; the admin must enable it",
    20022: "the tenant has not authorised this app; the admin must authorise it",
    20012: "open_user_id is unknown in this tenant; use the openUserId (FSUID_…) of a CRM admin",
    20014: "the user open_user_id has no data permission on this object; "
    "give that user (ideally a CRM administrator) access to it",
}


def classify(code: int) -> ErrorKind:
    """The kind of an ``errorCode`` (unknown codes are ``UNKNOWN``, never retried)."""
    return _TABLE.get(code, ErrorKind.UNKNOWN)


def admin_hint(code: int, kind: ErrorKind) -> str:
    """What a person must do about ``code``."""
    if code in _ADMIN_HINTS:
        return _ADMIN_HINTS[code]
    if kind is ErrorKind.PERMISSION:
        return (
            "check the app's credentials, that developer mode is on, the server IP is whitelisted, "
            "and that open_user_id is a CRM administrator"
        )
    if kind is ErrorKind.MALFORMED:
        return "this is a query crmsync built; report it with the traceId"
    return "look the code up in the Fxiaoke error code table (开放平台 → 错误码) and quote the traceId"


def _describe(code: int, body: dict[str, object]) -> str:
    message = redact(str(body.get("errorMessage") or body.get("errorDescription") or ""))
    trace = body.get("traceId")
    text = f"errorCode {code}"
    if message:
        text += f" ({message})"
    if trace:
        text += f", traceId {trace}"
    return text


class FxiaokeApiError(PermanentError):
    """The API refused the call for good (unknown or parameter error); keeps the code and traceId."""

    def __init__(self, endpoint: str, code: int, body: dict[str, object], *, kind: ErrorKind) -> None:
        self.endpoint = endpoint
        self.code = code
        self.kind = kind
        self.trace_id = str(body.get("traceId") or "")
        super().__init__(f"fxiaoke {endpoint}: {_describe(code, body)}", hint=admin_hint(code, kind))


class FxiaokeConfigError(ConfigurationError):
    """Quota or permission: retrying cannot help; an administrator must act (message says what)."""

    def __init__(self, endpoint: str, code: int, body: dict[str, object], *, kind: ErrorKind) -> None:
        self.endpoint = endpoint
        self.code = code
        self.kind = kind
        self.trace_id = str(body.get("traceId") or "")
        what = "quota exhausted" if kind is ErrorKind.QUOTA else "permission or credentials refused"
        super().__init__(f"fxiaoke {endpoint}: {what}: {_describe(code, body)}", hint=admin_hint(code, kind))


class FxiaokeTransientError(TransientError):
    """Retries ran out on throttling, 5xx, timeouts or resets; the next run tries again."""


class MalformedPage(PermanentError):
    """A query answer that is not the documented shape: named by stream and offset, never a KeyError."""

    def __init__(self, stream: str, offset: int, detail: str, *, where: str = "") -> None:
        self.stream = stream
        self.offset = offset
        self.detail = detail
        place = f"stream {stream}, offset {offset}" + (f", {where}" if where else "")
        super().__init__(
            f"fxiaoke returned a malformed page ({place}): {detail}",
            hint="re-run the sync; if it persists, report it to Fxiaoke support with this stream and offset",
        )
