"""Password hashes: argon2id (argon2-cffi's defaults, RFC 9106's second recommendation).

A login for a name that does not exist still verifies against a hash, so the answer takes as
long either way and does not tell which names exist.
"""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from sync.errors import ConfigurationError

__all__ = ["MIN_LENGTH", "check_policy", "hash_password", "verify_password"]

MIN_LENGTH = 10

_hasher = PasswordHasher()
_DUMMY = _hasher.hash("crmsync-no-such-user-placeholder")


def check_policy(password: str) -> None:
    if len(password) < MIN_LENGTH:
        raise ConfigurationError(
            f"the password is shorter than {MIN_LENGTH} characters", hint="choose a longer one (a passphrase)"
        )
    if password != password.strip():
        raise ConfigurationError(
            "the password begins or ends with a space", hint="a space at either end is lost too easily"
        )


def hash_password(password: str) -> str:
    check_policy(password)
    return _hasher.hash(password)


def verify_password(stored_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(stored_hash or _DUMMY, password) and stored_hash is not None
    except (VerificationError, InvalidHashError):
        return False
