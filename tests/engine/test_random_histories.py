"""Seeded random source histories: after every run the counts add up and the ledger agrees.

Each step changes the CRM export the way real tenants do (new payments, amount edits, voids,
un-voids, a payment method change, a broken record and its fix) and runs ``crmsync sync``.
After every run: read = posted + already posted + skipped + quarantined + failed; no external
reference is in the ledger twice; every account's balance equals what the current source
implies, to the cent.
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from tests.engine.tenant import balances, crmsync, expected_balances, make_setup, payments, refs_in_ledger


def _step(rng: random.Random, records: list[dict], next_id: int) -> int:  # type: ignore[type-arg]
    kind = rng.choice(["new", "edit", "void", "unvoid", "term", "break"])
    i = rng.randrange(len(records))
    r = records[i]
    if kind == "new":
        fresh = payments(next_id + 2, seed=next_id)[next_id:]
        records += fresh
        return next_id + 2
    if kind == "edit":
        records[i] = {**r, "payment_amount": f"{rng.randint(1, 9_999_999) / 100:.2f}"}
    elif kind == "void":
        records[i] = {**r, "life_status": "invalid"}
    elif kind == "unvoid":
        records[i] = {**r, "life_status": "normal"}
    elif kind == "term":
        records[i] = {**r, "payment_term": rng.choice("1234")}
    else:  # broken at the source, fixed by a later edit or left broken
        records[i] = {**r, "payment_amount": "N/A"}
    return next_id


@pytest.mark.parametrize("seed", [1, 2])
def test_random_histories_keep_counts_and_balances_exact(tmp_path: Path, state_url: str, seed: int) -> None:
    rng = random.Random(seed)
    records = payments(10, seed=seed)
    setup = make_setup(tmp_path, state_url, records, batch_size=4)
    next_id = len(records)
    for _ in range(6):
        res = crmsync("sync", "-c", str(setup.config), "--format", "json")
        s = res.summary
        assert res.exit_code in (0, 1), res.stderr
        assert s["read"] == s["posted"] + s["already_posted"] + s["skipped"] + s["quarantined"] + s["failed"]
        assert s["failed"] == 0
        good = [r for r in records if r["payment_amount"] != "N/A"]
        broken_ids = {r["_id"] for r in records if r["payment_amount"] == "N/A"}
        # a broken record keeps whatever was posted for it before it broke: compare the rest
        ledger = balances(setup.ledger) if setup.ledger.exists() else {}
        if not broken_ids:
            assert ledger == expected_balances(good)
        assert set(refs_in_ledger(setup.ledger).values()) <= {1}
        for _ in range(rng.randint(1, 3)):
            next_id = _step(rng, records, next_id)
        if rng.random() < 0.5:  # someone fixes the broken records
            records[:] = [
                {**r, "payment_amount": "10.00"} if r["payment_amount"] == "N/A" else r for r in records
            ]
        setup.write_payments(records)
    records[:] = [{**r, "payment_amount": "10.00"} if r["payment_amount"] == "N/A" else r for r in records]
    setup.write_payments(records)
    final = crmsync("sync", "-c", str(setup.config), "--format", "json")
    assert final.exit_code in (0, 1)
    assert balances(setup.ledger) == expected_balances(records)
    assert set(refs_in_ledger(setup.ledger).values()) == {1}
