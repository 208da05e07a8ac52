"""Tables ``console_users`` and ``console_sessions``: who may log in to the web console, and who is.

Only hashes are stored: the password's (argon2id, made by ``sync.console.passwords``) and the
session token's (SHA-256; the token itself lives only in the browser's cookie), so a copy of
the state store lets no one log in. The CSRF token is stored as it is: it is worthless
without the session cookie it belongs to.
"""

from __future__ import annotations

from dataclasses import dataclass

from sync.state.base import StoreBase, now_iso

__all__ = ["ConsoleSession", "ConsoleUser", "ConsoleUsersTable"]


@dataclass(frozen=True, slots=True)
class ConsoleUser:
    name: str
    role: str
    password_hash: str
    created: str
    updated: str


@dataclass(frozen=True, slots=True)
class ConsoleSession:
    token_hash: str
    username: str
    csrf_token: str
    created: str
    last_seen: str
    address: str


_USER_COLS = "name, role, password_hash, created, updated"
_SESSION_COLS = "token_hash, username, csrf_token, created, last_seen, address"


class ConsoleUsersTable(StoreBase):
    """Users and sessions of the web console."""

    # -- users ----------------------------------------------------------------------------

    def console_user(self, name: str) -> ConsoleUser | None:
        row = self._one(f"SELECT {_USER_COLS} FROM console_users WHERE name = ?", (name,))
        return None if row is None else ConsoleUser(**row)

    def console_users(self) -> list[ConsoleUser]:
        return [ConsoleUser(**r) for r in self._all(f"SELECT {_USER_COLS} FROM console_users ORDER BY name")]

    def add_console_user(self, name: str, role: str, password_hash: str) -> bool:
        """Add a user; False when the name is taken (nothing changed)."""
        now = now_iso()
        with self.transaction():
            cur = self._execute(
                f"INSERT INTO console_users ({_USER_COLS}) VALUES (?, ?, ?, ?, ?) "
                "ON CONFLICT (name) DO NOTHING",
                (name, role, password_hash, now, now),
            )
        return bool(cur.rowcount)

    def set_console_password(self, name: str, password_hash: str) -> bool:
        """A new password hash; every session of the user ends (a stolen one with it)."""
        with self.transaction():
            cur = self._execute(
                "UPDATE console_users SET password_hash = ?, updated = ? WHERE name = ?",
                (password_hash, now_iso(), name),
            )
            self._execute("DELETE FROM console_sessions WHERE username = ?", (name,))
        return bool(cur.rowcount)

    def remove_console_user(self, name: str) -> bool:
        with self.transaction():
            cur = self._execute("DELETE FROM console_users WHERE name = ?", (name,))
            self._execute("DELETE FROM console_sessions WHERE username = ?", (name,))
        return bool(cur.rowcount)

    # -- sessions -------------------------------------------------------------------------

    def open_console_session(self, token_hash: str, username: str, csrf_token: str, address: str) -> None:
        now = now_iso()
        with self.transaction():
            self._execute(
                f"INSERT INTO console_sessions ({_SESSION_COLS}) VALUES (?, ?, ?, ?, ?, ?)",
                (token_hash, username, csrf_token, now, now, address),
            )

    def console_session(self, token_hash: str) -> ConsoleSession | None:
        row = self._one(f"SELECT {_SESSION_COLS} FROM console_sessions WHERE token_hash = ?", (token_hash,))
        return None if row is None else ConsoleSession(**row)

    def touch_console_session(self, token_hash: str) -> None:
        with self.transaction():
            self._execute(
                "UPDATE console_sessions SET last_seen = ? WHERE token_hash = ?", (now_iso(), token_hash)
            )

    def close_console_session(self, token_hash: str) -> None:
        with self.transaction():
            self._execute("DELETE FROM console_sessions WHERE token_hash = ?", (token_hash,))

    def expire_console_sessions(self, seen_before: str) -> int:
        """End the sessions idle since before ``seen_before`` (UTC ISO)."""
        with self.transaction():
            cur = self._execute("DELETE FROM console_sessions WHERE last_seen < ?", (seen_before,))
        return int(cur.rowcount or 0)
