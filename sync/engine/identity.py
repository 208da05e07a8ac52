"""Which destination a state store belongs to: recorded on first use, refused when it changes.

The state says what is posted *to one ERP*. Pointed at another (a config copied for a second
company, a test ERP swapped for the live one, a base URL edited), its ``posted`` rows would be
taken for postings the new destination never saw, and the look-up before sending would ask
the wrong books. So the first run that posts records the destination's identity -- its type,
where it is (base URL or absolute path) and which books (account book, company code, company
database) -- and every later run compares. Moving a state on purpose is one command:
``crmsync rebind -c CONFIG`` records the new identity with an audit entry.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from sync.config import AppConfig
from sync.destination import Destination
from sync.engine.build import build_destination
from sync.errors import ConfigurationError
from sync.state import StateStore, audit

__all__ = ["FLAG", "bind", "describe", "destination_identity", "open_destination", "stored_identity"]

#: the control-table entry that holds the identity (JSON)
FLAG = "destination"
#: keys that say where the destination is, first present wins
_WHERE = ("base_url", "path")
#: keys that say which books inside it
_BOOKS = ("acct_id", "account_book", "company_code", "company_db", "book")


def destination_identity(config: AppConfig) -> dict[str, str]:
    """type, where and books of the configured destination (a wrapper names its ``inner`` one)."""
    section: Mapping[str, Any] = config.destination.model_dump()
    inner = section.get("inner")
    if isinstance(inner, Mapping) and "type" in inner:
        section = inner
    identity = {"type": str(section.get("type", ""))}
    for key in _WHERE:
        value = section.get(key)
        if isinstance(value, str) and value:
            identity["where"] = _where(key, value, config.base_dir)
            break
    for key in _BOOKS:
        value = section.get(key)
        if value not in (None, ""):
            identity[key] = str(value)
    return identity


def _where(key: str, value: str, base_dir: Path) -> str:
    if key == "path":
        path = Path(value).expanduser()
        return str((path if path.is_absolute() else base_dir / path).resolve())
    return value.rstrip("/") + "/"


def describe(identity: Mapping[str, str]) -> str:
    """``kingdee at https://erp/k3cloud/ (acct_id 65a1, account_book 001)``."""
    books = ", ".join(f"{k} {v}" for k, v in identity.items() if k not in ("type", "where"))
    text = f"{identity.get('type', '?')} at {identity.get('where', '?')}"
    return f"{text} ({books})" if books else text


def stored_identity(store: StateStore) -> dict[str, str] | None:
    text = store.get_flag(FLAG)
    if not text:
        return None
    value = json.loads(text)
    return {str(k): str(v) for k, v in value.items()} if isinstance(value, dict) else None


def bind(
    store: StateStore, config: AppConfig, *, rebind: bool = False, record: bool = True
) -> dict[str, str]:
    """Record the destination on first use; refuse another one (``rebind`` records it instead).

    ``record=False`` (a dry run) refuses a mismatch but writes nothing.
    """
    current = destination_identity(config)
    stored = stored_identity(store)
    if stored == current or (stored is None and not record):
        return current
    if stored is not None and not rebind:
        raise ConfigurationError(
            f"this state store belongs to {describe(stored)}, but {config.config_path} names "
            f"{describe(current)}; what the state records as posted was posted there, not here",
            hint="a config for another company or ERP needs its own state.url; to move this state "
            "to the new destination on purpose (the same books under a new address), run "
            f"`crmsync rebind -c {config.config_path}`",
        )
    with store.transaction():
        store.set_flag(FLAG, json.dumps(current, sort_keys=True, ensure_ascii=False))
        if stored is not None:
            audit.record(
                store,
                audit.Action.REBIND,
                "destination",
                {"from": stored, "to": current},
            )
    return current


def open_destination(config: AppConfig, store: StateStore, *, record: bool = True) -> Destination:
    """The configured destination, once the state has been bound to it (see module docstring)."""
    bind(store, config, record=record)
    return build_destination(config)
