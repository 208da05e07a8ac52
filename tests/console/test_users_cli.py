"""``crmsync users add|list|remove|passwd``: the accounts of the web console."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from sync.cli import cli
from sync.config import load_config
from sync.engine.build import open_store
from sync.state import audit
from tests.console.stage import PASSWORD, serve


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(
        f'state: {{url: "sqlite:///{tmp_path / "state.db"}"}}\n'
        "sources: {crm: {type: files, path: data, streams: [PaymentObj]}}\n"
        f'destination: {{type: ledger, path: "{tmp_path / "ledger.db"}"}}\n'
        'mappings: ["mappings/*.yaml"]\n',
        encoding="utf-8",
    )
    return path


def users(config: Path, *args: str, password: str | None = None) -> Result:
    return CliRunner().invoke(
        cli, ["users", *args, "-c", str(config)], input=None if password is None else password + "\n"
    )


def test_a_user_is_added_with_the_password_from_stdin_and_listed_without_it(config: Path) -> None:
    added = users(config, "add", "张财务", "--role", "approver", password=PASSWORD)
    assert added.exit_code == 0 and "张财务" in added.stdout and PASSWORD not in added.output
    listed = json.loads(users(config, "list", "--format", "json").stdout)
    assert [(u["name"], u["role"]) for u in listed] == [("张财务", "approver")]
    assert "hash" not in json.dumps(listed) and "argon2" not in json.dumps(listed)


def test_a_short_password_is_refused_and_nothing_is_stored(config: Path) -> None:
    result = users(config, "add", "viewer", "--role", "viewer", password="short")
    assert result.exit_code == 2 and "shorter than 10" in result.stderr
    assert json.loads(users(config, "list", "--format", "json").stdout) == []


def test_an_unknown_role_is_refused_by_name(config: Path) -> None:
    result = users(config, "add", "x", "--role", "root", password=PASSWORD)
    assert result.exit_code == 2 and "root" in result.output


def test_a_taken_name_is_refused(config: Path) -> None:
    users(config, "add", "ops", "--role", "operator", password=PASSWORD)
    again = users(config, "add", "ops", "--role", "admin", password=PASSWORD)
    assert again.exit_code == 2 and "exists already" in again.stderr
    assert json.loads(users(config, "list", "--format", "json").stdout)[0]["role"] == "operator"


def test_no_password_on_stdin_is_a_clear_error(config: Path) -> None:
    result = users(config, "add", "ops", "--role", "operator", password="")
    assert result.exit_code == 2


def test_a_new_password_ends_the_user_s_sessions(config: Path) -> None:
    users(config, "add", "ops", "--role", "operator", password=PASSWORD)
    with serve(config) as served:
        session = served.session("ops")
        assert session.get(f"{served.url}/api/me").status_code == 200
        assert users(config, "passwd", "ops", password="另一个足够长的新密码啊").exit_code == 0
        assert session.get(f"{served.url}/api/me").status_code == 401
        assert served.session("ops", "另一个足够长的新密码啊").get(f"{served.url}/api/me").status_code == 200


def test_a_removed_user_is_logged_out_and_cannot_log_in(config: Path) -> None:
    users(config, "add", "ops", "--role", "operator", password=PASSWORD)
    with serve(config) as served:
        session = served.session("ops")
        assert users(config, "remove", "ops").exit_code == 0
        assert session.get(f"{served.url}/api/me").status_code == 401
        r = served.session().post(f"{served.url}/login", data={"username": "ops", "password": PASSWORD})
        assert r.status_code == 401
    assert users(config, "remove", "ops").exit_code == 2


def test_every_change_of_users_is_in_the_audit_trail(config: Path) -> None:
    users(config, "add", "ops", "--role", "operator", password=PASSWORD)
    users(config, "passwd", "ops", password="另一个足够长的新密码啊")
    users(config, "remove", "ops")
    with open_store(load_config(config), read_only=True) as store:
        entries = [e for e in audit.entries(store) if e.action == "users"]
    assert [(e.subject, e.detail["op"]) for e in entries] == [
        ("ops", "add"),
        ("ops", "passwd"),
        ("ops", "remove"),
    ]
    assert all(PASSWORD not in json.dumps(e.detail, ensure_ascii=False) for e in entries)
