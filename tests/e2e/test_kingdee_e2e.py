"""End to end: the sample CRM export -> ``crmsync sync`` (a real subprocess) -> the fake Kingdee.

The fake answers 20% of calls with a fault (lost session, MsgCode 13/14, HTTP 503, and a
timeout *after* the voucher was saved), and the sync process is SIGKILLed at random points
before it is allowed to finish. Afterwards every voucher is in Kingdee exactly once, with the
right lines, audited, and the fake's totals per account equal the totals of the source
vouchers. A voucher Kingdee refuses (its customer is missing) stays ``failed`` with Kingdee's
own message in ``crmsync failures``; once the customer exists, ``crmsync retry`` posts it once.
"""

from __future__ import annotations

import csv
import json
import os
import random
import sqlite3
import subprocess
from collections import Counter
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.support import CRMSYNC, KINGDEE_SECRET, ROOT, kill_after_progress
from tests.fakes.kingdee import FakeKingdee

pytestmark = pytest.mark.slow

REPO = ROOT
SECRET = KINGDEE_SECRET
KILLS = 4


def _config(tmp: Path, fake: FakeKingdee, extra: str = "") -> Path:
    path = tmp / "config.yaml"
    path.write_text(
        f"""
state: {{url: sqlite:///state.db}}
sources:
  crm: {{type: files, path: {REPO / "examples/crm"}}}
destination:
  type: kingdee
  base_url: {fake.url}
  acct_id: {fake.acct_id}
  username: {fake.username}
  app_id: {fake.app_id}
  app_secret: ${{KINGDEE_APP_SECRET}}
  auth: signature
  account_book: "001"
  voucher_group: PRE001
  batch_size: 10
  submit: true
  audit: true
  timeout_seconds: 0.6
{extra}mappings: [{REPO / "mappings/fxiaoke-kingdee/*.yaml"}]
""",
        encoding="utf-8",
    )
    return path


def _env() -> dict[str, str]:
    return {
        **os.environ,
        "KINGDEE_APP_SECRET": SECRET,
        "CRMSYNC_RETRY_ATTEMPTS": "6",
        "CRMSYNC_RETRY_INITIAL_SECONDS": "0.01",
        "CRMSYNC_RETRY_MAX_SECONDS": "0.05",
        "PYTHONPATH": str(REPO),
    }


def _run(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CRMSYNC, *args, "-c", str(config)],
        capture_output=True,
        text=True,
        env=_env(),
        cwd=config.parent,
        timeout=120,
        check=False,
    )


def _expected(config: Path) -> dict[str, dict[str, Any]]:
    """What the mappings make of the export: external reference -> voucher (public JSON)."""
    out = _run(config, "preview", "--format", "json")
    vouchers = [json.loads(line) for line in out.stdout.splitlines() if line.startswith("{")]
    assert vouchers, out.stderr
    return {f"{v['key']}#{v['revision']}": v for v in vouchers}


def _outbox(config: Path) -> list[dict[str, Any]]:
    out = _run(config, "vouchers", "--format", "json")
    assert out.returncode == 0, out.stderr
    rows: list[dict[str, Any]] = json.loads(out.stdout)
    return rows


def _unsettled(config: Path) -> int:
    """Vouchers still pending or sending, read straight from the SQLite state (no subprocess)."""
    with sqlite3.connect(config.parent / "state.db") as db:
        (count,) = db.execute("SELECT count(*) FROM outbox WHERE status IN ('pending', 'sending')").fetchone()
    return int(count)


def _lines(voucher: dict[str, Any]) -> Counter[tuple[str, Decimal, Decimal, str]]:
    return Counter(
        (ln["account"], Decimal(ln["debit"]), Decimal(ln["credit"]), ln["dims"].get("customer", ""))
        for ln in voucher["lines"]
        if Decimal(ln["debit"]) or Decimal(ln["credit"])
    )


def _stored_lines(fake: FakeKingdee, ref: str, ref_field: str) -> Counter[tuple[str, Decimal, Decimal, str]]:
    stored = fake.by_ref(ref, ref_field)
    assert stored is not None, ref
    return Counter((e.account, e.debit, e.credit, e.dims.get("FFLEX6", "")) for e in stored.entries)


def _totals(vouchers: list[dict[str, Any]]) -> dict[str, Decimal]:
    totals: dict[str, Decimal] = {}
    for v in vouchers:
        for ln in v["lines"]:
            totals[ln["account"]] = (
                totals.get(ln["account"], Decimal(0)) + Decimal(ln["debit"]) - Decimal(ln["credit"])
            )
    return {k: v for k, v in totals.items()}


def _kill_at_random_points(config: Path, fake: FakeKingdee, rng: random.Random) -> int:
    """Start ``crmsync sync`` and SIGKILL it after a random number (1-12) of its Kingdee calls,
    so kills land between a Save and its answer, between Save and Audit, mid-lookup …
    Returns how many runs were killed while still running."""
    return kill_after_progress(
        [*CRMSYNC, "sync", "--format", "json", "-c", str(config)],
        env=_env(),
        cwd=config.parent,
        progress=lambda: sum(fake.calls.values()),
        rng=rng,
        kills=KILLS,
        most=12,
        seconds=30,
    )


def _sync_until_settled(config: Path) -> list[dict[str, Any]]:
    for _ in range(15):
        out = _run(config, "sync", "--format", "json")
        assert out.returncode in (0, 1), f"exit {out.returncode}: {out.stderr[-3000:]}"
        if not _unsettled(config):
            return _outbox(config)
    raise AssertionError(f"{_unsettled(config)} vouchers still pending after 15 runs")


# How live tenants behave (spec addendum 2026-12): the fake's switches, and the config a
# tenant like that needs. The reference is read back from ``ref_field``.
TENANTS: dict[str, tuple[dict[str, Any], str, str]] = {
    "as_documented": ({}, "", "FBillNo"),
    "query_hides_saved": ({"hide_saved": "always"}, "", "FBillNo"),
    "coding_rule": (
        {"coding_rule": True, "hide_saved": "unless_status_filter"},
        "  external_ref_field: F_XXX_SyncKey\n",
        "F_XXX_SyncKey",
    ),
}


@pytest.mark.parametrize("tenant", list(TENANTS))
def test_sample_export_posts_each_voucher_exactly_once_through_faults_and_kills(
    tmp_path: Path, tenant: str
) -> None:
    switches, extra, ref_field = TENANTS[tenant]
    customers = [
        row["erp_customer_code"]
        for row in csv.DictReader((REPO / "examples/lookups/customers.csv").open(encoding="utf-8"))
    ]
    with FakeKingdee(customers=customers, accounts={}, timeout_delay=1.2, seed=20261128, **switches) as fake:
        config = _config(tmp_path, fake, extra)
        expected = _expected(config)
        for v in expected.values():
            for ln in v["lines"]:
                fake.add_account(ln["account"], *(("FFLEX6",) if "customer" in ln["dims"] else ()))
        by_customer = Counter(
            ln["dims"]["customer"] for v in expected.values() for ln in v["lines"] if "customer" in ln["dims"]
        )
        missing = min(by_customer, key=lambda c: (by_customer[c], c))
        fake.base_data["BD_Customer"].discard(missing)
        rejected = {
            ref
            for ref, v in expected.items()
            if any(ln["dims"].get("customer") == missing for ln in v["lines"])
        }

        check = _run(config, "check", "--format", "json")
        assert check.returncode == 2
        assert (
            f"customer (BD_Customer): 1 code(s) missing in Kingdee: {missing}"
            in json.loads(check.stdout)["problems"]
        )

        fake.fault_rate = 0.2
        fake.script_fault("BatchSave", "timeout_after_save")  # at least one, whatever the dice say
        assert _kill_at_random_points(config, fake, random.Random(7)) >= KILLS - 1
        rows = _sync_until_settled(config)

        # every voucher Kingdee accepted is there exactly once, with the right lines, audited
        refs = fake.refs(ref_field)
        doubled = {r: n for r, n in refs.items() if n > 1}
        assert refs and not doubled, (doubled, dict(fake.calls), dict(fake.injected))
        assert set(refs) == set(expected) - rejected
        for ref in refs:
            assert _stored_lines(fake, ref, ref_field) == _lines(expected[ref]), ref
        assert {v.status for v in fake.vouchers} == {"C"}
        posted = {r["external_ref"]: r for r in rows if r["status"] == "posted"}
        assert set(posted) == set(refs)
        assert all(r["erp_number"].startswith("记-") for r in posted.values())
        assert sum(fake.injected.values()) >= 5 and fake.injected["timeout_after_save"] >= 1
        if switches.get("hide_saved") == "always":  # a lost answer was settled by View, not the query
            assert fake.calls["View"] >= 1, dict(fake.calls)
        if switches.get("coding_rule"):  # Kingdee numbered them itself; our reference is elsewhere
            assert not set(fake.refs()) & set(refs)

        # the refused ones stay failed with Kingdee's own words
        failures = json.loads(_run(config, "failures", "--format", "json").stdout)
        assert {f["external_ref"] for f in failures["failed"]} == rejected
        assert all(f"核算维度“客户”的编码“{missing}”不存在" in f["last_error"] for f in failures["failed"])

        # the admin adds the customer in Kingdee; retry posts each refused voucher once
        fake.add_customer(missing)
        fake.fault_rate = 0.0
        retried = _run(config, "retry", "--all", "--format", "json")
        result = json.loads(retried.stdout)
        assert (result["vouchers_requeued"], result["summary"]["vouchers_failed"]) == (len(rejected), 0)
        assert result["still_quarantined"] == 1  # the sample order without an amount (a deliberate flaw)
        refs = fake.refs(ref_field)
        assert set(refs) == set(expected) and max(refs.values()) == 1
        assert fake.totals_by_account() == _totals(list(expected.values()))
        assert json.loads(_run(config, "failures", "--format", "json").stdout)["failed"] == []
