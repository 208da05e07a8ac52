"""The console over a PostgreSQL state store: the same pages, search and actions as on SQLite."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

import pytest

from tests.console.stage import build_stage, serve

pytestmark = pytest.mark.postgres


def test_the_console_lists_searches_shows_and_approves_on_postgresql(
    tmp_path: Path, pg_state_url: str
) -> None:
    stage = build_stage(tmp_path / "t", pg_state_url)
    cli = {v["external_ref"]: v for v in stage.vouchers_json()}
    with serve(stage.config) as console:
        viewer = console.session("viewer1")
        page = viewer.get(f"{console.url}/api/vouchers", params={"page_size": "500"}).json()
        assert page["total"] == len(cli) and all(item == cli[item["external_ref"]] for item in page["items"])
        posted = next(v for v in cli.values() if v["status"] == "posted")
        found = viewer.get(f"{console.url}/api/vouchers", params={"q": posted["erp_number"]}).json()
        assert [v["external_ref"] for v in found["items"]] == [posted["external_ref"]]
        assert viewer.get(f"{console.url}/api/vouchers", params={"q": "' OR 1=1 --"}).json()["total"] == 0
        detail = viewer.get(f"{console.url}/api/vouchers/{quote(posted['external_ref'], safe='')}").json()
        assert detail["source_record"]["_id"] == posted["source"]["id"] and detail["lines"]
        for path in ("/", "/vouchers", "/totals?period=2026-11", "/failures", "/approvals"):
            assert viewer.get(f"{console.url}{path}").status_code == 200, path
        waiting = next(ref for ref, v in cli.items() if v["status"] == "awaiting_approval")
        approver = console.session("approver1")
        r = approver.post(f"{console.url}/api/vouchers/{quote(waiting, safe='')}/approve")
        assert r.status_code == 200 and r.json()["approved"] == [waiting]
    assert {v["external_ref"]: v["status"] for v in stage.vouchers_json()}[waiting] == "pending"
