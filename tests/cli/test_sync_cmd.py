"""``crmsync sync``, ``check`` and ``schedule`` as a user meets them: exit codes and messages."""

from __future__ import annotations

import os
import signal
import threading
from pathlib import Path

import pytest

from sync.state import open_state
from tests.engine.tenant import crmsync, make_setup, payments, refs_in_ledger


def test_sync_help_documents_the_count_rule_and_exit_codes() -> None:
    res = crmsync("sync", "--help")
    assert res.exit_code == 0
    text = " ".join(res.stdout.split())
    assert "read = posted + already posted + skipped + quarantined + failed" in text
    for code in (
        "0 all done",
        "1 some records failed",
        "2 configuration",
        "3 destination unavailable",
        "4 another",
    ):
        assert code in text


def test_a_corrupt_state_file_exits_2_with_the_path_and_no_traceback(tmp_path: Path) -> None:
    state = tmp_path / "state.db"
    setup = make_setup(tmp_path, f"sqlite:///{state}", payments(2))
    state.write_bytes(os.urandom(8192))
    for command in ("sync", "status", "vouchers", "failures"):
        res = crmsync(command, "-c", str(setup.config))
        assert res.exit_code == 2, (command, res.stdout, res.stderr)
        assert str(state) in res.stderr and "Traceback" not in res.stderr + res.stdout
    assert not setup.ledger.exists()  # nothing half-written


def test_an_unknown_destination_type_exits_2_with_a_suggestion(tmp_path: Path) -> None:
    setup = make_setup(tmp_path, f"sqlite:///{tmp_path / 's.db'}", payments(1))
    setup.config.write_text(
        setup.config.read_text(encoding="utf-8").replace('"type": "ledger"', '"type": "ledgr"'),
        encoding="utf-8",
    )
    res = crmsync("sync", "-c", str(setup.config))
    assert res.exit_code == 2 and "did you mean 'ledger'?" in res.stderr
    assert "config.yaml:4" in res.stderr  # the line of the destination section


def test_a_bad_destination_option_is_located_in_the_config(tmp_path: Path) -> None:
    setup = make_setup(tmp_path, f"sqlite:///{tmp_path / 's.db'}", payments(1))
    setup.config.write_text(
        setup.config.read_text(encoding="utf-8").replace('"batch_size": 10', '"batch_size": 0'),
        encoding="utf-8",
    )
    res = crmsync("sync", "-c", str(setup.config))
    assert res.exit_code == 2 and "destination.batch_size" in res.stderr


def test_json_summary_is_one_object_with_every_count(tmp_path: Path, state_url: str) -> None:
    setup = make_setup(tmp_path, state_url, payments(5))
    res = crmsync("sync", "-c", str(setup.config), "--format", "json")
    assert res.exit_code == 0
    for key in (
        "read",
        "mapped",
        "posted",
        "already_posted",
        "reversed",
        "skipped",
        "quarantined",
        "failed",
        "vouchers_posted",
        "exit_code",
        "run_id",
    ):
        assert key in res.summary
    assert res.summary["streams"] == {"crm.PaymentObj": 5}


def test_check_reports_the_destination_ready(tmp_path: Path) -> None:
    setup = make_setup(tmp_path, f"sqlite:///{tmp_path / 's.db'}", payments(3))
    res = crmsync("check", "-c", str(setup.config), "--format", "json")
    assert res.exit_code == 0, res.stderr
    assert res.summary["ok"] is True and res.summary["vouchers_checked"] == 3
    assert not (tmp_path / "s.db").exists()  # check reads sources but stores nothing


def test_check_exits_3_when_the_destination_cannot_be_reached(tmp_path: Path) -> None:
    setup = make_setup(tmp_path, f"sqlite:///{tmp_path / 's.db'}", payments(1))
    setup.ledger.mkdir()
    res = crmsync("check", "-c", str(setup.config), "--sample", "0")
    assert res.exit_code == 3 and "error:" in res.stderr


@pytest.fixture
def restore_signals() -> object:
    saved = {s: signal.getsignal(s) for s in (signal.SIGTERM, signal.SIGINT)}
    yield None
    for s, handler in saved.items():
        signal.signal(s, handler)


def test_schedule_runs_on_the_cron_and_a_failed_run_does_not_stop_it(
    tmp_path: Path, restore_signals: object
) -> None:
    url = f"sqlite:///{tmp_path / 's.db'}"
    setup = make_setup(tmp_path, url, payments(4), extra='schedule: "* * * * * *"')  # every second
    setup.ledger.mkdir()  # the first run finds the ERP down
    timer = threading.Timer(0.8, setup.ledger.rmdir)
    timer.start()
    res = crmsync("schedule", "-c", str(setup.config), "--now", "--max-runs", "3")
    timer.join()
    assert res.exit_code == 0, res.stderr
    assert "the schedule goes on" in res.stderr
    with open_state(url) as store:
        runs = store.last_runs(10)
    assert runs[-1].status == "unavailable" and len(runs) == 3
    assert len(refs_in_ledger(setup.ledger)) == 4


def test_schedule_stops_cleanly_on_sigterm(tmp_path: Path, restore_signals: object) -> None:
    setup = make_setup(tmp_path, f"sqlite:///{tmp_path / 's.db'}", payments(2), extra='schedule: "0 3 * * *"')
    timer = threading.Timer(0.5, os.kill, (os.getpid(), signal.SIGTERM))
    timer.start()
    res = crmsync("schedule", "-c", str(setup.config))
    timer.join()
    assert res.exit_code == 0 and "stopping" in res.stderr and "stopped after 0 runs" in res.stderr


def test_schedule_without_a_cron_expression_exits_2(tmp_path: Path) -> None:
    setup = make_setup(tmp_path, f"sqlite:///{tmp_path / 's.db'}", payments(1))
    res = crmsync("schedule", "-c", str(setup.config))
    assert res.exit_code == 2 and "schedule:" in res.stderr


def test_a_state_path_in_a_folder_that_does_not_exist_exits_2_and_creates_nothing(tmp_path: Path) -> None:
    missing = tmp_path / "nonexistent" / "dir"
    setup = make_setup(tmp_path / "t", f"sqlite:///{missing / 'state.db'}", payments(2))
    res = crmsync("sync", "-c", str(setup.config))
    assert res.exit_code == 2 and f"the folder {missing} of the state file does not exist" in res.stderr
    assert not missing.parent.exists() and not setup.ledger.exists()


def test_a_sync_that_creates_the_state_says_so_with_the_absolute_path(tmp_path: Path) -> None:
    state = tmp_path / "state.db"
    setup = make_setup(tmp_path, f"sqlite:///{state}", payments(2))
    first = crmsync("sync", "-c", str(setup.config))
    assert f"a new, empty state store was created at {state}" in first.stderr
    assert "new, empty state store" not in crmsync("sync", "-c", str(setup.config)).stderr


def _point_at(config: Path, ledger: Path) -> None:
    text = config.read_text(encoding="utf-8")
    config.write_text(text.replace(str(config.parent / "ledger.db"), str(ledger)), encoding="utf-8")


def test_a_state_used_with_another_destination_exits_2_naming_both_and_posts_nothing(
    tmp_path: Path, state_url: str
) -> None:
    setup = make_setup(tmp_path, state_url, payments(3))
    assert crmsync("sync", "-c", str(setup.config)).exit_code == 0
    status = crmsync("status", "-c", str(setup.config), "--format", "json").summary
    assert status["destination"] == {"type": "ledger", "where": str(setup.ledger)}
    other = tmp_path / "other-company" / "ledger.db"
    _point_at(setup.config, other)
    (setup.data / "PaymentObj.jsonl").write_text("", encoding="utf-8")  # nothing new to read either
    res = crmsync("sync", "-c", str(setup.config))
    assert res.exit_code == 2, res.stderr
    assert f"belongs to ledger at {setup.ledger}" in res.stderr and f"names ledger at {other}" in res.stderr
    assert "crmsync rebind" in res.stderr and "Traceback" not in res.stderr
    assert not other.exists()


def test_rebind_moves_the_state_on_purpose_and_the_audit_trail_keeps_both(
    tmp_path: Path, state_url: str
) -> None:
    setup = make_setup(tmp_path, state_url, payments(3))
    crmsync("sync", "-c", str(setup.config))
    moved = tmp_path / "moved" / "ledger.db"
    moved.parent.mkdir()
    setup.ledger.rename(moved)  # the same books, a new place
    _point_at(setup.config, moved)
    assert crmsync("rebind", "-c", str(setup.config), "--yes").exit_code == 0
    again = crmsync("sync", "-c", str(setup.config), "--format", "json")
    assert again.exit_code == 0 and again.summary["vouchers_posted"] == 0
    assert set(refs_in_ledger(moved).values()) == {1}
    log = crmsync("audit", "export", "-c", str(setup.config), "--format", "json").summary
    [entry] = [e for e in log if e["action"] == "rebind"]
    assert entry["detail"]["from"]["where"] == str(setup.ledger)
    assert entry["detail"]["to"]["where"] == str(moved)
