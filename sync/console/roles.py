"""The four roles, each allowed what the one below may do and more."""

from __future__ import annotations

from enum import StrEnum

__all__ = ["ACTIONS", "Role", "allows"]


class Role(StrEnum):
    VIEWER = "viewer"
    APPROVER = "approver"
    OPERATOR = "operator"
    ADMIN = "admin"


_RANK = {Role.VIEWER: 0, Role.APPROVER: 1, Role.OPERATOR: 2, Role.ADMIN: 3}

#: what each action needs at least
ACTIONS: dict[str, Role] = {
    "read": Role.VIEWER,
    "approve": Role.APPROVER,
    "retry": Role.OPERATOR,
    "dismiss": Role.OPERATOR,
    "pause": Role.OPERATOR,
    "resume": Role.OPERATOR,
    "users": Role.ADMIN,
}


def allows(role: str, action: str) -> bool:
    """Whether ``role`` may do ``action`` (an unknown role may do nothing)."""
    try:
        return _RANK[Role(role)] >= _RANK[ACTIONS[action]]
    except (ValueError, KeyError):
        return False
