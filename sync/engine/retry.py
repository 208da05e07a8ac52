"""The retry policy for ERP writes: tenacity, exponential backoff with jitter, bounded, and
never shorter than the ERP's own Retry-After.

Defaults suit a real ERP; ``CRMSYNC_RETRY_ATTEMPTS``, ``CRMSYNC_RETRY_INITIAL_SECONDS`` and
``CRMSYNC_RETRY_MAX_SECONDS`` tune them for an installation (and make tests fast).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from tenacity import AttemptManager, RetryCallState, Retrying, retry_if_exception_type, stop_after_attempt

from sync.backoff import Backoff

__all__ = ["RetryPolicy", "TryAgain"]


class TryAgain(Exception):
    """Raised inside an attempt when some items were transient; carries the ERP's Retry-After."""

    def __init__(self, retry_after: float | None = None) -> None:
        self.retry_after = retry_after
        super().__init__("transient")


def _env_float(name: str, default: float) -> float:
    try:
        return float(os.environ.get(name, default))
    except ValueError:
        return default


@dataclass(frozen=True)
class RetryPolicy(Backoff):
    """The poster's policy: ``sync.backoff.Backoff`` that honours Retry-After, with a sleep tests replace."""

    sleep: Callable[[float], None] = field(default=time.sleep)

    @classmethod
    def from_env(cls) -> RetryPolicy:
        return cls(
            attempts=max(1, int(_env_float("CRMSYNC_RETRY_ATTEMPTS", 5))),
            initial=_env_float("CRMSYNC_RETRY_INITIAL_SECONDS", 1.0),
            maximum=_env_float("CRMSYNC_RETRY_MAX_SECONDS", 60.0),
        )

    def _wait(self) -> Callable[[RetryCallState], float]:
        def wait(state: RetryCallState) -> float:
            base = self.delay(state.attempt_number)
            exc = state.outcome.exception() if state.outcome else None
            after = exc.retry_after if isinstance(exc, TryAgain) else None
            return max(base, after or 0.0)

        return wait

    def attempts_iter(self) -> Iterator[AttemptManager]:
        """``for attempt in policy.attempts_iter(): with attempt: ...`` raising TryAgain to retry.

        After the last attempt the final TryAgain propagates (``reraise``) so the caller
        can put what is left back to ``pending``.
        """
        return iter(
            Retrying(
                stop=stop_after_attempt(self.attempts),
                wait=self._wait(),
                retry=retry_if_exception_type(TryAgain),
                sleep=self.sleep,
                reraise=True,
            )
        )
