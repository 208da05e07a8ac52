"""The buttons' actions through the API: the CLI's own functions, audited under the console user."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest

from sync.config import load_config
from sync.engine.build import open_store
from sync.state import audit
from tests.console.stage import Served, Stage, build_stage, serve
from tests.engine.tenant import payment, write_jsonl


@pytest.fixture
def fresh(tmp_path: Path) -> Iterator[tuple[Stage, Served]]:
    stage = build_stage(tmp_path / "t", f"sqlite:///{tmp_path / 't' / 'state.db'}")
    with serve(stage.config) as served:
        yield stage, served


def _audit(stage: Stage, action: str) -> list[audit.AuditEntry]:
    with open_store(load_config(stage.config), read_only=True) as store:
        return [e for e in audit.entries(store) if e.action == action]


def _statuses(stage: Stage) -> dict[str, str]:
    return {v["external_ref"]: v["status"] for v in stage.vouchers_json()}


def test_an_approver_approves_one_voucher_and_the_next_sync_posts_it(fresh: tuple[Stage, Served]) -> None:
    stage, console = fresh
    waiting = [ref for ref, s in _statuses(stage).items() if s == "awaiting_approval"]
    r = console.session("approver1").post(f"{console.url}/api/vouchers/{quote(waiting[0], safe='')}/approve")
    assert r.status_code == 200 and r.json()["approved"] == [waiting[0]]
    assert _statuses(stage)[waiting[0]] == "pending" and _statuses(stage)[waiting[1]] == "awaiting_approval"
    entry = _audit(stage, "approve")[-1]
    assert entry.who == "approver1" and entry.subject == waiting[0]
    stage.run("sync")
    assert _statuses(stage)[waiting[0]] == "posted"


def test_approve_by_period_and_mapping_takes_every_waiting_voucher_of_them(
    fresh: tuple[Stage, Served],
) -> None:
    stage, console = fresh
    r = console.session("approver1").post(
        f"{console.url}/api/approve", json={"period": "2026-11", "mapping": "payment_received"}
    )
    assert r.status_code == 200 and len(r.json()["approved"]) == 2
    assert "awaiting_approval" not in _statuses(stage).values()


def test_a_page_form_approves_the_ticked_vouchers_and_comes_back_with_a_notice(
    fresh: tuple[Stage, Served],
) -> None:
    stage, console = fresh
    session = console.session("approver1")
    token = session.headers.pop("X-CSRF-Token")
    waiting = [ref for ref, s in _statuses(stage).items() if s == "awaiting_approval"]
    r = session.post(
        f"{console.url}/api/approve",
        data={"csrf_token": token, "next": "/approvals", "keys": waiting},
        allow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"] == "/approvals"
    page = session.get(f"{console.url}/approvals")
    assert "approved 2" in page.text
    assert "awaiting_approval" not in _statuses(stage).values()


def test_an_operator_pauses_and_resumes_posting_as_crmsync_status_shows(fresh: tuple[Stage, Served]) -> None:
    stage, console = fresh
    session = console.session("operator1")
    assert session.post(f"{console.url}/api/pause", json={"reason": "月末结账"}).status_code == 200
    status = json.loads(stage.run("status", "--format", "json").stdout)
    assert status["paused"] is True
    assert session.post(f"{console.url}/api/resume").status_code == 200
    assert json.loads(stage.run("status", "--format", "json").stdout)["paused"] is False
    assert [(e.who, e.detail.get("reason")) for e in _audit(stage, "pause")] == [("operator1", "月末结账")]
    assert [e.who for e in _audit(stage, "resume")] == ["operator1"]


def test_dismiss_ends_a_quarantine_entry_with_who_and_why(fresh: tuple[Stage, Served]) -> None:
    stage, console = fresh
    entry_id = json.loads(stage.run("failures", "--format", "json").stdout)["quarantined"][0]["id"]
    session = console.session("operator1")
    assert (
        session.post(f"{console.url}/api/failures/{entry_id}/dismiss", json={"reason": ""}).status_code == 400
    )
    r = session.post(f"{console.url}/api/failures/{entry_id}/dismiss", json={"reason": "测试数据，无需入账"})
    assert r.status_code == 200 and r.json()["dismissed"] == [entry_id]
    assert json.loads(stage.run("failures", "--format", "json").stdout)["quarantined"] == []
    entry = _audit(stage, "dismiss")[-1]
    assert entry.who == "operator1" and entry.detail["reason"] == "测试数据，无需入账"


def test_retry_re_maps_a_fixed_quarantined_record(fresh: tuple[Stage, Served]) -> None:
    _, console = fresh
    session = console.session("operator1")
    still = session.post(f"{console.url}/api/retry", json={"all": True})
    assert still.status_code == 200 and still.json()["still_quarantined"] == 1  # the amount is still missing
    assert session.post(f"{console.url}/api/retry", json={}).status_code == 400  # says what to name


def test_retry_while_a_sync_holds_the_run_lock_is_409_and_changes_nothing(
    fresh: tuple[Stage, Served],
) -> None:
    stage, console = fresh
    with open_store(load_config(stage.config)) as store, store.locked(0):
        r = console.session("operator1").post(f"{console.url}/api/retry", json={"all": True})
    assert r.status_code == 409 and "lock" in r.json()["error"]["message"].lower()


def test_a_voucher_synced_while_the_console_runs_is_listed_at_once(fresh: tuple[Stage, Served]) -> None:
    stage, console = fresh
    session = console.session("viewer1")
    before = session.get(f"{console.url}/api/vouchers").json()["total"]
    records = [json.loads(line) for line in (stage.data / "PaymentObj.jsonl").read_text().splitlines()]
    write_jsonl(stage.data / "PaymentObj.jsonl", [*records, payment(40, "777.77", day=25)])
    stage.run("sync")
    found = session.get(f"{console.url}/api/vouchers", params={"q": "pay000040"}).json()
    assert found["total"] == 1 and found["items"][0]["total"] == "777.77"
    assert session.get(f"{console.url}/api/vouchers").json()["total"] == before + 1


def test_an_admin_adds_and_removes_a_user_but_not_themself(fresh: tuple[Stage, Served]) -> None:
    stage, console = fresh
    admin = console.session("admin1")
    r = admin.post(
        f"{console.url}/api/users",
        json={"name": "李出纳", "role": "viewer", "password": "十个字符以上的密码abc"},
    )
    assert r.status_code == 200
    assert (
        console.session("李出纳", "十个字符以上的密码abc").get(f"{console.url}/api/me").json()["role"]
        == "viewer"
    )
    assert admin.post(f"{console.url}/api/users/{quote('李出纳')}/remove").status_code == 200
    assert admin.post(f"{console.url}/api/users/admin1/remove").status_code == 400
    assert [e.detail["op"] for e in _audit(stage, "users") if e.subject == "李出纳"] == ["add", "remove"]


def test_the_console_answers_while_a_sync_posts_and_then_lists_everything(tmp_path: Path) -> None:
    import subprocess
    import time

    from tests.e2e.support import CRMSYNC
    from tests.engine.tenant import make_setup, payments

    setup = make_setup(tmp_path, f"sqlite:///{tmp_path / 'state.db'}", payments(1500), batch_size=50)
    from tests.console.stage import Stage, add_user

    add_user(Stage(tmp_path, setup.config, setup.data), "viewer1", "viewer")
    with serve(setup.config) as console:
        session = console.session("viewer1")
        run = subprocess.Popen([*CRMSYNC, "sync", "-c", str(setup.config)], stdout=subprocess.DEVNULL)
        answers = []
        while run.poll() is None:
            answers.append(session.get(f"{console.url}/api/vouchers", params={"page_size": "5"}).status_code)
            time.sleep(0.05)
        assert run.wait() == 0 and answers and set(answers) == {200}
        assert session.get(f"{console.url}/api/vouchers").json()["total"] == 1500


def test_a_voucher_committed_below_the_facts_head_is_found_by_the_sweep(fresh: tuple[Stage, Served]) -> None:
    """PostgreSQL hands out seqs before commit: a voucher may become visible below vouchers that
    already have facts. The request-time fill looks only above the head; the sweep looks back."""
    from sync.console import facts

    stage, console = fresh
    console.session("viewer1").get(f"{console.url}/api/vouchers")  # facts for everything
    with open_store(load_config(stage.config)) as store:
        late = store.list_vouchers()[-1]  # the oldest voucher: far below the head
        with store.transaction():
            store._execute("DELETE FROM voucher_facts WHERE seq = ?", (late.seq,))
        assert facts.catch_up(store, "customer", look_back=0) == 0
        assert facts.catch_up(store, "customer") == 1
        assert store.voucher_facts(late.seq) is not None
