"""Which source holds the CRM objects, and reading it in full outside a sync.

Reports and reconciliation both take an optional ``crm_source`` key in their own config
section; without it the first source of a CRM type is used. One rule, so the two never
disagree about which source is "the CRM". Sources run in-process exactly as the engine runs
them, as a full read without stored cursors: these features look at everything the source
holds, not just what is new since the last sync.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sync.config import AppConfig
from sync.crm.book import CrmBook, load_book
from sync.crm.fields import CrmFields
from sync.errors import ConfigurationError
from sync.money import number_format

__all__ = ["CRM_TYPES", "crm_source_name", "read_book", "read_source"]

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


def read_source(
    config: AppConfig, name: str, wanted: Sequence[str] | None, errors: list[str]
) -> tuple[list[str], Iterable[tuple[str, dict[str, Any]]]]:
    """(the streams read, their (stream, record) pairs): ``wanted`` ones the source has, or all.

    Errors of the source (a refused file) are appended to ``errors``, never raised.
    """
    from sync.engine.build import build_sources
    from sync.engine.reading import read_records

    handle = build_sources(config, {name})[name]
    available = [s.name for s in handle.source.streams(handle.config)]
    streams = [s for s in (wanted if wanted is not None else available) if s in set(available)]
    if not streams:
        return [], []
    return streams, read_records(name, handle, streams, errors)


def read_book(
    config: AppConfig, name: str, wanted: Sequence[str], fields: CrmFields, errors: list[str]
) -> tuple[list[str], CrmBook]:
    """(the streams read, the book of them): amounts read as source ``name`` writes them."""
    from sync.engine.build import number_format as format_of

    streams, records = read_source(config, name, wanted, errors)
    with number_format(format_of(config.sources[name])):
        return streams, load_book(records, fields)
