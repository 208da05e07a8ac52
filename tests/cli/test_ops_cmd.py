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


def test_a_dismissed_quarantine_entry_ends_and_stays_in_the_audit_trail(
    tmp_path: Path, state_url: str
) -> None:
    records = payments(3)
    records[1] = {**records[1], "payment_amount": "12.3.4"}
    setup = make_setup(tmp_path, state_url, records)
    assert crmsync("sync", "-c", str(setup.config)).exit_code == 1
    listed = crmsync("failures", "-c", str(setup.config), "--format", "json")
    assert listed.exit_code == 1  # something is listed
    [entry] = listed.summary["quarantined"]
    res = crmsync(
        "failures",
        "dismiss",
        "-c",
        str(setup.config),
        str(entry["id"]),
        "--reason",
        "测试数据，CRM 已删除",
        "--by",
        "王会计",
    )
    assert res.exit_code == 0 and "dismissed 1 quarantine entries" in res.stdout
    after = crmsync("failures", "-c", str(setup.config), "--format", "json")
    assert after.exit_code == 0 and after.summary["quarantined"] == []
    shown = crmsync("failures", "-c", str(setup.config), "--all", "--format", "json").summary["dismissed"]
    assert [(d["id"], d["status"], d["note"]) for d in shown] == [
        (entry["id"], "dismissed", "王会计: 测试数据，CRM 已删除")
    ]
    trail = crmsync("audit", "export", "-c", str(setup.config), "--format", "json").summary
    assert any(e["action"] == "dismiss" and e["detail"]["dismissed_by"] == "王会计" for e in trail)
    assert (
        crmsync("retry", "-c", str(setup.config), "--all", "--no-post").exit_code == 0
    )  # nothing left to retry


def test_dismiss_refuses_an_unknown_id_and_an_empty_reason(synced: Setup) -> None:
    res = crmsync("failures", "dismiss", "-c", str(synced.config), "999", "--reason", "x")
    assert res.exit_code == 2 and "no quarantine entry 999" in res.stderr
    res = crmsync("failures", "dismiss", "-c", str(synced.config), "999", "--reason", " ")
    assert res.exit_code == 2 and "--reason is empty" in res.stderr
