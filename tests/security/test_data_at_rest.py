"""No customer name or bank account in the state's files (issue 19, "Customer data at rest").

The sample CRM export and a bank statement are synced for real (one ``crmsync sync`` each
backend); then the SQLite file with its WAL, and a ``pg_dump`` of the PostgreSQL schema, are
searched byte for byte for a customer's name and a payer's bank account number from them.
The ledger (the destination, where vouchers are meant to be read) is not the state.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from sync.state.sqlite import SqliteStore
from tests.e2e.support import CRMSYNC, ROOT, write_config

pytestmark = pytest.mark.slow

STATEMENT = ROOT / "tests" / "fixtures" / "bank" / "camt053_v02.xml"
#: from examples/crm (a customer, in its payments' account_id__r) and from the statement (a payer)
CUSTOMER = "西安秦川软件技术有限公司"
PAYER = "上海明远贸易有限公司"
PAYER_ACCOUNT = "31001234567890"


def _sync(tmp_path: Path, state: str) -> subprocess.CompletedProcess[str]:
    (tmp_path / "inbox").mkdir()
    shutil.copy(STATEMENT, tmp_path / "inbox" / "stmt.xml")
    config = write_config(
        tmp_path / "config.yaml",
        state={"url": state},
        sources={
            "crm": {"type": "files", "path": str(ROOT / "examples/crm")},
            "bank": {"type": "camt053", "path": "inbox/*.xml"},
        },
        destination={"type": "ledger", "path": "ledger.db"},
        mappings=[
            str(ROOT / "mappings/fxiaoke-kingdee/*.yaml"),
            str(ROOT / "mappings/bank-kingdee/bank_*.yaml"),
        ],
    )
    done = subprocess.run(
        [*CRMSYNC, "sync", "-c", str(config)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        timeout=300,
        check=False,
    )
    assert done.returncode in (0, 1), done.stderr  # 1: the sample's one record quarantined on purpose
    return done


def _hits(data: bytes) -> dict[str, int]:
    return {word: data.count(word.encode()) for word in (CUSTOMER, PAYER, PAYER_ACCOUNT)}


def test_the_sqlite_state_holds_no_customer_name_or_bank_account(tmp_path: Path) -> None:
    _sync(tmp_path, "sqlite:///.crmsync/state.db")
    files = sorted((tmp_path / ".crmsync").glob("state.db*"))
    data = b"".join(p.read_bytes() for p in files if not p.name.endswith(".key"))
    assert _hits(data) == dict.fromkeys((CUSTOMER, PAYER, PAYER_ACCOUNT), 0)
    # the words are there to be found (the search can fail): sealed in the state, plain in the ledger
    assert CUSTOMER.encode() in (tmp_path / "ledger.db").read_bytes()
    store = SqliteStore(tmp_path / ".crmsync" / "state.db", read_only=True)
    kept = json.dumps([r.record for r in store.stored_records("bank", "camt053")], ensure_ascii=False)
    assert PAYER in kept and PAYER_ACCOUNT in kept


@pytest.mark.postgres
def test_a_postgresql_dump_of_the_state_holds_no_customer_name_or_bank_account(
    tmp_path: Path, pg_schema: tuple[str, str]
) -> None:
    url, schema = pg_schema
    _sync(tmp_path, f"{url}?schema={schema}")
    dump = subprocess.run(
        ["pg_dump", "--no-owner", "--schema", schema, url], capture_output=True, timeout=120, check=True
    ).stdout
    assert b"CREATE TABLE" in dump and b"source_records" in dump
    assert _hits(dump) == dict.fromkeys((CUSTOMER, PAYER, PAYER_ACCOUNT), 0)
