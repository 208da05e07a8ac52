"""Where the state key comes from, and the key file the embedded default keeps beside its state.

Order: ``state.key`` in the config (a ``${ENV}`` reference or the secrets file), then
``CRMSYNC_STATE_KEY``, then the key file (``state.key_file``; for SQLite, by default the state
file's name plus ``.key``). A PostgreSQL store that several machines share has no default key
file: each machine would make its own key, so its key must be configured.

The store records the id of the key it was sealed with (``seal_key_id``). A key file is only
ever created for a store that has none yet; a store that has one and finds no key, or another
key, is refused with exit 2 before anything is read or written.
"""

from __future__ import annotations

import contextlib
import os
import stat
from dataclasses import dataclass
from pathlib import Path

from sync.errors import ConfigurationError, StateError
from sync.state.sealing import KEY_ENV, PREVIOUS_KEY_ENV, Sealer, key_id, new_key_text, parse_key

__all__ = [
    "KeySpec",
    "finish_rotation",
    "key_file_problem",
    "next_key_file",
    "resolve_sealer",
    "retired_key_file",
    "write_key_file",
]


@dataclass(frozen=True)
class KeySpec:
    """What the configuration says about the key (nothing: the environment and the default file)."""

    key: str | None = None
    previous: tuple[str, ...] = ()
    key_file: Path | None = None

    def with_default_file(self, path: Path) -> KeySpec:
        return self if self.key_file is not None else KeySpec(self.key, self.previous, path)


def next_key_file(key_file: Path) -> Path:
    """Where ``crmsync state rotate-key`` keeps the new key until every record is sealed with it."""
    return key_file.with_name(key_file.name + ".next")


def write_key_file(path: Path, text: str) -> None:
    """Write a key file readable by this user only (0600), never over an existing one.

    The key is written whole to a private temporary file first and then linked into place, so
    a second run starting at the same moment sees no file or the whole key, never half of it
    (``FileExistsError`` when it got there first)."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="ascii") as fh:
            fh.write(text + "\n")
            fh.flush()
            os.fsync(fh.fileno())
        os.link(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def key_file_problem(path: Path) -> str:
    """'' when the key file is private to its owner, else what is wrong (for ``crmsync check``)."""
    try:
        mode = path.stat().st_mode
    except OSError:
        return ""
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        return f"the state key file {path} can be read by others (mode {stat.filemode(mode)}): chmod 600 it"
    return ""


def retired_key_file(key_file: Path, kid: str) -> Path:
    """Where a rotated-out key is kept (backups made before the rotation need it)."""
    return key_file.with_name(f"{key_file.name}.{kid}.retired")


def finish_rotation(key_file: Path, registered: str | None) -> None:
    """Put the rotation's new key in place once the store says every record is sealed with it."""
    nxt = next_key_file(key_file)
    if not registered or not nxt.is_file() or key_id(_read_key_file(nxt)) != registered:
        return
    if key_file.is_file():
        old = _read_key_file(key_file)
        os.replace(key_file, retired_key_file(key_file, key_id(old)))
    os.replace(nxt, key_file)


def _read_key_file(path: Path) -> bytes:
    try:
        text = path.read_text(encoding="ascii")
    except (OSError, UnicodeDecodeError) as exc:
        raise StateError(
            f"the state key file {path} cannot be read ({exc.__class__.__name__}: {exc})",
            hint="run as the user who owns it, or restore it from the backup kept apart from the state",
        ) from None
    return parse_key(text, f"the state key file {path}")


def resolve_sealer(
    spec: KeySpec, registered: str | None, *, may_create: bool, where: str, postgres: bool = False
) -> Sealer:
    """The sealer for a store whose data is sealed with key ``registered`` (None: nothing yet)."""
    env = os.environ
    primary: bytes | None = None
    source = ""
    if spec.key:
        primary, source = parse_key(spec.key, "state.key"), "state.key"
    elif env.get(KEY_ENV, "").strip():
        primary, source = parse_key(env[KEY_ENV], KEY_ENV), KEY_ENV
    elif spec.key_file is not None:
        path = spec.key_file
        source = f"the key file {path}"
        finish_rotation(path, registered)
        if path.is_file():
            primary = _read_key_file(path)
        elif registered:
            raise StateError(
                f"the key file {path} of state store {where} is missing; the store's customer data is "
                f"encrypted with key {registered}",
                hint="restore the key file from the backup kept apart from the state (or set "
                f"{KEY_ENV}); nothing was changed",
            )
        elif may_create:
            with contextlib.suppress(FileExistsError):  # a run starting at the same moment made it
                write_key_file(path, new_key_text())
            primary = _read_key_file(path)
    elif postgres and (registered or may_create):
        raise ConfigurationError(
            f"state store {where} needs its encryption key: a PostgreSQL state has no key file",
            hint=f"generate one with `crmsync state new-key`, keep it in the secrets file as {KEY_ENV}=… "
            f"(or set state.key: ${{{KEY_ENV}}}) on every machine that runs crmsync",
        )
    keys: dict[str, bytes] = {}
    extra = [*spec.previous, *([env[PREVIOUS_KEY_ENV]] if env.get(PREVIOUS_KEY_ENV, "").strip() else [])]
    for i, text in enumerate(extra):
        k = parse_key(text, "state.previous_keys" if i < len(spec.previous) else PREVIOUS_KEY_ENV)
        keys[key_id(k)] = k
    if spec.key_file is not None and next_key_file(spec.key_file).is_file():
        k = _read_key_file(next_key_file(spec.key_file))
        keys[key_id(k)] = k  # a rotation that did not finish: its new key opens what it sealed
    sealer = Sealer(primary, keys, source)
    if registered and registered not in sealer.keys:
        raise StateError(
            f"state store {where} is encrypted with key {registered}, but the key from {source or 'nowhere'} "
            f"is {sealer.key_id or '(none)'}",
            hint=f"configure the key {registered}; when changing keys, give the old one as "
            f"{PREVIOUS_KEY_ENV} and run `crmsync state rotate-key`; nothing was changed",
        )
    return sealer
