"""Which source holds the CRM objects, for the features that read the CRM outside a sync.

Reports and reconciliation both take an optional ``crm_source`` key in their own config
section; without it the first source of a CRM type is used. One rule, so the two never
disagree about which source is "the CRM".
"""

from __future__ import annotations

from sync.config import AppConfig
from sync.errors import ConfigurationError

__all__ = ["CRM_TYPES", "crm_source_name"]

CRM_TYPES = ("fxiaoke", "files")


def crm_source_name(config: AppConfig, chosen: str | None, section: str, purpose: str) -> str:
    """``chosen`` (from ``<section>.crm_source``) if it names a source, else the first CRM source.

    ``purpose`` finishes the "no CRM source" message (e.g. "to reconcile against").
    """
    if chosen:
        if chosen not in config.sources:
            raise ConfigurationError(
                f"{config.config_path}: {section}.crm_source {chosen!r} is not a source",
                hint=f"use one of: {', '.join(sorted(config.sources))}",
            )
        return chosen
    for name, source in config.sources.items():
        if source.type in CRM_TYPES:
            return name
    raise ConfigurationError(
        f"{config.config_path}: no CRM source (type fxiaoke or files) {purpose}",
        hint=f"add one under sources:, or name it in {section}.crm_source",
    )
