"""Exactly-once under SIGKILL at random points, faults, and two runs at once (real processes).

Runs are real ``crmsync`` processes forked from a pre-imported server (``zygote``): each is a
separate OS process with its own connections, killed with SIGKILL by the test or by the
fault-injecting destination itself at a seeded operation (before the ERP call, or after the
ERP committed and before crmsync heard the answer: the dangerous window).
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from sync.state import open_state
from tests.engine.tenant import (
    PAYMENT_MAPPING,
    balances,
    expected_balances,
    make_setup,
    payments,
    refs_in_ledger,
    source_ids_in_ledger,
)
from tests.engine.zygote import Zygote

FAST_RETRIES = {
    "CRMSYNC_RETRY_ATTEMPTS": "3",
    "CRMSYNC_RETRY_INITIAL_SECONDS": "0.005",
    "CRMSYNC_RETRY_MAX_SECONDS": "0.02",
}
KILLS = 30


@pytest.fixture(scope="module")
def zygote(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Zygote]:
    """One pre-imported fork server for the module (it keeps no state between runs)."""
    z = Zygote(tmp_path_factory.mktemp("runs"))
    yield z
    z.close()


def test_sigkill_at_random_points_never_posts_twice_or_loses_a_record(
    tmp_path: Path, state_url: str, zygote: Zygote
) -> None:
    rng = random.Random(20261128)
    records = payments(24, seed=11)
    faults = {
        "type": "faulty",
        "seed": 9,
        "transient": 0.15,
        "unknown_after_commit": 0.15,
        "lost_response": 0.1,
        "lookup_transient": 0.1,
        "delay_ms": 3,
    }
    setup = make_setup(tmp_path / "t", state_url, records, destination=faults, batch_size=3, checkpoint=4)
    args = ["sync", "-c", str(setup.config), "--format", "json"]
    kills = attempts = 0
    next_id = len(records)
    while kills < KILLS:
        attempts += 1
        assert attempts < 200, f"only {kills} kills landed in {attempts} runs"
        if attempts % 2 == 0:  # the CRM keeps producing: new payments arrive between runs
            new = payments(next_id + 3, seed=attempts)[next_id:]
            next_id += 3
            records += new
            setup.write_payments(records)
        kills += _run_maybe_killed(zygote, args, attempts, rng, inside=0.6, ops=10, wait=0.25)
    # no more kills: run until everything is through (faults still on)
    for final in range(10):
        pid, out, err = zygote.start(args, {**FAST_RETRIES, "CRMSYNC_FAULT_RUN": str(1000 + final)})
        status = zygote.wait(pid)
        assert status in (0, 1), err.read_text(encoding="utf-8")
        with open_state(state_url) as store:
            counts = store.counts_by_status()
        if status == 0 and set(counts) == {"posted"}:
            break
    summary = json.loads(out.read_text(encoding="utf-8"))
    assert summary["exit_code"] == 0
    assert counts == {"posted": len(records)}
    in_ledger = source_ids_in_ledger(setup.ledger)
    assert sorted(in_ledger) == sorted(r["_id"] for r in records)  # nothing lost
    assert set(in_ledger.values()) == {1}  # nothing twice
    assert set(refs_in_ledger(setup.ledger).values()) == {1}
    assert balances(setup.ledger) == expected_balances(records)  # to the cent


def _run_maybe_killed(
    zygote: Zygote, args: list[str], run: int, rng: random.Random, *, inside: float, ops: int, wait: float
) -> bool:
    """One run, SIGKILLed by its own destination at a chosen operation (share ``inside``) or by
    the test at a random moment within ``wait`` seconds; True when the kill landed."""
    env = {**FAST_RETRIES, "CRMSYNC_FAULT_RUN": str(run)}
    if rng.random() < inside:  # the destination kills its own process at a chosen operation
        env["CRMSYNC_FAULT_KILL_AT"] = str(rng.randint(1, ops))
        pid, _, err = zygote.start(args, env)
    else:  # the test kills it from outside, at a random moment of the run
        pid, _, err = zygote.start(args, env)
        time.sleep(rng.uniform(0.0, wait))
        os.kill(pid, signal.SIGKILL)
    status = zygote.wait(pid)
    assert status in (-signal.SIGKILL, 0, 1), err.read_text(encoding="utf-8")
    return status == -signal.SIGKILL


def _wait_for_lock(state_url: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with open_state(state_url) as store:
                if store._one("SELECT pid FROM run_lock WHERE id = 1"):
                    return
        except Exception:  # the first run may be creating the schema
            pass
        time.sleep(0.02)
    raise AssertionError("the first run never took the lock")


def test_two_runs_at_once_never_post_twice_the_second_waits(
    tmp_path: Path, state_url: str, zygote: Zygote
) -> None:
    records = payments(12)
    slow = {"type": "faulty", "delay_ms": 60}
    setup = make_setup(tmp_path / "t", state_url, records, destination=slow, batch_size=2, lock_timeout=60)
    args = ["sync", "-c", str(setup.config), "--format", "json"]
    first, out1, _ = zygote.start(args, FAST_RETRIES)
    second, out2, err2 = zygote.start(args, FAST_RETRIES)
    assert (zygote.wait(first), zygote.wait(second)) == (0, 0), err2.read_text(encoding="utf-8")
    posted = sorted(json.loads(p.read_text(encoding="utf-8"))["vouchers_posted"] for p in (out1, out2))
    assert posted == [0, 12]
    assert set(refs_in_ledger(setup.ledger).values()) == {1} and len(refs_in_ledger(setup.ledger)) == 12
    assert balances(setup.ledger) == expected_balances(records)


def test_a_second_run_that_cannot_wait_exits_4_naming_the_holder(
    tmp_path: Path, state_url: str, zygote: Zygote
) -> None:
    slow = {"type": "faulty", "delay_ms": 100}
    setup = make_setup(
        tmp_path / "t", state_url, payments(10), destination=slow, batch_size=1, lock_timeout=0
    )
    args = ["sync", "-c", str(setup.config)]
    first, _, _ = zygote.start(args, FAST_RETRIES)
    _wait_for_lock(state_url)
    second, _, err2 = zygote.start(args, FAST_RETRIES)
    assert zygote.wait(second) == 4
    message = err2.read_text(encoding="utf-8")
    assert f"pid {first}" in message and "holds the lock" in message and "Traceback" not in message
    assert zygote.wait(first) == 0
    assert set(refs_in_ledger(setup.ledger).values()) == {1} and len(refs_in_ledger(setup.ledger)) == 10


def test_a_remap_killed_at_any_moment_is_finished_by_the_next_one_posting_nothing_twice(
    tmp_path: Path, state_url: str, zygote: Zygote
) -> None:
    rng = random.Random(20261203)
    records = payments(30, seed=5)
    folder = tmp_path / "mappings"
    shutil.copytree(PAYMENT_MAPPING.parent, folder)
    faults = {"type": "faulty", "seed": 4, "transient": 0.1, "unknown_after_commit": 0.1, "delay_ms": 2}
    setup = make_setup(
        tmp_path / "t",
        state_url,
        records,
        destination=faults,
        batch_size=3,
        mapping=folder / PAYMENT_MAPPING.name,
    )
    for final in range(10):  # everything posted first, under the same faults
        pid, _, err = zygote.start(
            ["sync", "-c", str(setup.config)], {**FAST_RETRIES, "CRMSYNC_FAULT_RUN": str(final)}
        )
        if zygote.wait(pid) == 0:
            break
    lookup = folder / "lookups" / "bank_accounts.csv"
    lookup.write_text(
        lookup.read_text(encoding="utf-8").replace("1,1002.01,", "1,1002.02,"), encoding="utf-8"
    )
    args = ["remap", "-c", str(setup.config), "--post", "--format", "json"]
    kills = attempts = 0
    while kills < 8:
        attempts += 1
        assert attempts < 60, f"only {kills} kills landed in {attempts} remaps"
        kills += _run_maybe_killed(zygote, args, 100 + attempts, rng, inside=0.5, ops=8, wait=0.3)
    for final in range(10):  # no more kills: remap (then sync) until everything is through
        command = args if final % 2 == 0 else ["sync", "-c", str(setup.config)]
        pid, _, err = zygote.start(command, {**FAST_RETRIES, "CRMSYNC_FAULT_RUN": str(1000 + final)})
        status = zygote.wait(pid)
        assert status in (0, 1), err.read_text(encoding="utf-8")
        with open_state(state_url) as store:
            pending = {s: n for s, n in store.counts_by_status().items() if s not in {"posted", "reversed"}}
        if status == 0 and not pending:
            break
    assert not pending
    assert set(refs_in_ledger(setup.ledger).values()) == {1}  # no external reference twice
    transfers = Counter(r["_id"] for r in records if r["payment_term"] == "1")
    assert source_ids_in_ledger(setup.ledger, reversals=True) == transfers  # each reversed exactly once
    expected = expected_balances(records)
    expected["1002.02"] = expected.pop("1002.01")
    assert balances(setup.ledger) == expected  # to the cent, on the right account
