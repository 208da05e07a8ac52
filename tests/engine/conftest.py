"""Fixtures for engine tests: run the real ``crmsync`` command line in-process."""

from __future__ import annotations

import pytest

from tests.engine.tenant import Result, crmsync
from tests.fakes import faulty_destination

__all__ = ["Result", "crmsync"]

faulty_destination.register()  # `type: faulty` for this test process only


@pytest.fixture(autouse=True)
def _fast_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CRMSYNC_RETRY_ATTEMPTS", "4")
    monkeypatch.setenv("CRMSYNC_RETRY_INITIAL_SECONDS", "0.01")
    monkeypatch.setenv("CRMSYNC_RETRY_MAX_SECONDS", "0.05")
