"""Both fakes run as processes too (``python -m tests.fakes.sap_s4 --port 0``) for subprocess e2e."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import requests

from connectors.sap.b1.factory import Config as B1Config
from connectors.sap.b1.factory import build as build_b1
from connectors.sap.s4.factory import Config as S4Config
from connectors.sap.s4.factory import build as build_s4
from sync.connector import BuildContext
from sync.destination import Outcome, short_ref
from tests.connectors.sap.conftest import ACCOUNT_MAP, order_voucher

ROOT = Path(__file__).resolve().parents[3]


@contextmanager
def fake_process(module: str) -> Iterator[str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", module, "--port", "0"], cwd=ROOT, stdout=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None
        yield proc.stdout.readline().strip()
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_s4_fake_process_posts_and_lists_documents(tmp_path: Path) -> None:
    with fake_process("tests.fakes.sap_s4") as url:
        config = S4Config(
            base_url=url,
            username="COMM_CRMSYNC",
            password="S4-secret-Passw0rd!",
            company_code="1010",
            created_by_user="CC0000000001",
            account_map=ACCOUNT_MAP,
        )
        (result,) = build_s4(config, BuildContext("erp", tmp_path)).post([order_voucher()])
        documents = requests.get(url + "/__fake__/documents", timeout=5).json()
    assert result.outcome is Outcome.POSTED
    assert [d["DocumentReferenceID"] for d in documents] == [short_ref(order_voucher().external_ref, 16)]


def test_b1_fake_process_posts_and_lists_entries(tmp_path: Path) -> None:
    with fake_process("tests.fakes.sap_b1") as url:
        config = B1Config(
            base_url=url,
            company_db="SBODEMOCN",
            username="manager",
            password="B1-secret-Passw0rd!",
            account_map={"1122": {"debtor": True}},
        )
        (result,) = build_b1(config, BuildContext("erp", tmp_path)).post([order_voucher()])
        entries = requests.get(url.replace("/b1s/v1", "") + "/__fake__/documents", timeout=5).json()
    assert result.outcome is Outcome.POSTED
    assert [e["JdtNum"] for e in entries] == [4711]
