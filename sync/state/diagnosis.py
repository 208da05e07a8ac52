"""What went wrong with a SQLite file, told as its cause and its fix.

SQLite reports a full disk, a read-only mount, a file the user may not write and a database
another program holds with a handful of terse messages ("database or disk is full", "attempt
to write a readonly database", "unable to open database file"). Told as they are, they read
like a bug or like corruption, and "restore it from a backup" is the worst advice for a file
that is merely on a full disk: a fresh state re-posts everything. So the cause is worked out
from the message and the file system, and every answer says that nothing was lost (the
transaction that failed was rolled back; the next run redoes it).
"""

from __future__ import annotations

import errno
import os
import sqlite3
from pathlib import Path

from sync.errors import StateError
from sync.secrets import redact

__all__ = ["postgres_failure", "sqlite_failure"]

_NOTHING_LOST = "nothing was lost: the unfinished transaction was rolled back and the next run redoes it"


def sqlite_failure(  # noqa: PLR0911 -- one answer per cause, in the order they are told apart
    path: Path, exc: BaseException, *, what: str = "state file"
) -> StateError:
    """The StateError (exit 2) that names what is wrong with the SQLite file at ``path``."""
    text = str(exc)
    low = text.lower()
    code = getattr(exc, "errno", None)
    folder = path.parent
    if "disk is full" in low or code == errno.ENOSPC:
        return StateError(
            f"{what} {path}: the disk is full ({text})",
            hint=f"free space on the file system that holds {folder} (`df -h {folder}`), then run the "
            f"command again; {_NOTHING_LOST}",
        )
    if "readonly" in low or "read-only" in low or code in (errno.EROFS, errno.EACCES, errno.EPERM):
        return _not_writable(path, text, what)
    if "unable to open" in low:
        if not os.access(folder, os.W_OK | os.X_OK):
            return _not_writable(path, text, what)
        return StateError(
            f"{what} {path} cannot be opened ({text})",
            hint="check the path in the config and that it names a file, not a folder",
        )
    if "locked" in low or "busy" in low:
        return StateError(
            f"{what} {path} is held by another program that keeps a write transaction open ({text})",
            hint=f"find it with `fuser {path}` and let it finish (a crmsync run waits for its own kind "
            f"through the run lock); {_NOTHING_LOST}",
        )
    if "disk i/o error" in low or code == errno.EIO:
        return StateError(
            f"{what} {path}: the disk failed to read or write ({text})",
            hint="check the disk and the kernel log (`dmesg`); do not delete the file: copy it away "
            "once the disk is healthy",
        )
    if isinstance(exc, sqlite3.DatabaseError) and ("not a database" in low or "malformed" in low):
        return StateError(
            f"{what} {path} cannot be used: {text}",
            hint="it is corrupt or not a crmsync state file; restore it from a backup. A fresh state "
            "re-reads every source and knows nothing of what was posted: the ERP may receive every "
            "voucher again",
        )
    return StateError(f"{what} {path}: {text}", hint="another program may hold it, or it is damaged")


def _not_writable(path: Path, text: str, what: str) -> StateError:
    folder = path.parent
    if _read_only_mount(folder):
        return StateError(
            f"{what} {path} is on a read-only file system ({text})",
            hint=f"remount {folder} read-write or move the state to a writable disk (state.url); "
            "commands that only read (status, vouchers, failures, report) work on it as it is",
        )
    user = os.environ.get("USER") or str(os.geteuid())
    blocked = path if path.exists() and not os.access(path, os.W_OK) else folder
    return StateError(
        f"{what} {path}: permission denied, user {user} may not write {blocked} ({text})",
        hint=f"run as the user who owns it (`ls -l {blocked}`) or give this user write access to the "
        "file and its folder (SQLite writes a -wal and -shm file beside it); nothing was lost",
    )


def _read_only_mount(folder: Path) -> bool:
    try:
        return bool(os.statvfs(folder).f_flag & os.ST_RDONLY)
    except OSError:
        return False


def postgres_failure(where: str, exc: BaseException, *, opening: bool = False) -> StateError:  # noqa: PLR0911
    """The StateError (exit 2) that names what is wrong with the PostgreSQL state store.

    ``where`` is the store's URL without its password; ``exc`` a psycopg error, whose text is
    redacted (a server may echo the connection string)."""
    text = redact(str(exc)).strip().replace("\n", " ")
    low = text.lower()
    state = getattr(exc, "sqlstate", None) or ""
    lost = (
        "server closed the connection" in low
        or "terminating connection" in low
        or "connection is lost" in low
        or "the connection is closed" in low
        or "consuming input failed" in low
        or state in ("57P01", "57P02", "57P03", "08006", "08003")
    )
    if lost and not opening:
        return StateError(
            f"state store {where}: the connection to PostgreSQL was lost ({text})",
            hint="check that the server is up and reachable (a restart, a failover or an idle timeout "
            f"ends connections), then run the command again; {_NOTHING_LOST}",
        )
    if "connection refused" in low:
        return StateError(
            f"state store {where}: PostgreSQL refused the connection ({text})",
            hint="start the server or fix the host and port in state.url (`pg_isready -h HOST -p PORT`)",
        )
    if "could not translate host name" in low or "name or service not known" in low:
        return StateError(
            f"state store {where}: the host name in state.url does not resolve ({text})",
            hint="fix the host in state.url or the DNS of this machine",
        )
    if "timeout expired" in low or "timed out" in low:
        return StateError(
            f"state store {where}: PostgreSQL did not answer in time ({text})",
            hint="check the network path and firewall to the server, and that it is not overloaded",
        )
    if "password authentication failed" in low or state in {"28P01", "28000"}:
        return StateError(
            f"state store {where}: PostgreSQL refused the user's credentials ({text})",
            hint="check the user and password in state.url (write the password as ${ENV}) and pg_hba.conf",
        )
    if state == "3D000" or ("database" in low and "does not exist" in low):
        return StateError(
            f"state store {where}: the database does not exist ({text})",
            hint="create it (`createdb NAME`) or fix the database name in state.url",
        )
    if state == "53100" or "no space left" in low or "could not extend file" in low:
        return StateError(
            f"state store {where}: the PostgreSQL server's disk is full ({text})",
            hint=f"free space on the server's data directory, then run the command again; {_NOTHING_LOST}",
        )
    if state == "25006" or "read-only transaction" in low:
        return StateError(
            f"state store {where}: the server accepts only reads (a standby, or "
            f"default_transaction_read_only) ({text})",
            hint="point state.url at the primary; commands that only read (status, vouchers, failures, "
            "report) work on a standby",
        )
    if state == "42501" or "permission denied" in low:
        return StateError(
            f"state store {where}: the PostgreSQL user lacks a right it needs ({text})",
            hint="grant it USAGE and CREATE on the schema and rights on its tables, or use the owner's role",
        )
    if opening:
        return StateError(
            f"state store {where} cannot be used: {text}",
            hint="check state.url, that PostgreSQL is running, and the user's rights",
        )
    return StateError(
        f"state store {where}: {text}",
        hint=f"check that PostgreSQL is running and reachable; {_NOTHING_LOST}",
    )
