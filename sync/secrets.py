"""Secrets: resolved from ``${ENV}`` references or a secrets file, and scrubbed from text.

Connector configs type their secrets as ``pydantic.SecretStr``; when one is resolved it is
registered here, and ``redact`` replaces every registered value in any text that may reach a
log, a report, the state store or an exception message. The logging filter installed by the
CLI applies ``redact`` to every record, so a secret echoed back by a server is caught too.
"""

from __future__ import annotations

import logging
import os
import re
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from sync.errors import ConfigurationError

__all__ = ["RedactingFilter", "expand_env", "redact", "register_model_secrets", "register_secret"]

_lock = threading.Lock()
_secrets: set[str] = set()
_MIN_SECRET_LEN = 6
_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")
_MASK = "********"


def register_secret(value: str) -> None:
    """Remember a secret value so that ``redact`` hides it from then on."""
    if value and len(value) >= _MIN_SECRET_LEN:
        with _lock:
            _secrets.add(value)


def register_model_secrets(value: Any) -> None:
    """Register every ``SecretStr`` inside a validated config model (nested models, lists, dicts).

    A secret written inline (not a ``${…}`` reference) is registered here, so it is redacted
    just like one that came from the environment.
    """
    from pydantic import BaseModel, SecretStr

    if isinstance(value, SecretStr):
        register_secret(value.get_secret_value())
    elif isinstance(value, BaseModel):
        for name in type(value).model_fields:
            register_model_secrets(getattr(value, name, None))
    elif isinstance(value, dict):
        for item in value.values():
            register_model_secrets(item)
    elif isinstance(value, (list, tuple)):
        for item in value:
            register_model_secrets(item)


def redact(text: str) -> str:
    """``text`` with every registered secret replaced by a mask (longest first)."""
    if not _secrets or not text:
        return text
    with _lock:
        values = sorted(_secrets, key=len, reverse=True)
    for value in values:
        if value in text:
            text = text.replace(value, _MASK)
    return text


def expand_env(
    value: str, *, where: str, environ: Mapping[str, str] | None = None, secrets_file: Path | None = None
) -> str:
    """Replace ``${NAME}`` (or ``${NAME:-default}``) by the environment or secrets file value.

    A missing variable is a configuration error that says where it is used and which
    sources were tried. Values that came from a reference are registered as secrets.
    """
    env = os.environ if environ is None else environ
    file_values = _read_secrets_file(secrets_file) if secrets_file else {}

    def substitute(match: re.Match[str]) -> str:
        name, default = match.group(1), match.group(2)
        # an empty value counts as unset (as ``${NAME:-default}`` does in a shell): an empty
        # credential is always a mistake, mostly ``export NAME=`` or a blank secrets line
        found = env.get(name) or file_values.get(name) or default
        if not found:
            tried = "the environment" + (f" and {secrets_file}" if secrets_file else "")
            empty = name in env or name in file_values
            raise ConfigurationError(
                f"{where}: ${{{name}}} is "
                + (f"set but empty (looked in {tried})" if empty else f"not set (looked in {tried})"),
                hint=f"export {name}=… (a non-empty value) before running, or add it to the secrets file",
            )
        register_secret(found)
        return found

    return _ENV_REF.sub(substitute, value)


def _read_secrets_file(path: Path) -> dict[str, str]:
    """KEY=value lines (``#`` comments, blank lines ignored), like an env file."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigurationError(f"secrets file {path}: cannot read: {exc.strerror}") from None
    values = {}
    for number, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        name, sep, value = stripped.partition("=")
        if not sep:
            raise ConfigurationError(f"{path}:{number}: expected NAME=value")
        values[name.strip()] = value.strip().strip('"').strip("'")
    return values


class RedactingFilter(logging.Filter):
    """Scrubs registered secrets from every log record's final message."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        # a traceback (log.exception) is formatted after the filters: format it now, scrubbed
        if record.exc_info and not record.exc_text:
            record.exc_text = _FORMATTER.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True


_FORMATTER = logging.Formatter()
