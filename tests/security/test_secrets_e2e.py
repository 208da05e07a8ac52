"""No secret leaves crmsync: a full sync fake Fxiaoke -> fake Kingdee with debug logging, then
every operator command, and a scan of every output, log, report file and state-store row.

The secrets are distinctive values (so a hit cannot be a coincidence); the Fxiaoke ones come
from the environment, the Kingdee one from the ``secrets_file``. The fakes only answer when
given the right values, so the run proves the secrets were used, and the scan proves they
were never written anywhere.
"""

from __future__ import annotations

import csv
import json
import os
import sqlite3
import subprocess
import sys
import threading
import zipfile
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from sync.cli import cli
from tests.fakes.fxiaoke import OPEN_USER_ID, TOKEN_PATH, FakeFxiaoke
from tests.fakes.kingdee import FakeKingdee

REPO = Path(__file__).resolve().parents[2]
CRMSYNC = (
    [str(REPO / ".venv/bin/crmsync")]
    if (REPO / ".venv/bin/crmsync").exists()
    else [sys.executable, "-c", "from sync.cli import main; main()"]
)

FX_APP_SECRET = "fxAppSecret-7Qm2Lr9WbN4kTz8Hc3Vd"
FX_PERMANENT_CODE = "FXPERM-4F7A9C2E81B6D03F-华东"
KD_APP_SECRET = "kdAppSecret-3b8e2f9a6c1d4e7f-0Zx"
SECRETS = (FX_APP_SECRET, FX_PERMANENT_CODE, KD_APP_SECRET)
TLS_OFF = "TLS certificate verification is OFF"


def _config(tmp: Path, fx: FakeFxiaoke, kd: FakeKingdee, *, verify_tls: bool = True) -> Path:
    transport = "" if verify_tls else "\n    transport: {verify_tls: false}"
    (tmp / "secrets.env").write_text(f"# Kingdee\nKD_APP_SECRET={KD_APP_SECRET}\n", encoding="utf-8")
    path = tmp / "config.yaml"
    path.write_text(
        f"""
state: {{url: sqlite:///state.db}}
secrets_file: secrets.env
sources:
  crm:
    type: fxiaoke
    base_url: {fx.url}
    app_id: FSAID_131a2b3c
    app_secret: ${{FXIAOKE_APP_SECRET}}
    permanent_code: ${{FXIAOKE_PERMANENT_CODE}}
    open_user_id: {OPEN_USER_ID}
    start_date: "2026-01-01"
    page_size: 50
    requests_per_second: 500{transport}
destination:
  type: kingdee
  base_url: {kd.url}
  acct_id: {kd.acct_id}
  username: {kd.username}
  app_id: {kd.app_id}
  app_secret: ${{KD_APP_SECRET}}
  auth: signature
  account_book: "001"
  voucher_group: PRE001
  batch_size: 25
  timeout_seconds: 5{transport.replace("    ", "  ")}
mappings: [{REPO / "mappings/fxiaoke-kingdee/*.yaml"}]
reports: {{output: reports}}
""",
        encoding="utf-8",
    )
    return path


def _env() -> dict[str, str]:
    return {
        "FXIAOKE_APP_SECRET": FX_APP_SECRET,
        "FXIAOKE_PERMANENT_CODE": FX_PERMANENT_CODE,
        "CRMSYNC_DEBUG": "1",
        "CRMSYNC_RETRY_ATTEMPTS": "2",
        "CRMSYNC_RETRY_INITIAL_SECONDS": "0.01",
        "CRMSYNC_RETRY_MAX_SECONDS": "0.05",
        "PYTHONPATH": str(REPO),
    }


def _keep(logs: Path, name: str, stdout: str, stderr: str) -> None:
    logs.mkdir(exist_ok=True)
    (logs / f"{name}.stdout").write_text(stdout, encoding="utf-8")
    (logs / f"{name}.stderr").write_text(stderr, encoding="utf-8")


def _run(config: Path, logs: Path, name: str, *args: str) -> subprocess.CompletedProcess[str]:
    """``crmsync ARGS`` as a real process (its own logging set-up, nothing shared with the test)."""
    env = {**os.environ, **_env()}
    env.pop("KD_APP_SECRET", None)
    done = subprocess.run(
        [*CRMSYNC, *args, "-c", str(config)],
        capture_output=True,
        text=True,
        env=env,
        cwd=config.parent,
        timeout=120,
        check=False,
    )
    _keep(logs, name, done.stdout, done.stderr)
    return done


def _cli(config: Path, logs: Path, name: str, *args: str) -> Result:
    """``crmsync ARGS`` in this process (the read-only commands: no interpreter start-up each)."""
    res = CliRunner(env=_env()).invoke(cli, [*args, "-c", str(config)], catch_exceptions=False)
    _keep(logs, name, res.stdout, res.stderr)
    return res


def _texts(root: Path, skip: set[Path]) -> Iterator[tuple[str, str]]:
    """(where, text) of every file under root: zip members (xlsx) and SQLite rows expanded."""
    for path in sorted(p for p in root.rglob("*") if p.is_file() and p not in skip):
        data = path.read_bytes()
        yield str(path), data.decode("utf-8", "replace")
        if zipfile.is_zipfile(path):
            with zipfile.ZipFile(path) as z:
                for member in z.namelist():
                    yield f"{path}!{member}", z.read(member).decode("utf-8", "replace")
        if data.startswith(b"SQLite format 3"):
            with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
                yield f"{path} (dump)", "\n".join(db.iterdump())


def _hits(root: Path, skip: set[Path]) -> list[str]:
    return [
        f"{where}: {secret[:6]}…"
        for where, text in _texts(root, skip)
        for secret in SECRETS
        if secret in text
    ]


@pytest.fixture
def fakes() -> Iterator[tuple[FakeFxiaoke, FakeKingdee]]:
    customers = [
        row["erp_customer_code"]
        for row in csv.DictReader((REPO / "examples/lookups/customers.csv").open(encoding="utf-8"))
    ]
    with (
        FakeFxiaoke(
            records=0, rate_limit=None, app_secret=FX_APP_SECRET, permanent_code=FX_PERMANENT_CODE
        ) as fx,
        FakeKingdee(customers=customers, accounts={}, app_secret=KD_APP_SECRET) as kd,
    ):
        fx.load_jsonl(REPO / "examples" / "crm")
        yield fx, kd


def _open_accounts(config: Path, logs: Path, kd: FakeKingdee) -> None:
    out = _cli(config, logs, "preview", "preview", "--format", "json")
    vouchers = [json.loads(line) for line in out.stdout.splitlines() if line.startswith("{")]
    assert vouchers, out.stderr[-2000:]
    for v in vouchers:
        for ln in v["lines"]:
            kd.add_account(ln["account"], *(("FFLEX6",) if "customer" in ln["dims"] else ()))


def test_a_full_sync_and_every_command_leave_no_secret_anywhere(
    tmp_path: Path, fakes: tuple[FakeFxiaoke, FakeKingdee]
) -> None:
    fx, kd = fakes
    config, logs = _config(tmp_path, fx, kd), tmp_path / "logs"
    _open_accounts(config, logs, kd)
    fx.inject("token_expired", after=3)  # a re-login mid-read: the secrets travel again
    sync = _run(config, logs, "sync", "sync", "--format", "json")
    assert sync.returncode in (0, 1), sync.stderr[-3000:]
    assert json.loads(sync.stdout)["posted"] > 0 and len(kd.vouchers) > 0  # the secrets did work
    assert len(fx.calls(TOKEN_PATH)) >= 2 and " DEBUG " in sync.stderr  # debug logging was on
    fx.edit("PaymentObj", fx.records("PaymentObj")[0]["_id"], payment_amount="1.23")
    assert _cli(config, logs, "sync2", "sync").exit_code in (0, 1)
    for name, *args in (
        ("vouchers", "vouchers", "--format", "json"),
        ("failures", "failures", "--format", "json"),
        ("status", "status", "--format", "json"),
        ("audit", "audit", "export", "--format", "json"),
        ("check", "check", "--format", "json"),
        ("report-xlsx", "report", "vouchers"),
        ("report-json", "report", "vouchers", "--format", "json", "-o", "-"),
    ):
        res = _cli(config, logs, name, *args)
        assert res.exit_code in (0, 1), f"{name}: {res.stderr[-2000:]}"
    assert list((tmp_path / "reports").glob("*.xlsx")), "the report file was written"
    assert _hits(tmp_path, skip={tmp_path / "secrets.env"}) == []


class _EchoHandler(BaseHTTPRequestHandler):
    """A gateway that repeats the request it refuses in its error text (some really do)."""

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode("utf-8", "replace")
        answer = json.dumps(
            {"errorCode": 10006, "errorMessage": f"the parameter appSecret is illegal: {body}"},
            ensure_ascii=False,
        ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, *args: object) -> None:
        pass


def test_a_secret_echoed_back_in_an_error_is_redacted(
    tmp_path: Path, fakes: tuple[FakeFxiaoke, FakeKingdee]
) -> None:
    fx, kd = fakes
    server = ThreadingHTTPServer(("127.0.0.1", 0), _EchoHandler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        config, logs = _config(tmp_path, fx, kd), tmp_path / "logs"
        config.write_text(
            config.read_text(encoding="utf-8").replace(
                fx.url, f"http://127.0.0.1:{server.server_address[1]}"
            ),
            encoding="utf-8",
        )
        done = _cli(config, logs, "sync", "sync")
        preview = _cli(config, logs, "preview", "preview", "--format", "json")
    finally:
        server.shutdown()
        server.server_close()
    assert done.exit_code != 0 and "appSecret is illegal" in done.stderr + done.stdout, done.stderr[-2000:]
    assert preview.exit_code != 0 and "appSecret is illegal" in preview.stderr
    assert _hits(tmp_path, skip={tmp_path / "secrets.env"}) == []


def test_verify_tls_false_warns_on_every_run(tmp_path: Path, fakes: tuple[FakeFxiaoke, FakeKingdee]) -> None:
    fx, kd = fakes
    config, logs = _config(tmp_path, fx, kd, verify_tls=False), tmp_path / "logs"
    _open_accounts(config, logs, kd)
    for run in ("first", "second"):
        done = _cli(config, logs, run, "sync")
        assert done.exit_code in (0, 1), done.stderr[-2000:]
        assert f"fxiaoke: {TLS_OFF}" in done.stderr and f"kingdee: {TLS_OFF}" in done.stderr, run
