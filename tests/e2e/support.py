"""What the end-to-end and torture tests share: the crmsync command, config files, ERP targets, kills.

Each of those tests sets the stage the way an admin would (a config.yaml, secrets in the
environment, the shipped mappings) and runs ``crmsync`` as a real process it may SIGKILL; the
stage directions are the same everywhere, so they are written once here.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from tests.fakes.kingdee import FakeKingdee
from tests.fakes.sap_b1 import FakeB1
from tests.fakes.sap_s4 import FakeS4

ROOT = Path(__file__).resolve().parents[2]
#: the installed console script, else the module (a checkout without ``make venv``)
CRMSYNC = (
    [str(ROOT / ".venv/bin/crmsync")]
    if (ROOT / ".venv/bin/crmsync").exists()
    else [sys.executable, "-m", "sync.cli"]
)

#: the canonical chart the shipped mappings post to
CANONICAL_ACCOUNTS = ("1122", "6001", "2221.01.05", "1002.01", "1012.01", "1012.02", "1001")
#: canonical account -> S/4 G/L account (customer lines go to the debtor)
S4_MAP: dict[str, Any] = {
    "1122": {"debtor": True},
    "6001": "41000000",
    "2221.01.05": "22210000",
    "1002.01": "11002000",
    "1012.01": "11003100",
    "1012.02": "11003200",
    "1001": "10010000",
}
#: Business One keeps the canonical codes; only the customer line becomes a BP (ShortName) line
B1_MAP: dict[str, Any] = {"1122": {"debtor": True}}

KINGDEE_SECRET = "0123456789abcdef0123456789abcdef"
#: the ${ENV} secrets the destination sections below refer to (the fakes' defaults)
ERP_SECRETS = {
    "KINGDEE_APP_SECRET": KINGDEE_SECRET,
    "SAP_PASSWORD": "S4-secret-Passw0rd!",
    "B1_PASSWORD": "B1-secret-Passw0rd!",
}
#: retries in milliseconds, not seconds: a fault-heavy run must finish within the test
FAST_RETRIES = {
    "CRMSYNC_RETRY_ATTEMPTS": "4",
    "CRMSYNC_RETRY_INITIAL_SECONDS": "0.01",
    "CRMSYNC_RETRY_MAX_SECONDS": "0.05",
}


def write_config(
    path: Path,
    *,
    state: Mapping[str, Any],
    sources: Mapping[str, Any],
    destination: Mapping[str, Any],
    mappings: Sequence[str],
) -> Path:
    """A config.yaml, one flow-style line per section (JSON is YAML, and quotes paths safely)."""
    path.write_text(
        "\n".join(
            [
                f"state: {json.dumps(state)}",
                f"sources: {json.dumps(sources, ensure_ascii=False)}",
                f"destination: {json.dumps(destination, ensure_ascii=False)}",
                f"mappings: {json.dumps(list(mappings), ensure_ascii=False)}",
            ]
        )
        + "\n",
        encoding="utf-8",
    )
    return path


def approval_mappings(folder: Path) -> Path:
    """``folder/mappings`` with the shipped payment mapping set to ``approval: required``."""
    maps = folder / "mappings"
    maps.mkdir()
    text = (ROOT / "mappings" / "fxiaoke-kingdee" / "payment_received.yaml").read_text(encoding="utf-8")
    (maps / "payment_received.yaml").write_text(
        text.replace("source: crm\n", "source: crm\napproval: required\n"), encoding="utf-8"
    )
    (maps / "lookups").symlink_to(ROOT / "mappings" / "fxiaoke-kingdee" / "lookups")
    return maps


def kingdee_destination(fake: FakeKingdee, **settings: Any) -> dict[str, Any]:
    """The ``destination`` section for a fake Kingdee (signature auth, book 001, group PRE001)."""
    return {
        "type": "kingdee",
        "base_url": fake.url,
        "acct_id": fake.acct_id,
        "username": fake.username,
        "app_id": fake.app_id,
        "app_secret": "${KINGDEE_APP_SECRET}",
        "auth": "signature",
        "account_book": "001",
        "voucher_group": "PRE001",
        **settings,
    }


def s4_destination(fake: FakeS4, **settings: Any) -> dict[str, Any]:
    """The ``destination`` section for a fake S/4HANA, company code 1010, with :data:`S4_MAP`."""
    return {
        "type": "sap_s4",
        "base_url": fake.url,
        "username": fake.username,
        "password": "${SAP_PASSWORD}",
        "company_code": "1010",
        "created_by_user": "CC0000000001",
        "account_map": S4_MAP,
        **settings,
    }


def b1_destination(fake: FakeB1, **settings: Any) -> dict[str, Any]:
    """The ``destination`` section for a fake Business One (SBODEMOCN), with :data:`B1_MAP`."""
    return {
        "type": "sap_b1",
        "base_url": fake.url,
        "company_db": "SBODEMOCN",
        "username": "manager",
        "password": "${B1_PASSWORD}",
        "account_map": B1_MAP,
        **settings,
    }


def kill_after_progress(
    command: Sequence[str],
    *,
    env: Mapping[str, str],
    cwd: Path,
    progress: Callable[[], int],
    rng: random.Random,
    kills: int,
    most: int,
    seconds: float,
) -> int:
    """Run ``command`` ``kills`` times, each SIGKILLed once the fake has seen 1..``most`` more calls.

    Importing airbyte_cdk costs seconds, so a kill on a timer would mostly hit start-up: the
    kill point is counted in what the fake has taken instead, with ``seconds`` as the fallback.
    Returns how many runs were killed while still running.
    """
    killed = 0
    for _ in range(kills):
        proc = subprocess.Popen(
            list(command), env=dict(env), cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        target = progress() + rng.randint(1, most)
        deadline = time.monotonic() + seconds
        while proc.poll() is None and progress() < target and time.monotonic() < deadline:
            time.sleep(0.005)
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
            killed += 1
        proc.wait(timeout=30)
    return killed
