"""A run whose process was SIGKILLed is told as `interrupted`, never `running` for good (issue 19)."""

from __future__ import annotations

import json
import os
import random
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.support import (
    CRMSYNC,
    ERP_SECRETS,
    FAST_RETRIES,
    ROOT,
    kill_after_progress,
    kingdee_destination,
    write_config,
)
from tests.e2e.test_sap_e2e import customer_codes
from tests.e2e.test_three_destinations_agree import ACCOUNTS
from tests.fakes.kingdee import FakeKingdee

pytestmark = pytest.mark.slow


def _env() -> dict[str, str]:
    return {**os.environ, **ERP_SECRETS, **FAST_RETRIES, "PYTHONPATH": str(ROOT)}


def _status(config: Path) -> dict[str, Any]:
    out = subprocess.run(
        [*CRMSYNC, "status", "--format", "json", "-c", str(config)],
        capture_output=True,
        text=True,
        env=_env(),
        timeout=120,
        check=True,
    )
    status: dict[str, Any] = json.loads(out.stdout)
    return status


def test_a_killed_sync_shows_as_interrupted_with_when_it_was_last_seen(tmp_path: Path) -> None:
    with FakeKingdee(customers=sorted(set(customer_codes().values())), accounts={}) as fake:
        for code in ACCOUNTS:
            fake.add_account(code, *(("FFLEX6",) if code == "1122" else ()))
        config = write_config(
            tmp_path / "config.yaml",
            state={"url": "sqlite:///state.db"},
            sources={"crm": {"type": "files", "path": str(ROOT / "examples/crm")}},
            destination=kingdee_destination(fake, batch_size=5),
            mappings=[str(ROOT / "mappings/fxiaoke-kingdee/*.yaml")],
        )
        command = [*CRMSYNC, "sync", "-c", str(config)]
        killed = kill_after_progress(
            command,
            env=_env(),
            cwd=tmp_path,
            progress=lambda: sum(fake.calls.values()),
            rng=random.Random(3),
            kills=1,
            most=3,
            seconds=60,
        )
        assert killed == 1

        (dead,) = _status(config)["runs"]
        assert dead["status"] == "interrupted" and dead["finished"] is None
        assert dead["seen"] >= dead["started"]
        assert "ended without recording" in dead["message"]

        finished = subprocess.run(
            command, capture_output=True, text=True, env=_env(), cwd=tmp_path, check=False
        )
        assert finished.returncode == 0, finished.stderr  # the killed run had read (and quarantined)

    second, first = _status(config)["runs"]
    assert first["id"] == dead["id"] and first["status"] == "interrupted"
    # the killed run had read every record; this one reads none and posts what was left: the
    # two counts are told apart (a records-only column would show this run posted nothing)
    assert second["status"] == "done" and second["records_read"] == 0
    assert 0 < second["vouchers_posted"] <= 149
    assert sum(fake.refs().values()) == 149
