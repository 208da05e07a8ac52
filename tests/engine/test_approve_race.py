"""``crmsync approve --all`` racing a sync that supersedes the very vouchers it approves.

Two real processes on one state store, on SQLite and on PostgreSQL. Each round a sync leaves
every payment's new revision awaiting approval; then every payment is edited again and a
second sync runs while ``crmsync approve --all`` runs again and again beside it, the first
approval starting at a point swept across the sync's start-up, so that in some rounds it
lists the waiting vouchers just before the sync supersedes them and moves them after. A
superseded revision that approval brought back would reach the ERP beside its successor: at
the end the ledger must hold, per payment, exactly its last amount.

``CRMSYNC_RACE_ROUNDS`` and ``CRMSYNC_RACE_PAYMENTS`` size it (default 5 rounds of 1,000 on
SQLite; 3 rounds of 500 on PostgreSQL, whose round trip per statement makes each sync last as
long as a SQLite sync twice its size, so the window the approvals are swept across is as wide).
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections import defaultdict
from decimal import Decimal
from pathlib import Path

import pytest

from connectors.ledger.queries import list_vouchers
from sync.state import Status, open_state
from tests.e2e.support import CRMSYNC, approval_mappings

REPO = Path(__file__).resolve().parents[2]
#: (rounds, payments) per backend unless the environment sizes it
SIZES = {"sqlite": (5, 1000), "postgresql": (3, 500)}
#: seconds from the sync taking the run lock to the first approval (the sync reads ~1.3 s later)
DELAYS = (0.5, 0.7, 0.9, 1.1, 0.3)
CUSTOMERS = ("西安秦川软件技术有限公司", "杭州西湖数据服务有限公司", "深圳南山智能制造有限公司")


def _payment(i: int, amount: Decimal) -> dict[str, object]:
    return {
        "_id": f"race{i:020d}",
        "name": f"20261115-{i:06d}",
        "create_time": 1794700800000 + i,
        "last_modified_time": 1794700800000 + i,
        "life_status": "normal",
        "is_deleted": False,
        "account_id": f"acct{i % len(CUSTOMERS):020d}",
        "account_id__r": CUSTOMERS[i % len(CUSTOMERS)],
        "payment_time": 1794672000000,  # 2026-11-15 00:00 UTC+8
        "payment_amount": str(amount),
        "payment_term": "1",
    }


def _amount(i: int, round_no: int) -> Decimal:
    return Decimal(10_000 + i * 37) + Decimal(round_no) / 100 + Decimal("0.05")


def _size(state_url: str) -> tuple[int, int]:
    rounds, payments = SIZES[state_url.split(":", 1)[0]]
    return (
        int(os.environ.get("CRMSYNC_RACE_ROUNDS", rounds)),
        int(os.environ.get("CRMSYNC_RACE_PAYMENTS", payments)),
    )


def _write_payments(folder: Path, round_no: int, payments: int) -> dict[str, Decimal]:
    amounts = {f"race{i:020d}": _amount(i, round_no) for i in range(payments)}
    lines = [json.dumps(_payment(i, _amount(i, round_no)), ensure_ascii=False) for i in range(payments)]
    (folder / "PaymentObj.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return amounts


def _tenant(tmp_path: Path, state_url: str) -> Path:
    approval_mappings(tmp_path)
    (tmp_path / "crm").mkdir()
    config = tmp_path / "config.yaml"
    config.write_text(
        f"state: {json.dumps({'url': state_url, 'lock_timeout_seconds': 120})}\n"
        f"sources: {json.dumps({'crm': {'type': 'files', 'path': 'crm', 'streams': ['PaymentObj']}})}\n"
        "destination: {type: ledger, path: .crmsync/ledger.db}\n"
        'mappings: ["mappings/*.yaml"]\n',
        encoding="utf-8",
    )
    return config


def _run(args: list[str], cwd: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [*CRMSYNC, *args], cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=dict(os.environ)
    )


class _Approver:
    """``crmsync approve --all`` run again and again until ``stop()``."""

    def __init__(self, config: Path, cwd: Path) -> None:
        self.args = ["approve", "-c", str(config), "--all", "--by", "王会计"]
        self.cwd = cwd
        self.runs = 0
        self.proc: subprocess.Popen[bytes] | None = None

    def tick(self) -> None:
        if self.proc is not None and self.proc.poll() is not None:
            _, err = self.proc.communicate()
            assert self.proc.returncode == 0, err.decode()
            self.runs += 1
            self.proc = None
        if self.proc is None:
            self.proc = _run(self.args, self.cwd)

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.communicate(timeout=120)
            self.runs += 1


def _sync_while_approving(config: Path, cwd: Path, state_url: str, delay: float) -> int:
    """One sync with ``approve --all`` beside it; returns how many approvals ran.

    The first approval starts ``delay`` seconds after the sync took the run lock: swept over
    the rounds, it lists the waiting vouchers just before, while or after the sync starts
    superseding them. Approvals then run back to back until the sync ends.
    """
    approver = _Approver(config, cwd)
    with open_state(state_url, cwd) as store:
        before = store.lock_holder()
        sync = _run(["sync", "-c", str(config)], cwd)
        while sync.poll() is None and store.lock_holder() == before:
            time.sleep(0.005)
    time.sleep(delay)
    while sync.poll() is None:
        approver.tick()
        time.sleep(0.01)
    approver.stop()
    _, err = sync.communicate(timeout=120)
    assert sync.returncode in (0, 1), err.decode()
    return approver.runs


def _crmsync(args: list[str], cwd: Path) -> None:
    done = subprocess.run([*CRMSYNC, *args], cwd=cwd, capture_output=True, timeout=180, check=False)
    assert done.returncode in (0, 1), done.stderr.decode()


def _sync(config: Path, cwd: Path) -> None:
    _crmsync(["sync", "-c", str(config)], cwd)


def _settle(config: Path, cwd: Path) -> None:
    _crmsync(["approve", "-c", str(config), "--all"], cwd)
    _sync(config, cwd)


@pytest.mark.slow
def test_approve_never_brings_back_a_revision_that_a_concurrent_sync_superseded(
    tmp_path: Path, state_url: str
) -> None:
    rounds, payments = _size(state_url)
    config = _tenant(tmp_path, state_url)
    _write_payments(tmp_path / "crm", 0, payments)
    _settle(config, tmp_path)  # round 0: every payment posted once, approved before its sync
    approvals = 0
    for round_no in range(1, rounds + 1):
        _write_payments(tmp_path / "crm", 2 * round_no - 1, payments)
        _sync(config, tmp_path)  # every payment's new revision now waits for approval
        latest = _write_payments(tmp_path / "crm", 2 * round_no, payments)
        delay = DELAYS[(round_no - 1) % len(DELAYS)]
        approvals += _sync_while_approving(config, tmp_path, state_url, delay)
    _settle(config, tmp_path)

    posted = list_vouchers(tmp_path / ".crmsync" / "ledger.db")
    with open_state(state_url, tmp_path) as store:
        statuses = {r.external_ref: r.status for r in store.list_vouchers()}
    superseded_in_erp = [v.external_ref for v in posted if statuses.get(v.external_ref) is Status.SUPERSEDED]
    assert superseded_in_erp == [], f"{len(superseded_in_erp)} superseded revisions reached the ERP"
    net: dict[str, Decimal] = defaultdict(Decimal)
    for v in posted:
        net[v.source_id] += v.total
    wrong = {rid: (net[rid], amount) for rid, amount in latest.items() if net[rid] != amount}
    example = next(iter(wrong.items()), None)
    assert not wrong, f"{len(wrong)} payments do not net to their last amount, e.g. {example}"
    assert approvals >= rounds
