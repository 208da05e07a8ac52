"""Redaction at the edges: log records (message, arguments, tracebacks), inline secrets in a
connector section, and ``crmsync check``'s warning about secrets others can read."""

from __future__ import annotations

import io
import logging
import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from connectors.kingdee.factory import Config as KingdeeConfig
from sync.cli import cli
from sync.secrets import RedactingFilter, redact, register_model_secrets, register_secret

SECRET = "kdPwd-Lr9WbN4kTz8Hc3Vd-上海"


def _logger() -> tuple[logging.Logger, io.StringIO]:
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
    handler.addFilter(RedactingFilter())
    log = logging.getLogger(f"test.redaction.{id(out)}")
    log.handlers[:] = [handler]
    log.propagate = False
    return log, out


def test_a_secret_in_a_log_argument_is_masked() -> None:
    register_secret(SECRET)
    log, out = _logger()
    log.warning("login refused for %s with %s", "webapi", SECRET)
    assert SECRET not in out.getvalue() and "********" in out.getvalue()


def test_a_secret_in_a_logged_traceback_is_masked() -> None:
    register_secret(SECRET)
    log, out = _logger()
    try:
        raise RuntimeError(f"server said: bad password {SECRET}")
    except RuntimeError:
        log.exception("posting failed")
    text = out.getvalue()
    assert "Traceback" in text and "bad password" in text and SECRET not in text


def test_inline_secrets_of_a_connector_section_are_registered() -> None:
    inline = "kdInline-9c1d4e7f3b8e2f9a6"
    config = KingdeeConfig.model_validate(
        {
            "type": "kingdee",
            "base_url": "https://erp.example.cn/k3cloud/",
            "acct_id": "65a1b2c3d4e5f6",
            "username": "webapi",
            "app_id": "224466_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
            "app_secret": inline,
            "account_book": "001",
        }
    )
    assert redact(f"x {inline} y") == f"x {inline} y" or inline not in redact(inline)
    register_model_secrets(config)
    assert inline not in redact(f"refused: {inline}") and "********" in redact(inline)
    assert inline not in repr(config) and inline not in config.model_dump_json()


def _config(tmp: Path, secret_line: str) -> Path:
    path = tmp / "config.yaml"
    path.write_text(
        f"""
state: {{url: "sqlite:///state.db"}}
sources:
  crm: {{type: files, path: data}}
destination:
  type: kingdee
  base_url: http://127.0.0.1:9/k3cloud/
  acct_id: 65a1b2c3d4e5f6
  username: webapi
  app_id: 224466_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA
{secret_line}
  account_book: "001"
  timeout_seconds: 0.5
mappings: [{Path(__file__).resolve().parents[2] / "mappings/fxiaoke-kingdee/payment_received.yaml"}]
""",
        encoding="utf-8",
    )
    (tmp / "data").mkdir(exist_ok=True)
    return path


def _check(config: Path) -> str:
    res = CliRunner(env={"KD_SECRET": "kdFromEnv-1234567890abcdef"}).invoke(
        cli, ["check", "-c", str(config), "--sample", "0"], catch_exceptions=False
    )
    return res.stdout + res.stderr


@pytest.mark.skipif(os.name != "posix", reason="file modes are POSIX")
def test_check_warns_when_a_readable_config_holds_an_inline_secret(tmp_path: Path) -> None:
    config = _config(tmp_path, "  app_secret: kdInline-0123456789abcdef")
    config.chmod(0o644)
    out = _check(config)
    assert "readable by other users (mode 0644)" in out and "destination.app_secret (line 11)" in out
    assert "kdInline-0123456789abcdef" not in out
    config.chmod(0o600)
    assert "readable by other users" not in _check(config)


@pytest.mark.skipif(os.name != "posix", reason="file modes are POSIX")
def test_check_is_quiet_about_a_readable_config_whose_secrets_are_references(tmp_path: Path) -> None:
    config = _config(tmp_path, "  app_secret: ${KD_SECRET}")
    config.chmod(0o644)
    assert "readable by other users" not in _check(config)


def test_an_inline_postgresql_password_is_redacted_from_state_errors() -> None:
    from sync.errors import StateError
    from sync.state import open_state

    password = "pgPass-华东-7Qm2Lr9W"
    with pytest.raises(StateError) as caught:
        open_state(f"postgresql://crmsync:{password}@127.0.0.1:1/finance?schema=crmsync")
    assert password not in caught.value.render() and password not in redact(f"dsn password={password}")


def test_an_unexpected_error_is_one_scrubbed_line_not_a_traceback(tmp_path: Path) -> None:
    import sqlite3

    secret = "kdLeak-5e6f7a8b9c0d1e2f"
    register_secret(secret)
    config = _config(tmp_path, "  app_secret: ${KD_SECRET}")
    runner = CliRunner(env={"KD_SECRET": "kdFromEnv-1234567890abcdef", "CRMSYNC_DEBUG": ""})
    assert runner.invoke(cli, ["status", "-c", str(config)], catch_exceptions=False).exit_code == 0
    with sqlite3.connect(tmp_path / "state.db") as db:  # a damaged row crmsync does not expect
        db.execute(
            "INSERT INTO runs (started, status, counts) VALUES ('2026-11-28', 'done', ?)", (f"{{{secret}",)
        )
    res = runner.invoke(cli, ["status", "-c", str(config)], catch_exceptions=False)
    assert res.exit_code == 1 and "internal error" in res.stderr
    assert "Traceback" not in res.stderr and secret not in res.stdout + res.stderr


@pytest.mark.skipif(os.name != "posix", reason="file modes are POSIX")
def test_check_names_an_inline_webhook_secret_and_a_readable_secrets_file(tmp_path: Path) -> None:
    config = _config(tmp_path, "  app_secret: ${KD_SECRET}")
    config.write_text(
        config.read_text(encoding="utf-8")
        + "secrets_file: secrets.env\n"
        + "reminders:\n  channels:\n    - {type: webhook, name: finance, url: 'https://example.cn/hook',"
        + " secret: whSecret-0123456789abcdef}\n",
        encoding="utf-8",
    )
    (tmp_path / "secrets.env").write_text("KD_SECRET=kdFromFile-1234567890abcdef\n", encoding="utf-8")
    (tmp_path / "secrets.env").chmod(0o640)
    config.chmod(0o604)
    out = _check(config)
    assert "reminders.channels.0.secret (line 18)" in out and "mode 0604" in out
    assert "secrets file" in out and "mode 0640" in out and "whSecret-0123456789abcdef" not in out
