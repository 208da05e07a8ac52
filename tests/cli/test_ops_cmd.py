"""``crmsync vouchers``, ``failures``, ``retry``, ``status``, ``pause``/``resume``."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

from tests.engine.tenant import Setup, crmsync, make_setup, payment, payments


@pytest.fixture
def synced(tmp_path: Path, state_url: str) -> Setup:
    records = payments(6)
    records[5] = payment(5, "321.09", day=20)
    setup = make_setup(tmp_path, state_url, records)
    assert crmsync("sync", "-c", str(setup.config)).exit_code == 0
    return setup


def test_vouchers_json_carries_erp_numbers_and_the_source_record(synced: Setup) -> None:
    res = crmsync("vouchers", "-c", str(synced.config), "--format", "json")
    rows = res.summary
    assert res.exit_code == 0 and len(rows) == 6
    assert all(r["erp_number"].startswith("收-") and r["status"] == "posted" for r in rows)
    assert {r["source"]["id"] for r in rows} == {f"pay{i:06d}" for i in range(6)}
    assert {r["source"]["stream"] for r in rows} == {"PaymentObj"}


def test_vouchers_filters_by_source_id_status_date_and_limit(synced: Setup) -> None:
    cfg = str(synced.config)
    [one] = crmsync("vouchers", "-c", cfg, "--source-id", "pay000005", "--format", "json").summary
    assert one["total"] == "321.09" and one["date"] == "2026-11-20"
    assert crmsync("vouchers", "-c", cfg, "--status", "failed", "--format", "json").summary == []
    since = crmsync("vouchers", "-c", cfg, "--since", "2026-11-20", "--format", "json").summary
    assert [r["source"]["id"] for r in since] == ["pay000005"]
    assert len(crmsync("vouchers", "-c", cfg, "--limit", "2", "--format", "json").summary) == 2
    bad = crmsync("vouchers", "-c", cfg, "--since", "20.11.2026")
    assert bad.exit_code == 2 and "YYYY-MM-DD" in bad.stderr


def test_vouchers_csv_and_table(synced: Setup) -> None:
    cfg = str(synced.config)
    rows = list(csv.DictReader(io.StringIO(crmsync("vouchers", "-c", cfg, "--format", "csv").stdout)))
    assert len(rows) == 6 and rows[0]["erp_number"].startswith("收-") and rows[0]["source"].startswith("crm/")
    table = crmsync("vouchers", "-c", cfg).stdout
    assert "pay000005" in table and "收-" in table


def test_status_shows_runs_cursors_and_counts(synced: Setup) -> None:
    res = crmsync("status", "-c", str(synced.config), "--format", "json")
    assert res.exit_code == 0
    assert res.summary["vouchers"] == {"posted": 6} and res.summary["quarantined"] == 0
    assert res.summary["runs"][0]["status"] == "done" and res.summary["runs"][0]["counts"]["read"] == 6
    assert [(c["source"], c["stream"]) for c in res.summary["cursors"]] == [("crm", "PaymentObj")]
    assert "last runs" in crmsync("status", "-c", str(synced.config)).stdout


def test_failures_says_when_there_are_none(synced: Setup) -> None:
    res = crmsync("failures", "-c", str(synced.config))
    assert res.exit_code == 0 and "no failures" in res.stdout


def test_retry_needs_something_to_retry(synced: Setup) -> None:
    res = crmsync("retry", "-c", str(synced.config))
    assert res.exit_code == 2 and "--all" in res.stderr


def test_retry_names_one_quarantined_record(tmp_path: Path, state_url: str) -> None:
    records = payments(3)
    records[1] = {**records[1], "payment_amount": "12.3.4"}
    setup = make_setup(tmp_path, state_url, records)
    assert crmsync("sync", "-c", str(setup.config)).exit_code == 1
    table = crmsync("failures", "-c", str(setup.config)).stdout
    assert "pay000001" in table and "12.3.4" in table
    res = crmsync("retry", "-c", str(setup.config), "pay000001", "--format", "json")
    assert res.exit_code == 1 and res.summary["still_quarantined"] == 1  # still wrong at the source


def test_pause_and_resume_report_what_they_did(synced: Setup) -> None:
    assert "paused" in crmsync("pause", "-c", str(synced.config)).stdout
    assert crmsync("status", "-c", str(synced.config), "--format", "json").summary["paused"] is True
    assert "resumed" in crmsync("resume", "-c", str(synced.config)).stdout
