"""Every POST route × every role, with no session and with a missing or wrong CSRF token.

A refused request changes nothing: the snapshot (voucher statuses, quarantine, pause flag,
users, the audit trail's head) is the same before and after. A permitted one is sent a
body that does no harm (nothing to approve, an unknown quarantine id …) and must get past
the guards, neither 401 nor 403.
"""

from __future__ import annotations

from typing import Any

import pytest

from sync.config import load_config
from sync.engine.build import open_store
from sync.state import audit
from tests.console.stage import ROLES, Served, Stage

#: (path, the role it needs at least, a harmless body)
ROUTES: list[tuple[str, str, dict[str, Any]]] = [
    ("/api/vouchers/no-such-voucher/approve", "approver", {}),
    ("/api/approve", "approver", {"keys": ["no-such-voucher"]}),
    ("/api/retry", "operator", {"keys": ["no-such-record"]}),
    ("/api/failures/999999/dismiss", "operator", {"reason": "测试"}),
    ("/api/pause", "operator", {"reason": "权限测试"}),
    ("/api/resume", "operator", {}),
    ("/api/users", "admin", {"name": "x", "role": "viewer", "password": "short"}),
    ("/api/users/nobody/remove", "admin", {}),
]
RANK = {role: n for n, role in enumerate(ROLES)}


def snapshot(stage: Stage) -> dict[str, Any]:
    with open_store(load_config(stage.config), read_only=True) as store:
        return {
            "vouchers": sorted((v.external_ref, v.status) for v in store.list_vouchers()),
            "quarantine": sorted((q.id, q.status) for q in store.quarantine_entries(("open", "dismissed"))),
            "paused": store.get_flag("paused"),
            "users": [(u.name, u.role, u.password_hash) for u in store.console_users()],
            "audit": audit.head(store),
        }


@pytest.mark.parametrize(("path", "needs", "body"), ROUTES, ids=[r[0] for r in ROUTES])
@pytest.mark.parametrize("role", ROLES)
def test_a_role_may_post_what_its_rank_allows_and_nothing_else(
    stage: Stage, console: Served, role: str, path: str, needs: str, body: dict[str, Any]
) -> None:
    session = console.session(f"{role}1")
    before = snapshot(stage)
    r = session.post(f"{console.url}{path}", json=body)
    if RANK[role] >= RANK[needs]:
        assert r.status_code not in (401, 403), r.text
        session.post(f"{console.url}/api/resume", json={})  # a permitted pause is undone
    else:
        assert r.status_code == 403, r.text
        assert "may not" in r.json()["error"]["message"]
        assert snapshot(stage) == before


@pytest.mark.parametrize(("path", "needs", "body"), ROUTES, ids=[r[0] for r in ROUTES])
def test_without_a_session_every_post_is_401_and_changes_nothing(
    stage: Stage, console: Served, path: str, needs: str, body: dict[str, Any]
) -> None:
    before = snapshot(stage)
    r = console.session().post(f"{console.url}{path}", json=body)
    assert r.status_code == 401 and snapshot(stage) == before


@pytest.mark.parametrize("token", [None, "", "wrong-token"], ids=["missing", "empty", "wrong"])
@pytest.mark.parametrize(("path", "needs", "body"), ROUTES, ids=[r[0] for r in ROUTES])
def test_an_admin_without_the_right_csrf_token_is_403_and_changes_nothing(
    stage: Stage, console: Served, path: str, needs: str, body: dict[str, Any], token: str | None
) -> None:
    session = console.session("admin1")
    del session.headers["X-CSRF-Token"]
    if token is not None:
        session.headers["X-CSRF-Token"] = token
    before = snapshot(stage)
    r = session.post(f"{console.url}{path}", json=body)
    assert r.status_code == 403 and "CSRF" in r.json()["error"]["message"]
    assert snapshot(stage) == before


def test_another_session_s_csrf_token_does_not_pass(stage: Stage, console: Served) -> None:
    mine, theirs = console.session("operator1"), console.session("operator1")
    mine.headers["X-CSRF-Token"] = theirs.headers["X-CSRF-Token"]
    before = snapshot(stage)
    assert mine.post(f"{console.url}/api/pause", json={"reason": "x"}).status_code == 403
    assert snapshot(stage) == before


def test_a_post_from_another_origin_is_refused_even_with_the_token(stage: Stage, console: Served) -> None:
    session = console.session("operator1")
    before = snapshot(stage)
    r = session.post(
        f"{console.url}/api/pause", json={"reason": "x"}, headers={"Origin": "https://evil.example"}
    )
    assert r.status_code == 403 and snapshot(stage) == before


def test_pages_need_a_login_and_the_users_page_needs_an_admin(console: Served) -> None:
    anonymous = console.session()
    r = anonymous.get(f"{console.url}/vouchers", allow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/login?next=")
    assert anonymous.get(f"{console.url}/api/vouchers").status_code == 401
    assert console.session("operator1").get(f"{console.url}/users").status_code == 403
    assert console.session("operator1").get(f"{console.url}/api/users").status_code == 403
    assert console.session("admin1").get(f"{console.url}/api/users").status_code == 200
