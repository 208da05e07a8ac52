"""A tenant the console tests look at, and the console served on loopback.

The stage: twelve payments of sample customers (one named ``<script>alert(1)</script>``, one
without an amount, so it is quarantined) through the shipped payment mapping set to
``approval: required``; the first eleven approved and posted to the ledger; then payment 3's
amount corrected (a reversal, and its new voucher waiting for approval) and a new payment 12
waiting too. It is built with the real ``crmsync`` commands, the console is a real uvicorn
on 127.0.0.1 and the tests talk to it with ``requests``.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests
import uvicorn

from sync.config import load_config
from sync.console.app import create_app
from sync.console.config import ConsoleConfig
from tests.e2e.support import approval_mappings
from tests.engine.tenant import crmsync, payment, write_jsonl

XSS_NAME = "<script>alert(1)</script>"
PASSWORD = "正确的马 battery staple"
ROLES = ("viewer", "approver", "operator", "admin")


@dataclass
class Stage:
    root: Path
    config: Path
    data: Path

    def run(self, *args: str) -> Any:
        return crmsync(*args, "-c", str(self.config))

    def vouchers_json(self) -> list[dict[str, Any]]:
        result = self.run("vouchers", "--format", "json")
        assert result.exit_code == 0, result.stderr
        data: list[dict[str, Any]] = json.loads(result.stdout)
        return data


def _payments() -> list[dict[str, Any]]:
    records = [payment(i, f"{1000 + i * 137.45:.2f}", term=str(1 + i % 4), day=3 + i) for i in range(12)]
    records[5]["account_id__r"] = XSS_NAME
    del records[11]["payment_amount"]  # quarantined: nothing to book
    return records


def build_stage(root: Path, state_url: str) -> Stage:
    root.mkdir(parents=True, exist_ok=True)
    maps = approval_mappings(root)
    config = root / "config.yaml"
    config.write_text(
        "\n".join(
            [
                f"state: {{url: {json.dumps(state_url)}, lock_timeout_seconds: 0}}",
                "sources:",
                "  crm: {type: files, path: data, streams: [PaymentObj]}",
                f"destination: {{type: ledger, path: {json.dumps(str(root / 'ledger.db'))}}}",
                f"mappings: [{json.dumps(str(maps / '*.yaml'))}]",
            ]
        )
        + "\n",
        encoding="utf-8",
    )
    stage = Stage(root, config, root / "data")
    records = _payments()
    write_jsonl(stage.data / "PaymentObj.jsonl", records)
    assert stage.run("sync").exit_code == 1  # one record quarantined
    assert stage.run("approve", "--all").exit_code == 0
    assert stage.run("sync").exit_code == 0  # posts the approved (the quarantined one stays so)
    records[3]["payment_amount"] = "1500.00"
    records[3]["last_modified_time"] += 86_400_000
    records.append(payment(12, "8888.88", term="2", day=20))
    write_jsonl(stage.data / "PaymentObj.jsonl", records)
    third = stage.run("sync")  # the file is read again: payment 11 is quarantined again
    assert third.exit_code == 1 and "reversed 1" in third.stdout and "awaiting approval 2" in third.stdout
    for role in ROLES:
        add_user(stage, f"{role}1", role)
    return stage


def add_user(stage: Stage, name: str, role: str, password: str = PASSWORD) -> None:
    from click.testing import CliRunner

    from sync.cli import cli

    result = CliRunner().invoke(
        cli, ["users", "add", "-c", str(stage.config), name, "--role", role], input=password + "\n"
    )
    assert result.exit_code == 0, result.output


@dataclass
class Served:
    url: str
    server: uvicorn.Server

    def session(self, user: str | None = None, password: str = PASSWORD) -> requests.Session:
        """A browser-like session, logged in as ``user`` when given (its CSRF token in ``csrf``)."""
        s = requests.Session()
        if user is not None:
            r = s.post(
                f"{self.url}/login", data={"username": user, "password": password}, allow_redirects=False
            )
            assert r.status_code == 303, r.text
            s.headers["X-CSRF-Token"] = s.get(f"{self.url}/api/me").json()["csrf_token"]
        return s


@contextmanager
def serve(config: Path, **settings: Any) -> Iterator[Served]:
    """The console for ``config`` on a free loopback port, in a thread of this process."""
    app = create_app(load_config(config), ConsoleConfig(**settings))
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=0, log_config=None, lifespan="on", access_log=False)
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the console did not start")
        time.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield Served(f"http://127.0.0.1:{port}", server)
    finally:
        server.should_exit = True
        thread.join(10)
