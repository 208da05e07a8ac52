"""Console users: add, list, remove, new password; the CLI (``crmsync users``) and the admin page
both call these, and each change is in the audit trail (action ``users``)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from sync.console.passwords import hash_password
from sync.console.roles import Role
from sync.errors import ConfigurationError
from sync.state import StateStore, audit

__all__ = ["UserInfo", "add_user", "list_users", "remove_user", "set_password"]

_NAME = re.compile(r"^[\w.@+-]{1,64}$")


@dataclass(frozen=True, slots=True)
class UserInfo:
    name: str
    role: str
    created: str
    updated: str


def _check_name(name: str) -> None:
    if not _NAME.match(name):
        raise ConfigurationError(
            f"user name {name!r} is not allowed",
            hint="use 1-64 letters (Chinese too), digits and . _ @ + - (no spaces)",
        )


def _check_role(role: str) -> Role:
    try:
        return Role(role)
    except ValueError:
        raise ConfigurationError(
            f"role {role!r} is unknown", hint="one of " + ", ".join(r.value for r in Role)
        ) from None


def add_user(store: StateStore, name: str, role: str, password: str) -> None:
    _check_name(name)
    chosen = _check_role(role)
    password_hash = hash_password(password)
    with store.transaction():
        if not store.add_console_user(name, chosen.value, password_hash):
            raise ConfigurationError(
                f"user {name!r} exists already", hint=f"`crmsync users passwd {name}` gives a new password"
            )
        audit.record(store, audit.Action.USERS, name, {"op": "add", "role": chosen.value})


def set_password(store: StateStore, name: str, password: str) -> None:
    password_hash = hash_password(password)
    with store.transaction():
        if not store.set_console_password(name, password_hash):
            raise ConfigurationError(f"no user {name!r}", hint="see `crmsync users list`")
        audit.record(store, audit.Action.USERS, name, {"op": "passwd"})


def remove_user(store: StateStore, name: str) -> None:
    with store.transaction():
        if not store.remove_console_user(name):
            raise ConfigurationError(f"no user {name!r}", hint="see `crmsync users list`")
        audit.record(store, audit.Action.USERS, name, {"op": "remove"})


def list_users(store: StateStore) -> list[UserInfo]:
    return [UserInfo(u.name, u.role, u.created, u.updated) for u in store.console_users()]
