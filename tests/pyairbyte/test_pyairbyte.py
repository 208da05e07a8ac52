"""PyAirbyte (a real Airbyte client no one here wrote) installs every connector from ``pip_url``.

PyAirbyte runs in a venv of its own (its dependencies are far heavier than ours): the test
creates it once under .crmsync/pyairbyte/ (or uses ``CRMSYNC_PYAIRBYTE_PYTHON``), starts the
fakes here, and runs tests/pyairbyte/drive.py there. PyAirbyte then makes one fresh venv per
connector, ``pip install``s this project into it and runs the console script named after the
connector, exactly as a user's ``get_source("source-fxiaoke", pip_url=…)`` would.

Minutes long (four connector venvs), so it is marked ``pyairbyte``: ``make pyairbyte`` runs
it, and .ci/run runs it after ``make test``.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.connectors.kingdee.airbyte_support import ACCOUNTS, customer_codes, kingdee_config, sample_records
from tests.fakes.fxiaoke import FakeFxiaoke
from tests.fakes.kingdee import FakeKingdee

pytestmark = [pytest.mark.pyairbyte, pytest.mark.timeout(1800)]

REPO = Path(__file__).resolve().parents[2]
PYAIRBYTE = "airbyte==0.71.3"
CONNECTORS = ("source-fxiaoke", "source-crmsync-files", "source-crmsync-bank", "destination-crmsync-kingdee")
STATEMENT = REPO / "connectors/bank/integration_tests/statements/camt053_v08.xml"


def _pyairbyte_python() -> Path:
    given = os.environ.get("CRMSYNC_PYAIRBYTE_PYTHON")
    if given:
        return Path(given)
    venv = REPO / ".crmsync/pyairbyte/venv"
    python = venv / "bin/python"
    stamp = venv / f"{PYAIRBYTE}.installed"
    if stamp.exists():
        return python
    subprocess.run([sys.executable, "-m", "venv", "--clear", str(venv)], check=True, timeout=120)
    done = subprocess.run(
        [str(python), "-m", "pip", "install", "-q", PYAIRBYTE],
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    if done.returncode != 0:
        pytest.skip(f"PyAirbyte could not be installed (no package registry?): {done.stderr[-500:]}")
    stamp.touch()
    return python


@pytest.fixture
def fxiaoke() -> Iterator[FakeFxiaoke]:
    with FakeFxiaoke(records=30, rate_limit=None) as fake:
        yield fake


@pytest.fixture
def kingdee() -> Iterator[FakeKingdee]:
    with FakeKingdee(accounts=ACCOUNTS, customers=customer_codes(), timeout_delay=1.0) as fake:
        yield fake


def _exports(folder: Path) -> dict[str, int]:
    folder.mkdir()
    counts = {}
    for stream, count in (("SalesOrderObj", 6), ("PaymentObj", 4)):
        rows = sample_records(stream, count)
        with (folder / f"{stream}.jsonl").open("w", encoding="utf-8") as fh:
            fh.writelines(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)
        counts[stream] = len(rows)
    return counts


def test_pyairbyte_reads_every_source_and_writes_through_the_destination_from_pip_url(
    fxiaoke: FakeFxiaoke, kingdee: FakeKingdee, tmp_path: Path
) -> None:
    python = _pyairbyte_python()
    exports = _exports(tmp_path / "exports")
    crm_streams = ["SalesOrderObj", "PaymentObj"]
    plan: dict[str, Any] = {
        "pip_url": str(REPO),
        "install_root": str(tmp_path / "connectors"),
        "cache_dir": str(tmp_path / "cache"),
        "sources": [
            {
                "name": "source-fxiaoke",
                "config": fxiaoke.source_config(streams=crm_streams),
                "streams": crm_streams,
            },
            {
                "name": "source-crmsync-files",
                "config": {"path": str(tmp_path / "exports")},
                "streams": crm_streams,
            },
            {
                "name": "source-crmsync-bank",
                "config": {"format": "camt053", "path": str(STATEMENT)},
                "streams": ["camt053"],
            },
        ],
        "destination": {
            "name": "destination-crmsync-kingdee",
            "config": kingdee_config(kingdee),
            "source_config": {"path": str(tmp_path / "exports")},
            "streams": crm_streams,
        },
    }
    (tmp_path / "plan.json").write_text(json.dumps(plan, ensure_ascii=False), encoding="utf-8")
    done = subprocess.run(
        [str(python), str(REPO / "tests/pyairbyte/drive.py"), str(tmp_path / "plan.json")],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={**os.environ, "DO_NOT_TRACK": "1", "AIRBYTE_OFFLINE_MODE": "1", "AIRBYTE_NO_UV": "1"},
        timeout=1700,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    steps = [json.loads(line) for line in done.stdout.splitlines() if line.startswith('{"step"')]
    reads = {s["connector"]: s for s in steps if s["step"] == "read"}

    tenant = {stream: len([r for r in fxiaoke.records(stream)]) for stream in crm_streams}
    assert reads["source-fxiaoke"]["records"] == tenant
    assert reads["source-fxiaoke"]["second_read"] == 0
    assert reads["source-crmsync-files"]["records"] == exports
    entries = len(re.findall(r"<Ntry>", STATEMENT.read_text(encoding="utf-8")))
    assert reads["source-crmsync-bank"]["records"] == {"camt053": entries}

    [write] = [s for s in steps if s["step"] == "write"]
    assert write["processed"] == sum(exports.values())
    assert len(kingdee.vouchers) == 10 and max(kingdee.refs().values()) == 1
    for name in CONNECTORS:  # each from its own venv, through its console script
        assert (tmp_path / "connectors" / f".venv-{name}" / "bin" / name).is_file()
