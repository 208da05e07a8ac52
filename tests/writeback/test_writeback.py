"""Write-back of ERP numbers to the CRM, against the fake Fxiaoke (which records every update)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from connectors.ledger.queries import list_vouchers
from sync.cli import cli
from sync.config import load_config
from sync.engine.build import open_store
from sync.orchestration import sync_once
from sync.writeback import after_posting
from tests.fakes.fxiaoke import FakeFxiaoke

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def tenant(tmp_path: Path) -> Iterator[tuple[FakeFxiaoke, Path]]:
    with FakeFxiaoke(records={"AccountObj": 5, "SalesOrderObj": 8, "PaymentObj": 8}) as fake:
        source = {"type": "fxiaoke", **fake.source_config(streams=["SalesOrderObj", "PaymentObj"])}
        config: dict[str, Any] = {
            "state": {"url": "sqlite:///.crmsync/state.db"},
            "sources": {"crm": source},
            "destination": {"type": "ledger", "path": ".crmsync/ledger.db"},
            "mappings": [
                f"{REPO}/mappings/fxiaoke-kingdee/payment_received.yaml",
                f"{REPO}/mappings/fxiaoke-kingdee/sales_order_confirmed.yaml",
            ],
            "writeback": {
                "objects": {
                    "PaymentObj": {"number": "erp_voucher_no__c", "status": "erp_status__c"},
                    "SalesOrderObj": {"number": "field_4xWXT__c"},
                },
                "max_attempts": 2,
            },
        }
        path = tmp_path / "config.yaml"
        path.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
        yield fake, path


def _sync(path: Path) -> None:
    """`crmsync sync`: posts, then writes back (the engine's hook)."""
    sync_once(load_config(path))


def _writeback(path: Path) -> Any:
    """Only the write-back pass, as the hook runs it; returns its result."""
    config = load_config(path)
    store = open_store(config)
    try:
        return after_posting(config, store)
    finally:
        store.close()


def test_erp_numbers_are_written_to_the_configured_fields_with_flows_off(
    tenant: tuple[FakeFxiaoke, Path],
) -> None:
    fake, path = tenant
    _sync(path)
    ledger = {
        (v.source_stream, v.source_id): v.number
        for v in list_vouchers(path.parent / ".crmsync" / "ledger.db")
    }
    accepted = [u for u in fake.updates if u["accepted"]]
    assert len(accepted) == len(ledger) > 0
    for update in accepted:
        assert update["triggerWorkFlow"] is False and update["triggerApprovalFlow"] is False
        number = ledger[(update["object"], update["id"])]
        if update["object"] == "PaymentObj":
            assert update["fields"] == {"erp_voucher_no__c": number, "erp_status__c": "已过账"}
        else:
            assert update["fields"] == {"field_4xWXT__c": number}
        record = fake.get(update["object"], update["id"])
        assert all(record[k] == v for k, v in update["fields"].items())


def test_a_second_run_writes_nothing_again(tenant: tuple[FakeFxiaoke, Path]) -> None:
    fake, path = tenant
    _sync(path)
    before = len(fake.updates)
    _sync(path)  # the write-back edits bumped last_modified_time: records are read again
    assert len(fake.updates) == before
    again = _writeback(path)
    assert again.written == 0 and again.retry == 0 and again.refused == []


def test_a_locked_record_is_reported_and_not_retried_forever(tenant: tuple[FakeFxiaoke, Path]) -> None:
    fake, path = tenant
    locked = fake.ids("PaymentObj")[0]
    fake.lock("PaymentObj", locked)
    _sync(path)  # attempt 1: refused, the others written
    assert [u["accepted"] for u in fake.updates if u["id"] == locked] == [False]
    assert len([u for u in fake.updates if u["accepted"]]) > 0
    second = _writeback(path)  # attempt 2 of max_attempts 2: reported, then given up
    assert any(locked in r and "32000" in r for r in second.refused), second.refused
    assert second.gave_up == 1
    calls = [u for u in fake.updates if u["id"] == locked]
    third = _writeback(path)
    assert third.refused == [] and third.written == 0
    assert [u for u in fake.updates if u["id"] == locked] == calls  # no further calls
    # and finance sees it in the voucher report, with the CRM's reason
    report = CliRunner().invoke(cli, ["report", "vouchers", "-c", str(path), "--format", "json", "-o", "-"])
    rows = json.loads(report.stdout[report.stdout.index("{") :])["tables"]["failures"]["rows"]
    (row,) = [r for r in rows if r["kind"].startswith("回写失败")]
    assert row["record_id"] == locked and "已放弃" in row["reason"] and "32000" in row["reason"]


def test_an_unreachable_crm_never_fails_the_run(tenant: tuple[FakeFxiaoke, Path]) -> None:
    fake, path = tenant
    _sync(path)
    (path.parent / ".crmsync" / "writeback.db").unlink()  # everything is due again
    fake.close()
    result = _writeback(path)
    assert result.written == 0 and result.retry == 1 and result.stopped and result.deferred > 0


def test_crmsync_sync_writes_back_after_posting(tenant: tuple[FakeFxiaoke, Path]) -> None:
    fake, path = tenant
    result = CliRunner().invoke(cli, ["sync", "-c", str(path)])
    assert result.exit_code == 0, result.output
    ledger = list_vouchers(path.parent / ".crmsync" / "ledger.db")
    assert len([u for u in fake.updates if u["accepted"]]) == len(ledger) > 0


def test_only_what_changed_since_the_last_pass_is_read(tenant: tuple[FakeFxiaoke, Path]) -> None:
    from sync.state.writeback_progress import Progress

    _fake, path = tenant
    _sync(path)
    progress = Progress(path.parent / ".crmsync" / "writeback.db")
    try:
        watermark = progress.get_meta("outbox_updated")
    finally:
        progress.close()
    config = load_config(path)
    store = open_store(config)
    try:
        newest = max(r.updated for r in store.list_vouchers())
    finally:
        store.close()
    assert watermark == newest


def test_five_runs_with_the_crm_down_give_up_nothing_and_every_record_is_written_once_after(
    tenant: tuple[FakeFxiaoke, Path],
) -> None:
    from tests.fakes.fxiaoke import UPDATE_PATH

    fake, path = tenant
    outage = fake.inject("http_503", path=UPDATE_PATH, times=10_000)
    _sync(path)
    for _ in range(5):  # max_attempts is 2: an outage must not use them up
        down = _writeback(path)
        assert down.written == 0 and down.gave_up == 0 and down.stopped
    outage.times = 0
    back = _writeback(path)
    assert back.gave_up == 0 and back.stopped == "" and back.retry == 0
    accepted = [(u["object"], u["id"]) for u in fake.updates if u["accepted"]]
    ledger = list_vouchers(path.parent / ".crmsync" / "ledger.db")
    assert len(accepted) == len(set(accepted)) == len(ledger) > 0  # each record once


def test_a_given_up_write_back_is_shown_and_retry_queues_it_again(tenant: tuple[FakeFxiaoke, Path]) -> None:
    fake, path = tenant
    locked = fake.ids("PaymentObj")[0]
    fake.lock("PaymentObj", locked)
    _sync(path)
    _writeback(path)  # attempt 2 of 2: given up
    runner = CliRunner()
    status = json.loads(runner.invoke(cli, ["status", "-c", str(path), "--format", "json"]).stdout)
    assert status["writeback"]["gave_up"] == 1 and status["writeback"]["done"] > 0
    failures = runner.invoke(cli, ["failures", "-c", str(path), "--format", "json"])
    assert failures.exit_code == 1
    (entry,) = json.loads(failures.stdout)["writeback"]
    assert (entry["record_id"], entry["state"], entry["attempts"]) == (locked, "gave_up", 2)
    assert "32000" in entry["last_error"]

    fake.unlock("PaymentObj", locked)
    retried = runner.invoke(cli, ["retry", "-c", str(path), "--all", "--no-post", "--format", "json"])
    assert json.loads(retried.stdout)["writeback_requeued"] == 1
    assert _writeback(path).written == 1
    assert [u["accepted"] for u in fake.updates if u["id"] == locked][-1] is True
    after = runner.invoke(cli, ["failures", "-c", str(path), "--format", "json"])
    assert json.loads(after.stdout)["writeback"] == [] and after.exit_code == 0
