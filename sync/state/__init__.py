"""The state store: runs, cursors, outbox, record index, quarantine, control flags, run lock.

``open_state(url, base_dir)`` picks the backend from the URL: ``sqlite:///path.db`` (the
default, relative paths resolve against the config file's folder) or ``postgresql://…``
(``?schema=name`` selects the schema, default ``crmsync``).
"""

from __future__ import annotations

from pathlib import Path

from sync.errors import ConfigurationError
from sync.state.keyring import KeySpec
from sync.state.status import Status, TransitionRefused
from sync.state.store import OutboxRow, StateStore

__all__ = ["OutboxRow", "StateStore", "Status", "TransitionRefused", "open_state"]


def open_state(
    url: str, base_dir: Path | None = None, *, read_only: bool = False, key: KeySpec | None = None
) -> StateStore:
    """Open (creating and migrating as needed) the state store named by ``url``.

    ``read_only`` is for commands that only read: an existing SQLite file is opened without
    write access (so they work on a read-only mount) and never migrated. ``key`` says where
    the key that seals customer data comes from (``sync.state.keyring``)."""
    if url.startswith("sqlite:///"):
        from sync.state.sqlite import SqliteStore

        path = Path(url.removeprefix("sqlite:///")).expanduser()
        if not path.is_absolute() and base_dir is not None:
            path = base_dir / path
        return SqliteStore(path, read_only=read_only, key=key)
    if url.startswith(("postgresql://", "postgres://")):
        from urllib.parse import unquote, urlsplit

        from sync.secrets import register_secret
        from sync.state.postgres import PostgresStore

        password = urlsplit(url).password  # an inline password is redacted like a ${ENV} one
        if password:
            register_secret(password)
            register_secret(unquote(password))

        return PostgresStore(url, key=key)
    raise ConfigurationError(
        f"state.url {url!r} is neither sqlite:///… nor postgresql://…",
        hint="e.g. sqlite:///.crmsync/state.db or postgresql://user@host:5432/db?schema=crmsync",
    )
