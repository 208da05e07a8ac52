"""check(): login, account book, voucher group, and every account and customer the vouchers use."""

from __future__ import annotations

import pytest

from sync.errors import DestinationUnavailable
from tests.connectors.kingdee.conftest import destination_for, order_voucher, payment_voucher
from tests.fakes.kingdee import FakeKingdee


def test_check_passes_when_all_base_data_exists(fake: FakeKingdee) -> None:
    report = destination_for(fake, auth="login").check([order_voucher(), payment_voucher()])
    assert report.ok and report.problems == ()
    assert "account (科目): 4 of 4 found" in report.details
    assert fake.calls["LoginBySign"] == 1


def test_check_lists_every_missing_account_and_customer(fake: FakeKingdee) -> None:
    vouchers = [
        order_voucher(1, customer="CUST0404"),
        payment_voucher(2, customer="CUST0405"),
        order_voucher(3).model_copy(
            update={
                "lines": (
                    order_voucher(3).lines[0],
                    order_voucher(3).lines[1].model_copy(update={"account": "6001.09"}),
                    order_voucher(3).lines[2].model_copy(update={"account": "2221.01.06"}),
                )
            }
        ),
    ]
    report = destination_for(fake).check(vouchers)
    assert not report.ok
    assert report.problems == (
        "account (科目): 2 code(s) missing in Kingdee: 2221.01.06, 6001.09",
        "customer (BD_Customer): 2 code(s) missing in Kingdee: CUST0404, CUST0405",
    )
    assert fake.vouchers == []


def test_check_reports_a_missing_account_book_and_voucher_group(fake: FakeKingdee) -> None:
    report = destination_for(fake, account_book="002", voucher_group="PRE009").check()
    assert report.problems == (
        "account book (账簿) '002' does not exist in Kingdee (BD_AccountBook); fix `account_book` in the "
        "destination config",
        "voucher group (凭证字) 'PRE009' does not exist in Kingdee (BD_VOUCHERGROUP); "
        "fix `voucher_group` in the destination config",
    )


def test_check_reports_dimensions_and_currencies_that_cannot_be_rendered(fake: FakeKingdee) -> None:
    voucher = payment_voucher()
    line = voucher.lines[0].model_copy(update={"dims": (("project", "PRJ-2025-08"),)})
    report = destination_for(fake).check([voucher.model_copy(update={"lines": (line, voucher.lines[1])})])
    assert any("dimension 'project' has no entry in flex_map" in p for p in report.problems)


def test_check_against_an_unreachable_site_is_destination_unavailable(fake: FakeKingdee) -> None:
    destination = destination_for(fake, base_url="http://127.0.0.1:9/k3cloud/")
    with pytest.raises(DestinationUnavailable, match="cannot be reached"):
        destination.check([order_voucher()])
