"""One backoff policy for every retry crmsync makes: ERP writes, CRM and bank API calls.

Exponential with equal jitter: the ``n``-th retry waits between half and all of
``min(maximum, initial * 2**(n-1))`` seconds, so a crowd of clients spreads out and none
waits longer than ``maximum``. A server's own Retry-After, where one is given, is honoured
by the caller on top of this (never less).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from sync.errors import TransientError

__all__ = ["Backoff", "retry_transient"]

T = TypeVar("T")


@dataclass(frozen=True)
class Backoff:
    """How often (``attempts`` in all) and how long (``initial`` doubling up to ``maximum``) to retry."""

    attempts: int = 5
    initial: float = 1.0
    maximum: float = 60.0

    def delay(self, retry: int) -> float:
        """Seconds to wait before the ``retry``-th retry (1-based)."""
        ceiling = min(self.maximum, self.initial * 2.0 ** (max(retry, 1) - 1))
        return ceiling / 2 + random.uniform(0, ceiling / 2)  # noqa: S311 - jitter, not crypto

    def wait(self, state: Any) -> float:
        """The same delay as a tenacity wait strategy (``state.attempt_number`` is 1-based)."""
        return self.delay(int(state.attempt_number))


def retry_transient(call: Callable[[], T], backoff: Backoff) -> T:
    """``call()``, again after each TransientError as ``backoff`` says; the last error is raised."""
    from tenacity import retry, retry_if_exception_type, stop_after_attempt

    retrying = retry(
        retry=retry_if_exception_type(TransientError),
        stop=stop_after_attempt(backoff.attempts),
        wait=backoff.wait,
        reraise=True,
    )
    return retrying(call)()
