"""The ERP is the truth: a lost or restored state never posts twice, into any destination.

The sample tenant, the shipped mappings, a real sync into each destination: the embedded
ledger with ``dedupe: false`` (so the ledger itself would take a duplicate), the fake Kingdee
as a live tenant is reported to behave (saved vouchers hidden from ExecuteBillQuery; a coding
rule that overwrites FBillNo, with the reference in a custom field), the fake S/4HANA and
Business One (neither refuses a duplicate), and IDoc files the importer moved to its archive.
Then the state -- and the work folder beside it -- is deleted, or replaced by a copy taken
halfway, and the same config syncs again. Every voucher must be in the ERP exactly once,
with the vouchers the new state did not know adopted (``adopt`` in the audit trail).
"""

from __future__ import annotations

import json
import shutil
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from connectors.ledger.queries import list_vouchers
from sync.cli import cli
from sync.destination import short_ref
from tests.e2e.support import (
    ERP_SECRETS,
    ROOT,
    S4_MAP,
    b1_destination,
    kingdee_destination,
    s4_destination,
    write_config,
)
from tests.e2e.test_sap_e2e import customer_codes
from tests.e2e.test_three_destinations_agree import ACCOUNTS
from tests.fakes.kingdee import FakeKingdee
from tests.fakes.sap_b1 import FakeB1
from tests.fakes.sap_s4 import FakeS4

pytestmark = pytest.mark.slow

S4_ACCOUNTS: dict[str, Any] = {**S4_MAP, "6051": "41500000"}


@dataclass
class Erp:
    """One destination: its config section and how to count what it holds per reference."""

    section: dict[str, Any]
    held: Callable[[], Counter[str]]
    key: Callable[[str], str] = lambda ref: ref  # our external ref -> what the ERP stores


def _customers() -> list[str]:
    return sorted(set(customer_codes().values()))


@contextmanager
def _ledger(root: Path) -> Iterator[Erp]:
    path = root / "ledger.db"
    yield Erp(
        {"type": "ledger", "path": str(path), "dedupe": False},
        lambda: Counter(v.external_ref for v in list_vouchers(path)) if path.exists() else Counter(),
    )


def _kingdee(**switches: Any) -> Callable[[Path], Any]:
    field = "F_XXX_SyncKey" if switches.get("coding_rule") else "FBillNo"
    view = {"lookup_by_view": "always"} if switches.get("hide_saved") == "always" else {}

    @contextmanager
    def erp(root: Path) -> Iterator[Erp]:
        with FakeKingdee(customers=_customers(), accounts={}, **switches) as fake:
            for code in ACCOUNTS:
                fake.add_account(code, *(("FFLEX6",) if code == "1122" else ()))
            yield Erp(
                kingdee_destination(fake, external_ref_field=field, **view),
                lambda: fake.refs(field),
            )

    return erp


@contextmanager
def _s4(root: Path) -> Iterator[Erp]:
    accounts = [v for v in S4_ACCOUNTS.values() if isinstance(v, str)]
    with FakeS4(accounts=accounts, customers=_customers()) as fake:
        yield Erp(
            s4_destination(fake, account_map=S4_ACCOUNTS),
            lambda: Counter({ref: len(docs) for ref, docs in fake.by_reference().items()}),
            lambda ref: short_ref(ref, 16),
        )


@contextmanager
def _b1(root: Path) -> Iterator[Erp]:
    with FakeB1(accounts=ACCOUNTS, customers=dict.fromkeys(_customers(), "1122")) as fake:
        yield Erp(
            b1_destination(fake),
            lambda: Counter({ref: len(docs) for ref, docs in fake.by_reference().items()}),
            lambda ref: short_ref(ref, 16),
        )


@contextmanager
def _idoc(root: Path) -> Iterator[Erp]:
    drop, archive = root / "drop", root / "archive"
    drop.mkdir()
    archive.mkdir()

    def held() -> Counter[str]:
        for path in drop.glob("ACC_DOCUMENT_*.xml"):  # the importer takes every file it sees
            path.rename(archive / path.name)
        return Counter(path.name for path in archive.glob("ACC_DOCUMENT_*.xml"))

    from connectors.sap.idoc.destination import file_name

    yield Erp(
        {
            "type": "sap_idoc",
            "path": str(drop),
            "archive": str(archive),
            "company_code": "1010",
            "account_map": S4_ACCOUNTS,
            "receiver_port": "SAPS4H",
            "receiver_partner": "S4HCLNT100",
        },
        held,
        file_name,
    )


ERPS = [
    pytest.param(_ledger, id="ledger-dedupe-false"),
    pytest.param(_kingdee(), id="kingdee"),
    pytest.param(_kingdee(hide_saved="unless_status_filter"), id="kingdee-saved-hidden"),
    pytest.param(_kingdee(hide_saved="always"), id="kingdee-saved-hidden-always-view"),
    pytest.param(_kingdee(coding_rule=True, hide_saved="unless_status_filter"), id="kingdee-coding-rule"),
    pytest.param(_s4, id="s4"),
    pytest.param(_b1, id="b1"),
    pytest.param(_idoc, id="idoc-archive"),
]


def _tenant(root: Path, erp: Erp) -> Path:
    shutil.copytree(ROOT / "examples" / "crm", root / "data")
    shutil.copytree(ROOT / "mappings" / "fxiaoke-kingdee", root / "mappings")
    return write_config(
        root / "config.yaml",
        state={"url": "sqlite:///" + str(root / ".crmsync" / "state.db")},
        sources={"crm": {"type": "files", "path": "data"}},
        destination=erp.section,
        mappings=[str(root / "mappings" / "*.yaml")],
    )


def _crmsync(monkeypatch: pytest.MonkeyPatch, *args: str) -> Any:
    for name, value in ERP_SECRETS.items():
        monkeypatch.setenv(name, value)
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    assert result.exit_code in (0, 1), result.output
    return json.loads(result.stdout) if "--format" in args else result.stdout


def _sync(config: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    summary: dict[str, Any] = _crmsync(monkeypatch, "sync", "-c", str(config), "--format", "json")
    assert summary["vouchers_failed"] == summary["vouchers_pending"] == 0, summary
    read = summary["read"]
    assert read == sum(summary[k] for k in ("posted", "already_posted", "skipped", "quarantined", "failed"))
    return summary


def _posted_refs(config: Path, monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = _crmsync(
        monkeypatch, "vouchers", "-c", str(config), "--format", "json", "--limit", "100000"
    )
    return [r for r in rows if r["status"] in ("posted", "reversed")]


def _exactly_once(erp: Erp, rows: list[dict[str, Any]]) -> None:
    held = erp.held()
    wanted = {erp.key(r["external_ref"]) for r in rows}
    assert {k: held[k] for k in wanted if held[k] != 1} == {}
    assert set(held) == wanted, "the ERP holds vouchers the state does not know"


@pytest.mark.parametrize("make_erp", ERPS)
def test_a_deleted_state_posts_nothing_twice(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, make_erp: Callable[[Path], Any]
) -> None:
    with make_erp(tmp_path) as erp:
        config = _tenant(tmp_path, erp)
        first = _sync(config, monkeypatch)
        assert first["vouchers_posted"] > 100
        before = _posted_refs(config, monkeypatch)
        _exactly_once(erp, before)

        shutil.rmtree(tmp_path / ".crmsync")  # the state, and the work folder with it
        again = _sync(config, monkeypatch)

        assert again["vouchers_posted"] == 0
        assert again["vouchers_adopted"] == first["vouchers_posted"]
        assert again["posted"] == 0 and again["already_posted"] == first["posted"] + first["already_posted"]
        after = _posted_refs(config, monkeypatch)
        assert all(r["adopted"] for r in after)
        assert {r["external_ref"] for r in after} == {r["external_ref"] for r in before}
        _exactly_once(erp, after)
        log = _crmsync(monkeypatch, "audit", "export", "-c", str(config), "--format", "json")
        assert sum(1 for e in log if e["action"] == "adopt") == len(after)


@pytest.mark.parametrize("make_erp", ERPS)
def test_a_state_restored_from_a_copy_taken_halfway_posts_nothing_twice(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, make_erp: Callable[[Path], Any]
) -> None:
    with make_erp(tmp_path) as erp:
        config = _tenant(tmp_path, erp)
        payments = (tmp_path / "data" / "PaymentObj.jsonl").read_text(encoding="utf-8").splitlines()
        orders = (tmp_path / "data" / "SalesOrderObj.jsonl").read_text(encoding="utf-8").splitlines()
        (tmp_path / "data" / "PaymentObj.jsonl").write_text("\n".join(payments[:40]) + "\n", encoding="utf-8")
        (tmp_path / "data" / "SalesOrderObj.jsonl").write_text(
            "\n".join(orders[:30]) + "\n", encoding="utf-8"
        )
        _sync(config, monkeypatch)
        backup = tmp_path / "backup"
        shutil.copytree(tmp_path / ".crmsync", backup)  # the nightly copy, taken halfway

        (tmp_path / "data" / "PaymentObj.jsonl").write_text("\n".join(payments) + "\n", encoding="utf-8")
        (tmp_path / "data" / "SalesOrderObj.jsonl").write_text("\n".join(orders) + "\n", encoding="utf-8")
        second = _sync(config, monkeypatch)
        assert second["vouchers_posted"] > 50
        complete = _posted_refs(config, monkeypatch)

        shutil.rmtree(tmp_path / ".crmsync")
        shutil.copytree(backup, tmp_path / ".crmsync")  # the disk died; the copy is restored
        restored = _sync(config, monkeypatch)

        assert restored["vouchers_posted"] == 0
        assert restored["vouchers_adopted"] == second["vouchers_posted"]
        after = _posted_refs(config, monkeypatch)
        assert {r["external_ref"] for r in after} == {r["external_ref"] for r in complete}
        _exactly_once(erp, after)
