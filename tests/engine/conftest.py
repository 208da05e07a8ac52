"""Fixtures for engine tests: run the real ``crmsync`` command line in-process."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pytest
from click.testing import CliRunner

from sync.cli import cli
from tests.fakes import faulty_destination

faulty_destination.register()  # `type: faulty` for this test process only


@dataclass
class Result:
    exit_code: int
    summary: dict[str, Any]
    stdout: str
    stderr: str


def crmsync(*args: str) -> Result:
    """``crmsync ARGS`` in this process; JSON stdout parsed when there is some."""
    res = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    out = res.stdout.strip()
    try:
        data = json.loads(out) if out.startswith(("{", "[")) else {}
    except json.JSONDecodeError:
        data = {}
    return Result(res.exit_code, data, res.stdout, res.stderr)


@pytest.fixture(autouse=True)
def _fast_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CRMSYNC_RETRY_ATTEMPTS", "4")
    monkeypatch.setenv("CRMSYNC_RETRY_INITIAL_SECONDS", "0.01")
    monkeypatch.setenv("CRMSYNC_RETRY_MAX_SECONDS", "0.05")
