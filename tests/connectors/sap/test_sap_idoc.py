"""IDoc ACC_DOCUMENT files: structure, the key in name and header, atomic, never twice."""

from __future__ import annotations

import datetime as dt
import os
import threading
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import xmltodict
from hypothesis import given, settings
from hypothesis import strategies as st

from connectors.sap.b1.destination import B1Destination
from connectors.sap.b1.factory import Config as B1Config
from connectors.sap.idoc.destination import IdocDestination, file_name
from connectors.sap.idoc.factory import Config, build
from sync.connector import BuildContext
from sync.destination import Outcome, short_ref
from sync.errors import DestinationUnavailable
from sync.model import MappingRef, ReversalStyle, SourceRef, Voucher, VoucherLine
from tests.connectors.sap.conftest import ACCOUNT_MAP, order_voucher, payment_voucher

FIXED = dt.datetime(2026, 11, 3, 2, 15, tzinfo=dt.UTC)
#: the partner profile SAP (WE20) knows this sender by: receiver port and logical system
PARTNERS = {"receiver_port": "SAPS4H", "receiver_partner": "S4HCLNT100"}


def idoc(tmp_path: Path, **overrides: Any) -> IdocDestination:
    (tmp_path / "drop").mkdir(exist_ok=True)
    values: dict[str, Any] = {"path": "drop", "account_map": ACCOUNT_MAP, "company_code": "1010", **PARTNERS}
    values.update(overrides)
    ctx = BuildContext("erp", tmp_path, work_dir=Path(".crmsync"))
    return IdocDestination(Config.model_validate(values), ctx, clock=lambda: FIXED)


def segments(xml: str) -> dict[str, Any]:
    idoc_node: dict[str, Any] = xmltodict.parse(xml, force_list=("E1BPACGL09", "E1BPACAR09", "E1BPACCR09"))[
        "ACC_DOCUMENT04"
    ]["IDOC"]
    return idoc_node


def test_order_idoc_has_control_header_line_and_amount_segments(tmp_path: Path) -> None:
    order = order_voucher()
    idoc_node = segments(idoc(tmp_path).render(order))
    assert list(idoc_node) == ["@BEGIN", "EDI_DC40", "E1BPACHE09", "E1BPACGL09", "E1BPACAR09", "E1BPACCR09"]
    control, header = idoc_node["EDI_DC40"], idoc_node["E1BPACHE09"]
    assert (control["IDOCTYP"], control["MESTYP"], control["DIRECT"]) == (
        "ACC_DOCUMENT04",
        "ACC_DOCUMENT",
        "2",
    )
    assert control["ARCKEY"] == order.external_ref
    assert header["REF_DOC_NO"] == short_ref(order.external_ref, 16)
    assert (header["OBJ_TYPE"], header["BUS_ACT"], header["COMP_CODE"]) == ("BKPFF", "RFBU", "1010")
    assert header["PSTNG_DATE"] == "20261101"
    assert [g["GL_ACCOUNT"] for g in idoc_node["E1BPACGL09"]] == ["0041000000", "0022210000"]
    assert idoc_node["E1BPACGL09"][0]["PROFIT_CTR"] == "YB101"
    assert idoc_node["E1BPACGL09"][1]["TAX_CODE"] == "A1"
    assert idoc_node["E1BPACAR09"][0]["CUSTOMER"] == "0010100001"
    assert [(a["ITEMNO_ACC"], a["AMT_DOCCUR"]) for a in idoc_node["E1BPACCR09"]] == [
        ("0000000001", "11300.00"),
        ("0000000002", "10000.00-"),
        ("0000000003", "1300.00-"),
    ]


def test_the_control_record_names_both_partners_from_the_config(tmp_path: Path) -> None:
    control = segments(idoc(tmp_path).render(order_voucher()))["EDI_DC40"]
    assert (control["RCVPOR"], control["RCVPRT"], control["RCVPRN"]) == ("SAPS4H", "LS", "S4HCLNT100")
    assert (control["SNDPOR"], control["SNDPRT"], control["SNDPRN"]) == ("CRMSYNC", "LS", "CRMSYNC")
    own = idoc(tmp_path, sender_port="CRMFILE", sender_partner="CRMSYNC100", sender_partner_type="LS")
    control = segments(own.render(order_voucher()))["EDI_DC40"]
    assert (control["SNDPOR"], control["SNDPRN"]) == ("CRMFILE", "CRMSYNC100")
    assert list(control).index("RCVPOR") < list(control).index("RCVPRT") < list(control).index("RCVPRN")


def test_an_idoc_config_without_the_receiver_is_refused_naming_the_keys() -> None:
    with pytest.raises(ValueError, match="receiver_port") as raised:
        Config.model_validate({"path": "drop", "company_code": "1010"})
    assert "receiver_partner" in str(raised.value)


def test_lookup_finds_a_file_in_the_importers_archive_when_the_receipts_are_gone(tmp_path: Path) -> None:
    (tmp_path / "archive").mkdir()
    dest = idoc(tmp_path, archive="archive")
    order = order_voucher()
    (result,) = dest.post([order])
    name = result.ref.erp_id if result.ref else ""
    (tmp_path / "drop" / name).rename(tmp_path / "archive" / name)
    for receipt in (tmp_path / ".crmsync").rglob("*.sent"):
        receipt.unlink()  # the work folder went with the state
    assert list(dest.lookup([order.external_ref])) == [order.external_ref]
    assert idoc(tmp_path).lookup([order.external_ref]) == {}  # without the archive: not found


def test_amounts_balance_with_the_trailing_minus(tmp_path: Path) -> None:
    for voucher in (order_voucher(), payment_voucher(), order_voucher().reversal(ReversalStyle.RED)):
        amounts = [a["AMT_DOCCUR"] for a in segments(idoc(tmp_path).render(voucher))["E1BPACCR09"]]
        total = sum(-Decimal(a[:-1]) if a.endswith("-") else Decimal(a) for a in amounts)
        assert total == 0


def test_file_is_named_by_the_key_and_written_complete(tmp_path: Path) -> None:
    dest = idoc(tmp_path)
    order = order_voucher()
    (result,) = dest.post([order])
    assert result.outcome is Outcome.POSTED
    name = file_name(order.external_ref)
    assert result.ref is not None and result.ref.erp_id == name
    assert name == f"ACC_DOCUMENT_{short_ref(order.external_ref, 16)}.xml"
    files = sorted(p.name for p in (tmp_path / "drop").iterdir())
    assert files == [name]  # no temp file left behind
    assert (tmp_path / "drop" / name).read_text(encoding="utf-8") == dest.render(order)


def test_a_file_is_never_written_twice(tmp_path: Path) -> None:
    dest = idoc(tmp_path)
    order = order_voucher()
    dest.post([order])
    target = tmp_path / "drop" / file_name(order.external_ref)
    os.utime(target, (1_000_000_000, 1_000_000_000))
    (again,) = dest.post([order])
    assert again.outcome is Outcome.POSTED
    assert target.stat().st_mtime == 1_000_000_000


def test_lookup_still_finds_a_file_the_importer_moved_away(tmp_path: Path) -> None:
    dest = idoc(tmp_path)
    order, payment = order_voucher(), payment_voucher()
    dest.post([order])
    (tmp_path / "drop" / file_name(order.external_ref)).rename(tmp_path / "imported.xml")
    assert list(dest.lookup([order.external_ref, payment.external_ref])) == [order.external_ref]
    dest.post([order])
    assert list((tmp_path / "drop").iterdir()) == []


def test_two_runs_racing_on_one_voucher_create_one_file(tmp_path: Path) -> None:
    order = order_voucher()
    dests = [idoc(tmp_path) for _ in range(8)]
    barrier = threading.Barrier(len(dests))
    outcomes: list[Outcome] = []

    def run(dest: IdocDestination) -> None:
        barrier.wait()
        outcomes.extend(r.outcome for r in dest.post([order]))

    threads = [threading.Thread(target=run, args=(d,)) for d in dests]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert outcomes == [Outcome.POSTED] * 8
    assert [p.name for p in (tmp_path / "drop").iterdir()] == [file_name(order.external_ref)]


def test_a_crash_before_the_link_leaves_no_visible_file(tmp_path: Path) -> None:
    dest = idoc(tmp_path)
    order = order_voucher()
    (tmp_path / "drop" / f".{file_name(order.external_ref)}.999.tmp").write_text(
        "<ACC_DOCUMENT04>", encoding="utf-8"
    )
    assert dest.lookup([order.external_ref]) == {}
    (result,) = dest.post([order])
    assert result.outcome is Outcome.POSTED


def test_missing_drop_folder_is_destination_unavailable(tmp_path: Path) -> None:
    dest = build({"path": "nowhere", "company_code": "1010", **PARTNERS}, BuildContext("erp", tmp_path))
    with pytest.raises(DestinationUnavailable, match="does not exist"):
        dest.post([order_voucher()])
    with pytest.raises(DestinationUnavailable):
        dest.check()


@settings(max_examples=30, deadline=None)
@given(st.lists(st.integers(min_value=1, max_value=10**9), min_size=1, max_size=5), st.booleans())
def test_any_voucher_renders_balanced_in_idoc_and_b1(amounts: list[int], red: bool) -> None:
    total = sum(amounts)
    lines = [VoucherLine(account="6001", side="credit", amount=Decimal(a) / 100) for a in amounts]
    lines.append(
        VoucherLine(account="1122", side="debit", amount=Decimal(total) / 100, dims={"customer": "10100002"})
    )
    voucher = Voucher(
        key="prop:idoc",
        book="1010",
        date=dt.date(2026, 11, 5),
        summary="属性测试",
        lines=tuple(lines),
        sources=(SourceRef(system="crm", stream="SalesOrderObj", record_id="p1"),),
        mapping=MappingRef(name="p"),
    )
    if red:
        voucher = voucher.reversal(ReversalStyle.RED)
    amounts_text = [
        a["AMT_DOCCUR"]
        for a in segments(
            IdocDestination(
                Config.model_validate(
                    {"path": "drop", "account_map": ACCOUNT_MAP, "company_code": "1010", **PARTNERS}
                ),
                BuildContext("erp", Path("/nonexistent")),
                clock=lambda: FIXED,
            ).render(voucher)
        )["E1BPACCR09"]
    ]
    assert sum(-Decimal(a[:-1]) if a.endswith("-") else Decimal(a) for a in amounts_text) == 0
    assert all(not a.startswith("-") for a in amounts_text)
    b1_lines = B1Destination(
        B1Config(
            base_url="http://127.0.0.1:9/b1s/v1",
            company_db="SBODEMOCN",
            username="manager",
            password="B1-secret-Passw0rd!",
            account_map={"1122": {"debtor": True}},
        ),
        BuildContext("erp", Path("/nonexistent")),
    ).render(voucher)["JournalEntryLines"]
    assert sum(Decimal(ln["Debit"]) - Decimal(ln["Credit"]) for ln in b1_lines) == 0
    assert all(Decimal(ln["Debit"]) >= 0 and Decimal(ln["Credit"]) >= 0 for ln in b1_lines)
    assert all((Decimal(ln["Debit"]) == 0) != (Decimal(ln["Credit"]) == 0) for ln in b1_lines)
