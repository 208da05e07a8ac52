"""Retrying a bank API call after a transient error: the CMB and Stripe clients back off alike."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from sync.errors import TransientError

T = TypeVar("T")


def retry_transient(call: Callable[[], T], *, attempts: int, max_wait: float) -> T:
    """``call()``, again after each TransientError (jittered exponential back-off from 50 ms up to
    ``max_wait`` seconds), at most ``attempts`` times; the last error is raised as it is."""
    from tenacity import retry, retry_if_exception_type, stop_after_attempt, wait_exponential_jitter

    retrying = retry(
        retry=retry_if_exception_type(TransientError),
        stop=stop_after_attempt(attempts),
        wait=wait_exponential_jitter(multiplier=0.05, max=max_wait, jitter=0.2),
        reraise=True,
    )
    return retrying(call)()
