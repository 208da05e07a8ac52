"""Logins: sessions kept in the state store, and a limit on failed attempts.

The cookie carries a random token (32 bytes); the store keeps only its SHA-256, so a copy of
the database opens no session. Every login makes a new token whatever cookie came with it
(no session fixation), logout and an idle timeout end it, and a new password ends all of a
user's sessions. Failed logins are counted per user name and per address in this process:
after ``login_attempts`` failures within ``lockout_minutes`` further tries are refused until
the window has passed, right password or not.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
import threading
import time
from collections import deque
from dataclasses import dataclass

from sync.console.passwords import verify_password
from sync.state import StateStore

__all__ = ["COOKIE", "Login", "LoginLimiter", "authenticate", "end_session", "session_login", "start_session"]

COOKIE = "crmsync_session"
#: how often a session's last_seen is written (not on every request)
_TOUCH_SECONDS = 30


@dataclass(frozen=True, slots=True)
class Login:
    """Who a request is from."""

    username: str
    role: str
    csrf_token: str
    token_hash: str


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def authenticate(store: StateStore, username: str, password: str) -> str | None:
    """The user's role if the password is right, else None (as slow for an unknown name)."""
    user = store.console_user(username) if username else None
    ok = verify_password(user.password_hash if user else None, password)
    return user.role if ok and user else None


def start_session(store: StateStore, username: str, address: str, old_token: str | None) -> tuple[str, str]:
    """A new session (token, csrf token); a session the request came with is ended first."""
    if old_token:
        store.close_console_session(_hash(old_token))
    token = secrets.token_urlsafe(32)
    csrf = secrets.token_urlsafe(32)
    store.open_console_session(_hash(token), username, csrf, address)
    return token, csrf


def end_session(store: StateStore, token: str) -> None:
    store.close_console_session(_hash(token))


def session_login(store: StateStore, token: str | None, idle_minutes: int) -> Login | None:
    """The login behind a cookie's token, or None (unknown, idle too long, user removed)."""
    if not token:
        return None
    token_hash = _hash(token)
    session = store.console_session(token_hash)
    if session is None:
        return None
    now = dt.datetime.now(dt.UTC)
    seen = dt.datetime.fromisoformat(session.last_seen)
    if now - seen > dt.timedelta(minutes=idle_minutes):
        store.close_console_session(token_hash)
        return None
    user = store.console_user(session.username)
    if user is None:
        store.close_console_session(token_hash)
        return None
    if (now - seen).total_seconds() > _TOUCH_SECONDS:
        store.touch_console_session(token_hash)
    return Login(user.name, user.role, session.csrf_token, token_hash)


class LoginLimiter:
    """Failed logins per user and per address, in a sliding window."""

    def __init__(self, attempts: int, window_seconds: float) -> None:
        self.attempts = attempts
        self.window = window_seconds
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, key: str, now: float) -> deque[float]:
        times = self._failures.setdefault(key, deque())
        while times and now - times[0] > self.window:
            times.popleft()
        return times

    def retry_after(self, username: str, address: str) -> int:
        """Seconds until a login may be tried again (0: now)."""
        now = time.monotonic()
        wait = 0.0
        with self._lock:
            for key in (f"user:{username}", f"addr:{address}"):
                times = self._recent(key, now)
                if len(times) >= self.attempts:
                    wait = max(wait, self.window - (now - times[0]))
        return int(wait) + 1 if wait > 0 else 0

    def failed(self, username: str, address: str) -> None:
        now = time.monotonic()
        with self._lock:
            for key in (f"user:{username}", f"addr:{address}"):
                self._recent(key, now).append(now)

    def succeeded(self, username: str) -> None:
        with self._lock:
            self._failures.pop(f"user:{username}", None)
