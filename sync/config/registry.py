"""Which connector serves which ``type:``, resolved lazily so startup stays instant.

Each entry names a module and a factory ``build(section, ctx) -> object``; the module also
exposes ``Config``, the pydantic model of its config section. Importing a connector (and
airbyte_cdk behind it, 1.3 s) happens only when a run needs it. An unknown type lists the
known ones.
"""

from __future__ import annotations

import difflib
import importlib
from typing import Any

from sync.errors import ConfigurationError, Location

__all__ = ["DESTINATIONS", "SOURCES", "resolve"]

#: source type -> module exposing ``Config`` and ``build``
SOURCES: dict[str, str] = {
    "files": "connectors.files.factory",
    "fxiaoke": "connectors.fxiaoke.factory",
    "camt053": "connectors.bank.factory",
    "camt052": "connectors.bank.factory",
    "camt054": "connectors.bank.factory",
    "mt940": "connectors.bank.factory",
    "cmb": "connectors.bank.factory",
    "stripe": "connectors.bank.factory",
    "alipay_bill": "connectors.bank.factory",
    "wechat_bill": "connectors.bank.factory",
}

#: destination type -> module exposing ``Config`` and ``build``
DESTINATIONS: dict[str, str] = {
    "ledger": "connectors.ledger.factory",
    "kingdee": "connectors.kingdee.factory",
    "sap_s4": "connectors.sap.s4.factory",
    "sap_b1": "connectors.sap.b1.factory",
    "sap_idoc": "connectors.sap.idoc.factory",
}


def resolve(kind: str, type_name: str, where: Location | None = None) -> Any:
    """The factory module for a source or destination type."""
    table = SOURCES if kind == "source" else DESTINATIONS
    module_name = table.get(type_name)
    if module_name is None:
        guess = difflib.get_close_matches(type_name, table, n=1)
        hint = f"did you mean {guess[0]!r}?" if guess else f"known {kind} types: {', '.join(sorted(table))}"
        raise ConfigurationError(f"unknown {kind} type {type_name!r}", hint=hint, location=where)
    try:
        return importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        raise ConfigurationError(
            f"{kind} type {type_name!r} is not available in this installation ({exc.name} missing)",
            hint="reinstall crmsync with `make` or pip install -e .",
            location=where,
        ) from None
