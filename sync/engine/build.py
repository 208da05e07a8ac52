"""Build what a run needs from the config: mappings, sources, destination, state store.

Connector sections are validated by the connector's own ``Config`` model; problems are
reported with the config file's line and column, all at once (exit code 2).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from sync.config import AppConfig, ConnectorSection
from sync.config.loader import ConfigProblems, mapping_files
from sync.config.registry import resolve
from sync.connector import BuildContext, SourceHandle
from sync.destination import Destination
from sync.errors import ConfigurationError
from sync.money import NumberFormat
from sync.secrets import register_model_secrets
from sync.state import StateStore, open_state
from sync.state.keyring import KeySpec
from sync.yamlfile import load_yaml, problems_from_validation

__all__ = [
    "build_destination",
    "build_sources",
    "load_mapping_set",
    "load_mappings",
    "open_store",
    "work_dir",
]


@contextmanager
def keep_logging() -> Iterator[None]:
    """Undo what importing airbyte_cdk does to logging (its entrypoint points the root logger
    at stdout as Airbyte JSON), and keep the CDK's chatter at WARNING unless we log DEBUG."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    try:
        yield
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)
        quiet = logging.DEBUG if level <= logging.DEBUG else logging.WARNING
        for name in ("airbyte", "crmsync.source"):
            logging.getLogger(name).setLevel(quiet)


def work_dir(config: AppConfig) -> Path:
    return config.base_dir / ".crmsync"


def open_store(config: AppConfig, *, read_only: bool = False) -> StateStore:
    return open_state(config.state.url, config.base_dir, read_only=read_only, key=key_spec(config))


def key_spec(config: AppConfig) -> KeySpec:
    """Where the configuration says the state key comes from (``sync.state.keyring``)."""
    st = config.state
    return KeySpec(
        key=st.key.get_secret_value() if st.key is not None else None,
        previous=tuple(k.get_secret_value() for k in st.previous_keys),
        key_file=config.resolve_path(st.key_file) if st.key_file else None,
    )


def number_format(section: ConnectorSection) -> NumberFormat:
    """How a source writes amounts (its ``decimal_separator`` and ``grouping`` keys)."""
    extra = section.model_extra or {}
    decimal = extra.get("decimal_separator", ".")
    grouping = extra.get("grouping", "western")
    if decimal not in (".", ",") or grouping not in ("western", "indian", "none"):
        return NumberFormat()  # the connector's own Config refuses it, with its location
    return NumberFormat(decimal, grouping)


def load_mapping_set(config: AppConfig, accounts: frozenset[str] | None = None) -> Any:
    """Every configured mapping, compiled and checked (against ``accounts`` when given)."""
    from sync.mapping import MappingSet
    from sync.mapping.versions import file_digest

    lookups = config.resolve_path(config.lookups_dir) if config.lookups_dir else None
    chart = config.resolve_path(config.chart_of_accounts) if config.chart_of_accounts else None
    return MappingSet.load(
        mapping_files(config),
        base_dir=config.base_dir,
        accounts=accounts,
        profile=config.destination.type,
        lookups_dir=lookups,
        number_formats={name: number_format(section) for name, section in config.sources.items()},
        chart=file_digest(chart),
    )


def load_mappings(config: AppConfig) -> Any:
    """The mappings a run uses; a mapping that reads a source config.yaml lacks is refused."""
    ms = load_mapping_set(config)
    unknown = sorted(set(ms.streams()) - set(config.sources))
    if unknown:
        raise ConfigurationError(
            f"mappings read from source(s) {', '.join(map(repr, unknown))} that config.yaml does not define",
            hint=f"define them under sources:, or use one of: {', '.join(sorted(config.sources))}",
        )
    return ms


def _build(config: AppConfig, kind: str, name: str, section: Any, loc: tuple[str, ...]) -> Any:
    loaded = load_yaml(config.config_path)
    where = loaded.locate((*loc, "type"))
    module = resolve(kind, section.type, where)
    data = section.model_dump()
    try:
        typed = module.Config.model_validate(data)
    except ValidationError as exc:
        raise ConfigProblems(problems_from_validation(exc, loaded, module.Config, prefix=loc)) from None
    register_model_secrets(typed)  # inline secrets are redacted like ${ENV} ones
    ctx = BuildContext(name=name, base_dir=config.base_dir, work_dir=work_dir(config))
    return module.build(typed, ctx)


def build_destination(config: AppConfig) -> Destination:
    dest: Destination = _build(config, "destination", "destination", config.destination, ("destination",))
    return dest


def build_sources(config: AppConfig, names: set[str] | None = None) -> dict[str, SourceHandle]:
    with keep_logging():
        return {
            name: _build(config, "source", name, section, ("sources", name))
            for name, section in config.sources.items()
            if names is None or name in names
        }
