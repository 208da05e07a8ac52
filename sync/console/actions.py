"""The POST actions: each calls the function its CLI command calls (``sync.operations``,
``sync.console.users``) and says what it did in ``message``."""

from __future__ import annotations

from typing import Any

from sync import operations
from sync.config import AppConfig
from sync.console import users, views
from sync.console.sessions import Login
from sync.errors import ConfigurationError
from sync.state import StateStore

__all__ = ["Actions"]

_TRUE = (True, "true", "1", "on")


def _keys(body: dict[str, Any]) -> list[str]:
    keys = body.get("keys") or []
    if isinstance(keys, str):
        keys = [keys]
    if not isinstance(keys, list) or not all(isinstance(k, str) for k in keys):
        raise ConfigurationError("keys must be a list of voucher keys", hint='{"keys": ["…"]}')
    return [k for k in keys if k]


def _approved(result: operations.ApproveResult) -> dict[str, Any]:
    return {"approved": result.approved, "gone": result.gone, "message": f"approved {len(result.approved)}"}


class Actions:
    """The actions over one config (retry needs it to map and to take the run lock)."""

    def __init__(self, config: AppConfig) -> None:
        self.config = config

    def approve_one(
        self, store: StateStore, login: Login, body: dict[str, Any], path: dict[str, str]
    ) -> dict[str, Any]:
        ref = path["key"]
        views.find_voucher(store, ref)
        result = operations.approve_vouchers(store, keys=[ref])
        return _approved(result)

    def approve(
        self, store: StateStore, login: Login, body: dict[str, Any], path: dict[str, str]
    ) -> dict[str, Any]:
        """``{"keys": [...]}``, or ``{"period": "2026-11", "mapping": …}``, or ``{"all": true}``."""
        result = operations.approve_vouchers(
            store,
            keys=_keys(body),
            period=str(body.get("period") or "") or None,
            mapping=str(body.get("mapping") or "") or None,
            all_=body.get("all") in _TRUE,
        )
        return _approved(result)

    def retry(
        self, store: StateStore, login: Login, body: dict[str, Any], path: dict[str, str]
    ) -> dict[str, Any]:
        """``{"keys": [...]}`` or ``{"all": true}``: re-queued under the run lock; the next sync posts."""
        everything = body.get("all") in _TRUE
        keys = _keys(body)
        if not keys and not everything:
            raise ConfigurationError("name what to retry", hint='{"keys": ["…"]} or {"all": true}')
        result = operations.retry(self.config, None if everything else keys, post=False)
        result["message"] = (
            f"re-queued {result['vouchers_requeued']} failed vouchers, re-mapped "
            f"{result['records_remapped']} quarantined records ({result['still_quarantined']} still "
            "quarantined); the next sync posts them"
        )
        return result

    def dismiss(
        self, store: StateStore, login: Login, body: dict[str, Any], path: dict[str, str]
    ) -> dict[str, Any]:
        try:
            entry_id = int(path["id"])
        except ValueError:
            raise views.NotFound(f"no quarantine entry {path['id']!r}") from None
        result = operations.dismiss_quarantine(store, [entry_id], str(body.get("reason") or ""))
        return {
            "dismissed": result.dismissed,
            "not_open": result.not_open,
            "message": f"dismissed {len(result.dismissed)}",
        }

    def pause(
        self, store: StateStore, login: Login, body: dict[str, Any], path: dict[str, str]
    ) -> dict[str, Any]:
        reason = str(body.get("reason") or "").strip() or f"paused by {login.username} in the console"
        operations.pause_posting(store, reason)
        return {"paused": True, "reason": reason, "message": "posting paused"}

    def resume(
        self, store: StateStore, login: Login, body: dict[str, Any], path: dict[str, str]
    ) -> dict[str, Any]:
        was = operations.resume_posting(store)
        return {
            "paused": False,
            "was_paused": was,
            "message": "posting resumed" if was else "posting was not paused",
        }

    def add_user(
        self, store: StateStore, login: Login, body: dict[str, Any], path: dict[str, str]
    ) -> dict[str, Any]:
        name = str(body.get("name") or "")
        users.add_user(store, name, str(body.get("role") or ""), str(body.get("password") or ""))
        return {"added": name, "message": f"user {name} added"}

    def remove_user(
        self, store: StateStore, login: Login, body: dict[str, Any], path: dict[str, str]
    ) -> dict[str, Any]:
        name = path["name"]
        if name == login.username:
            raise ConfigurationError("you cannot remove yourself", hint="another admin can")
        users.remove_user(store, name)
        return {"removed": name, "message": f"user {name} removed"}
