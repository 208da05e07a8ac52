"""ERP calls per voucher of a whole ``crmsync sync``, Kingdee and S/4HANA, on the sample tenant.

    .venv/bin/python -m bench.erp_calls_bench

The sample export and the shipped mappings go through a real sync (in-process CLI) into the
fake Kingdee and the fake S/4HANA; the fakes count every HTTP call they answer (log-in,
queries, saves, CSRF fetches). Printed per destination: vouchers posted, calls, calls per
voucher; then the same after the state was deleted (everything adopted: look-ups only).
Run it on two commits to compare what a change costs in round trips, the figure that matters
on a real site (each call 50-300 ms).
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from sync.cli import cli
from tests.e2e.support import ERP_SECRETS, ROOT, S4_MAP, kingdee_destination, s4_destination, write_config
from tests.e2e.test_sap_e2e import customer_codes
from tests.e2e.test_three_destinations_agree import ACCOUNTS
from tests.fakes.kingdee import FakeKingdee
from tests.fakes.sap_s4 import FakeS4

S4_ACCOUNTS: dict[str, Any] = {**S4_MAP, "6051": "41500000"}


def _sync(root: Path, destination: dict[str, Any]) -> dict[str, Any]:
    config = root / "config.yaml"
    if not config.exists():
        shutil.copytree(ROOT / "examples" / "crm", root / "data")
        shutil.copytree(ROOT / "mappings" / "fxiaoke-kingdee", root / "mappings")
        write_config(
            config,
            state={"url": "sqlite:///" + str(root / "state.db")},
            sources={"crm": {"type": "files", "path": "data"}},
            destination=destination,
            mappings=[str(root / "mappings" / "*.yaml")],
        )
    os.environ.update(ERP_SECRETS)
    result = CliRunner().invoke(cli, ["sync", "-c", str(config), "--format", "json"], catch_exceptions=False)
    summary: dict[str, Any] = json.loads(result.stdout)
    return summary


def _measure(name: str, root: Path, destination: dict[str, Any], calls: Callable[[], int]) -> None:
    for phase in ("first sync", "state deleted"):
        if phase == "state deleted":
            (root / "state.db").unlink()
        before = calls()
        summary = _sync(root, destination)
        made = calls() - before
        vouchers = summary["vouchers_posted"] + summary.get("vouchers_adopted", 0)
        print(
            f"{name:8} {phase:14} vouchers {vouchers:4} (posted {summary['vouchers_posted']}, "
            f"adopted {summary.get('vouchers_adopted', 0)}), ERP calls {made:4}, "
            f"per voucher {made / max(1, vouchers):.3f}"
        )


def main() -> None:
    customers = sorted(set(customer_codes().values()))
    with tempfile.TemporaryDirectory() as tmp:
        with FakeKingdee(customers=customers, accounts={}) as kingdee:
            for code in ACCOUNTS:
                kingdee.add_account(code, *(("FFLEX6",) if code == "1122" else ()))
            root = Path(tmp) / "kingdee"
            root.mkdir()
            _measure("kingdee", root, kingdee_destination(kingdee), lambda: sum(kingdee.calls.values()))
        accounts = [v for v in S4_ACCOUNTS.values() if isinstance(v, str)]
        with FakeS4(accounts=accounts, customers=customers) as s4:
            root = Path(tmp) / "s4"
            root.mkdir()
            _measure("s4", root, s4_destination(s4, account_map=S4_ACCOUNTS), lambda: sum(s4.calls.values()))


if __name__ == "__main__":
    main()
