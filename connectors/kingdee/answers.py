"""Reading Kingdee's answers: every business failure arrives as HTTP 200, so the body decides.

One table (``MSG_CODES``) says what each ``MsgCode`` means for us; ``classify_http`` says the
same for the transport layer (HTTP 519 gateway rejections, 5xx, ``response_error:`` bodies).
The client, the destination and the tests all read this one table, and the README's error
table is written from it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

__all__ = [
    "GATEWAY_FATAL",
    "MSG_CODES",
    "SESSION_LOST_TEXT",
    "Envelope",
    "EnvelopeError",
    "Kind",
    "QueryError",
    "Success",
    "find_envelope",
    "is_session_lost",
    "kind_of_msg_code",
    "parse_envelope",
    "parse_query_rows",
]

SESSION_LOST_TEXT = "会话信息已丢失"


class Kind(StrEnum):
    """What an answer means for the caller."""

    OK = "ok"
    SESSION_LOST = "session_lost"  # re-login (or drop the cookie) and replay once
    TRANSIENT = "transient"  # not done; safe to send again after a pause
    PERMANENT = "permanent"  # refused; Kingdee's message goes to a person


#: MsgCode -> (kind, meaning); docs/specs/kingdee.md §3.5. Unknown codes are permanent: a person
#: looks at them.
MSG_CODES: Mapping[int, tuple[Kind, str]] = {
    0: (Kind.OK, "默认 (success)"),
    1: (Kind.SESSION_LOST, "上下文丢失 session lost"),
    2: (Kind.PERMANENT, "没有权限 no permission"),
    3: (Kind.PERMANENT, "操作标识为空 operation id empty"),
    4: (Kind.TRANSIENT, "异常 server exception"),
    5: (Kind.PERMANENT, "单据标识为空 form id empty"),
    6: (Kind.PERMANENT, "数据库操作失败 database operation failed"),
    7: (Kind.PERMANENT, "许可错误 licence error"),
    8: (Kind.PERMANENT, "参数错误 parameter error"),
    9: (Kind.PERMANENT, "指定字段/值不存在 field or value does not exist"),
    10: (Kind.PERMANENT, "未找到对应数据 data not found"),
    11: (Kind.PERMANENT, "验证失败 validation failed"),
    12: (Kind.PERMANENT, "不可操作 operation not allowed"),
    13: (Kind.TRANSIENT, "网控冲突 network-control lock"),
    14: (Kind.TRANSIENT, "调用限制 call limit"),
    15: (Kind.PERMANENT, "禁止管理员登录 administrator login forbidden"),
}

#: gateway (HTTP 519) errcodes that mean our credentials or clock are refused: stop the run
GATEWAY_FATAL: Mapping[int, str] = {
    4001: "the gateway refused the application (check app_id)",
    4002: "the gateway says APP_ID is empty or unknown (check app_id)",
    4003: "the gateway refused the signature (check app_id and app_secret)",
    4006: "the gateway says the timestamp expired (the clock of this machine is off; sync it with NTP)",
}


def kind_of_msg_code(code: int) -> Kind:
    return MSG_CODES.get(code, (Kind.PERMANENT, ""))[0]


@dataclass(frozen=True)
class EnvelopeError:
    """One entry of ``ResponseStatus.Errors``: Kingdee's own text, kept verbatim."""

    message: str
    field: str | None = None
    dindex: int | None = None


@dataclass(frozen=True)
class Success:
    """One entry of ``SuccessEntitys``: the bill's internal id, number and batch index."""

    id: str
    number: str
    dindex: int | None


@dataclass(frozen=True)
class Envelope:
    """A parsed ``{"Result": {"ResponseStatus": …}}`` answer (Save/BatchSave/Submit/Audit)."""

    is_success: bool
    msg_code: int
    errors: tuple[EnvelopeError, ...]
    successes: tuple[Success, ...]
    need_return: tuple[Mapping[str, Any], ...] = ()

    @property
    def kind(self) -> Kind:
        if is_session_lost(self):
            return Kind.SESSION_LOST
        if self.is_success and self.msg_code == 0:
            return Kind.OK
        if self.is_success:
            return kind_of_msg_code(self.msg_code) if self.msg_code else Kind.OK
        return kind_of_msg_code(self.msg_code) if self.msg_code else Kind.PERMANENT

    @property
    def message(self) -> str:
        """All error texts, as Kingdee wrote them, joined for a person."""
        texts = [e.message for e in self.errors if e.message]
        if texts:
            return "；".join(dict.fromkeys(texts))
        return MSG_CODES.get(self.msg_code, (Kind.PERMANENT, f"MsgCode {self.msg_code}"))[1]


def _truthy(value: Any) -> bool:
    """``IsSuccess`` may be a bool or the string "false"/"true" (some templates)."""
    if isinstance(value, str):
        return value.strip().lower() == "true"
    return bool(value)


def _int(value: Any, default: int = 0) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def find_envelope(body: Any) -> Mapping[str, Any] | None:
    """The ``ResponseStatus`` dict wherever Kingdee put it: plain, or ``[[{…}]]`` for queries."""
    candidate = body
    while isinstance(candidate, list) and candidate:
        candidate = candidate[0]
    if not isinstance(candidate, Mapping):
        return None
    result = candidate.get("Result", candidate)
    if isinstance(result, Mapping) and isinstance(result.get("ResponseStatus"), Mapping):
        status: Mapping[str, Any] = result["ResponseStatus"]
        return status
    return None


def parse_envelope(body: Any) -> Envelope:
    """The write-result envelope; raises ``ValueError`` when the body is not one."""
    status = find_envelope(body)
    if status is None:
        raise ValueError("the answer is not a Kingdee result envelope")
    errors = tuple(
        EnvelopeError(
            str(e.get("Message") or ""),
            e.get("FieldName"),
            _int(e.get("DIndex"), -1) if e.get("DIndex") is not None else None,
        )
        for e in status.get("Errors") or ()
        if isinstance(e, Mapping)
    )
    successes = tuple(
        Success(
            str(s.get("Id", "")),
            str(s.get("Number") or s.get("BillNo") or ""),
            _int(s.get("DIndex"), -1) if s.get("DIndex") is not None else None,
        )
        for s in status.get("SuccessEntitys") or ()
        if isinstance(s, Mapping)
    )
    result = body.get("Result", {}) if isinstance(body, Mapping) else {}
    need = result.get("NeedReturnData") if isinstance(result, Mapping) else None
    need_return = tuple(d for d in need or () if isinstance(d, Mapping))
    return Envelope(
        _truthy(status.get("IsSuccess")), _int(status.get("MsgCode")), errors, successes, need_return
    )


def is_session_lost(env: Envelope) -> bool:
    return env.msg_code == 1 or any(SESSION_LOST_TEXT in e.message for e in env.errors)


class QueryError(Exception):
    """ExecuteBillQuery answered with its error shape ``[[{"Result": …}]]``."""

    def __init__(self, envelope: Envelope) -> None:
        self.envelope = envelope
        super().__init__(envelope.message)


def parse_query_rows(body: Any) -> list[list[Any]]:
    """ExecuteBillQuery rows: a bare 2-D array on success; the wrapped envelope raises QueryError.

    A dict (an envelope with no wrapping, seen on some gateways) is treated like the error
    shape; anything else is a ``ValueError``.
    """
    if isinstance(body, list):
        if body and isinstance(body[0], list) and body[0] and isinstance(body[0][0], Mapping):
            raise QueryError(parse_envelope(body))
        if all(isinstance(row, list) for row in body):
            return body
    if isinstance(body, Mapping) and find_envelope(body) is not None:
        raise QueryError(parse_envelope(body))
    raise ValueError("ExecuteBillQuery answered neither rows nor an error envelope")
