"""``crmsync check``'s warning about secrets others can read.

A secret written inline in a config file that other users may read (mode & 0o044) is as good
as published on that machine. Which keys are secrets comes from the connectors' own config
models (every ``SecretStr`` field, nested ones included), so a new connector is covered
without a list to maintain; a value is inline when it holds no ``${…}`` reference.
"""

from __future__ import annotations

import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from pydantic import BaseModel, SecretStr, ValidationError

from sync.config import AppConfig
from sync.config.registry import resolve
from sync.errors import ConfigurationError
from sync.state.keyring import key_file_problem
from sync.yamlfile import load_yaml

__all__ = ["exposure_warnings"]

Loc = tuple[str | int, ...]


def _secret_paths(value: Any, loc: Loc) -> Iterator[Loc]:
    if isinstance(value, SecretStr):
        yield loc
    elif isinstance(value, BaseModel):
        for name in type(value).model_fields:
            yield from _secret_paths(getattr(value, name, None), (*loc, name))
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _secret_paths(item, (*loc, key))
    elif isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            yield from _secret_paths(item, (*loc, i))


def _raw(data: Any, loc: Loc) -> Any:
    for part in loc:
        found = (isinstance(data, dict) and part in data) or (
            isinstance(data, list) and isinstance(part, int) and part < len(data)
        )
        if not found:
            return None
        data = data[part]
    return data


def _readable_by_others(path: Path) -> int | None:
    """The file's permission bits when group or others may read it, else None."""
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
    except OSError:
        return None
    return mode if mode & 0o044 else None


def _sections(config: AppConfig) -> Iterator[tuple[str, str, Loc, dict[str, Any]]]:
    for name, section in config.sources.items():
        yield "source", section.type, ("sources", name), section.model_dump()
    yield "destination", config.destination.type, ("destination",), config.destination.model_dump()


def inline_secrets(config: AppConfig) -> list[str]:
    """``key (line N)`` of every secret written inline (no ``${…}``) in the config file."""
    loaded = load_yaml(config.config_path)
    found: list[str] = []
    for kind, type_name, loc, data in _sections(config):
        try:
            typed = resolve(kind, type_name).Config.model_validate(data)
        except (ConfigurationError, ValidationError, AttributeError):
            continue  # reported elsewhere; nothing to say about its secrets
        for path in _secret_paths(typed, ()):
            raw = _raw(loaded.data, (*loc, *path))
            if isinstance(raw, str) and raw and "${" not in raw:
                where = loaded.locate((*loc, *path))
                found.append(f"{'.'.join(map(str, (*loc, *path)))} (line {where.line})")
    if config.reminders:  # SMTP passwords, webhook URLs and signing secrets
        from sync.reports.reminders.config import RemindersConfig

        try:
            reminders = RemindersConfig.model_validate(config.reminders)
        except ValidationError:
            reminders = None
        for path in _secret_paths(reminders, ()) if reminders is not None else ():
            raw = _raw(loaded.data, ("reminders", *path))
            if isinstance(raw, str) and raw and "${" not in raw:
                where = loaded.locate(("reminders", *path))
                found.append(f"{'.'.join(map(str, ('reminders', *path)))} (line {where.line})")
    key = _raw(loaded.data, ("state", "key"))
    if isinstance(key, str) and key and "${" not in key:
        found.append(f"state.key (line {loaded.locate(('state', 'key')).line})")
    url = _raw(loaded.data, ("state", "url"))
    if isinstance(url, str) and "${" not in url and "@" in url and ":" in url.split("@")[0].split("//")[-1]:
        found.append(f"state.url password (line {loaded.locate(('state', 'url')).line})")
    return found


def exposure_warnings(config: AppConfig) -> list[str]:
    """Warnings for ``crmsync check``: inline secrets in a readable config, a readable secrets file."""
    warnings: list[str] = []
    mode = _readable_by_others(config.config_path)
    if mode is not None:
        inline = inline_secrets(config)
        if inline:
            warnings.append(
                f"{config.config_path} is readable by other users (mode {mode:04o}) and holds secrets "
                f"written inline: {', '.join(inline)}; run `chmod 600 {config.config_path}`, or better "
                "replace them by ${ENV} references or a secrets_file"
            )
    if config.secrets_file:
        path = config.resolve_path(config.secrets_file)
        mode = _readable_by_others(path)
        if mode is not None:
            warnings.append(
                f"secrets file {path} is readable by other users (mode {mode:04o}); run `chmod 600 {path}`"
            )
    key_file = state_key_file(config)
    problem = key_file_problem(key_file) if key_file is not None else ""
    if problem:
        warnings.append(f"{problem}: anyone who can read it can read the customer data kept in the state")
    return warnings


def state_key_file(config: AppConfig) -> Path | None:
    """The key file that seals the state's customer data, when the key comes from one."""
    if config.state.key_file:
        return config.resolve_path(config.state.key_file)
    url = config.state.url
    if config.state.key is not None or not url.startswith("sqlite:///"):
        return None
    db = config.resolve_path(url.removeprefix("sqlite:///"))
    return db.with_name(db.name + ".key")
