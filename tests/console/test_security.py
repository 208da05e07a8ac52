"""Sessions, brute force, XSS, open redirects, SQL in the search box, cookies, binding."""

from __future__ import annotations

import logging
from pathlib import Path
from urllib.parse import quote

import pytest
from click.testing import CliRunner

from sync.cli import cli
from sync.config import load_config
from sync.engine.build import open_store
from tests.console.stage import PASSWORD, XSS_NAME, Served, Stage, serve


def test_a_login_always_gets_a_new_session_token_so_a_planted_one_is_useless(console: Served) -> None:
    attacker = console.session("viewer1")
    planted = attacker.cookies["crmsync_session"]
    victim = console.session()
    victim.cookies.set("crmsync_session", planted, domain="127.0.0.1", path="/")
    r = victim.post(
        f"{console.url}/login", data={"username": "approver1", "password": PASSWORD}, allow_redirects=False
    )
    assert r.status_code == 303
    assert victim.cookies["crmsync_session"] != planted
    # the planted session ended with the login; the attacker holds nothing of the approver's
    assert attacker.get(f"{console.url}/api/me").status_code == 401


def test_session_cookie_is_httponly_samesite_strict_and_not_secure_on_plain_loopback(console: Served) -> None:
    r = console.session().post(
        f"{console.url}/login", data={"username": "viewer1", "password": PASSWORD}, allow_redirects=False
    )
    cookie = r.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Secure" not in cookie


def test_behind_a_tls_proxy_the_cookie_is_secure(stage: Stage) -> None:
    with serve(stage.config, behind_proxy=True) as served:
        r = served.session().post(
            f"{served.url}/login", data={"username": "viewer1", "password": PASSWORD}, allow_redirects=False
        )
    assert "Secure" in r.headers["set-cookie"]


def test_logout_ends_the_session_on_the_server(console: Served) -> None:
    session = console.session("viewer1")
    token = session.cookies["crmsync_session"]
    assert session.post(f"{console.url}/logout").status_code == 200
    replay = console.session()
    replay.cookies.set("crmsync_session", token, domain="127.0.0.1", path="/")
    assert replay.get(f"{console.url}/api/me").status_code == 401


def test_an_idle_session_ends(stage: Stage) -> None:
    with serve(stage.config, idle_timeout_minutes=1) as served:
        session = served.session("viewer1")
        with open_store(load_config(stage.config)) as store, store.transaction():
            store._execute("UPDATE console_sessions SET last_seen = '2026-01-01T00:00:00.000+00:00'")
        assert session.get(f"{served.url}/api/me").status_code == 401


def test_a_burst_of_wrong_passwords_locks_the_user_and_the_address_out(stage: Stage) -> None:
    with serve(stage.config, login_attempts=5, lockout_minutes=15) as served:
        s = served.session()
        codes = [
            s.post(f"{served.url}/login", data={"username": "admin1", "password": f"guess{n}"}).status_code
            for n in range(12)
        ]
        assert codes[:5] == [401] * 5 and set(codes[5:]) == {429}
        right = s.post(
            f"{served.url}/login", data={"username": "admin1", "password": PASSWORD}, allow_redirects=False
        )
        assert right.status_code == 429 and int(right.headers["retry-after"]) > 0
        assert "crmsync_session" not in right.cookies
        # the same address is locked out for every name meanwhile
        other = s.post(
            f"{served.url}/login", data={"username": "viewer1", "password": PASSWORD}, allow_redirects=False
        )
        assert other.status_code == 429


def test_a_wrong_password_and_an_unknown_user_get_the_same_answer(console: Served) -> None:
    a = console.session().post(
        f"{console.url}/login", data={"username": "viewer1", "password": "wrong-password"}
    )
    b = console.session().post(
        f"{console.url}/login", data={"username": "nobody", "password": "wrong-password"}
    )
    assert a.status_code == b.status_code == 401
    assert "wrong user name or password" in a.text and "wrong user name or password" in b.text


def test_a_customer_named_like_a_script_is_shown_as_text(console: Served) -> None:
    session = console.session("viewer1")
    voucher = session.get(
        f"{console.url}/vouchers/" + quote("payment_received:PaymentObj:pay000005", safe="")
    )
    listing = session.get(f"{console.url}/vouchers", params={"q": XSS_NAME})
    for page in (voucher, listing):
        assert page.status_code == 200
        assert XSS_NAME not in page.text and "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text
    assert "script-src 'self'" in voucher.headers["content-security-policy"]
    assert voucher.headers["x-frame-options"] == "DENY"


@pytest.mark.parametrize(
    "target",
    ["https://evil.example/", "//evil.example/x", "/\\evil.example", "javascript:alert(1)", "http:/x"],
)
def test_the_next_parameter_never_leaves_the_site(console: Served, target: str) -> None:
    r = console.session().post(
        f"{console.url}/login",
        data={"username": "viewer1", "password": PASSWORD, "next": target},
        allow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"] == "/"


def test_the_next_parameter_keeps_a_local_page(console: Served) -> None:
    r = console.session().post(
        f"{console.url}/login",
        data={"username": "viewer1", "password": PASSWORD, "next": "/vouchers?status=posted"},
        allow_redirects=False,
    )
    assert r.headers["location"] == "/vouchers?status=posted"


@pytest.mark.parametrize("q", ["' OR 1=1 --", "%", "pay%5", "pay_00005", '"; DROP TABLE outbox; --', "\\"])
def test_sql_in_the_search_box_is_only_text(stage: Stage, console: Served, q: str) -> None:
    session = console.session("viewer1")
    r = session.get(f"{console.url}/api/vouchers", params={"q": q})
    assert r.status_code == 200 and r.json()["total"] == 0
    assert len(stage.vouchers_json()) == session.get(f"{console.url}/api/vouchers").json()["total"] > 0


def test_passwords_never_reach_the_log(console: Served, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    console.session("viewer1")
    console.session().post(
        f"{console.url}/login", data={"username": "viewer1", "password": "not-the-password"}
    )
    assert "console login: viewer1" in caplog.text
    assert PASSWORD not in caplog.text and "not-the-password" not in caplog.text


def test_the_state_keeps_only_hashes_of_passwords_and_session_tokens(stage: Stage, console: Served) -> None:
    session = console.session("viewer1")
    token = session.cookies["crmsync_session"]
    raw = b"".join(p.read_bytes() for p in stage.root.glob("state.db*"))
    assert PASSWORD.encode() not in raw and token.encode() not in raw
    with open_store(load_config(stage.config), read_only=True) as store:
        assert store.console_user("viewer1").password_hash.startswith("$argon2id$")  # type: ignore[union-attr]


@pytest.mark.parametrize("host", ["0.0.0.0", "192.168.1.20", "crm.example.com"])
def test_serving_beyond_loopback_without_tls_is_refused(stage: Stage, host: str) -> None:
    result = CliRunner().invoke(cli, ["serve", "-c", str(stage.config), "--host", host])
    assert result.exit_code == 2
    assert "without TLS" in result.stderr and "console.behind_proxy" in result.stderr


def test_serving_with_a_missing_certificate_names_it(stage: Stage, tmp_path: Path) -> None:
    config = tmp_path / "tls.yaml"
    config.write_text(
        stage.config.read_text(encoding="utf-8")
        + f"console: {{host: 0.0.0.0, tls_cert: {tmp_path}/none.pem, tls_key: {tmp_path}/none.key}}\n",
        encoding="utf-8",
    )
    result = CliRunner().invoke(cli, ["serve", "-c", str(config)])
    assert result.exit_code == 2 and "console.tls_cert" in result.stderr and "none.pem" in result.stderr
