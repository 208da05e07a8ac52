"""``type: kingdee`` config: exactly the documented keys, secrets hidden, precise refusals."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from connectors.kingdee.destination import KingdeeDestination
from connectors.kingdee.factory import Config, build
from sync.connector import BuildContext

BASE: dict[str, Any] = {
    "type": "kingdee",
    "base_url": "https://erp.example.com/k3cloud",
    "acct_id": "65a1b2c3d4e5f6",
    "username": "webapi",
    "app_id": "224466_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
    "app_secret": "0123456789abcdef0123456789abcdef",
    "account_book": "001",
}


def test_config_has_exactly_the_documented_keys() -> None:
    assert set(Config.model_fields) == {
        "type",
        "base_url",
        "acct_id",
        "username",
        "app_id",
        "app_secret",
        "lcid",
        "org_num",
        "auth",
        "account_book",
        "voucher_group",
        "currency_map",
        "flex_map",
        "external_ref_field",
        "lookup_by_view",  # issue 16: View by Number where ExecuteBillQuery hides vouchers
        "batch_size",
        "submit",
        "audit",
        "timeout_seconds",
        "transport",  # sync.http's shared transport section (issue 9)
    }


def test_defaults_follow_the_standard_kingdee_data() -> None:
    config = Config.model_validate(BASE)
    assert (config.lcid, config.voucher_group, config.auth, config.external_ref_field) == (
        2052,
        "PRE001",
        "signature",
        "FBillNo",
    )
    assert config.currency_map == {"CNY": "PRE001"}
    assert config.flex_map == {"customer": "FDETAILID__FFLEX6"}
    assert config.base_url == "https://erp.example.com/k3cloud/"


def test_the_secret_never_shows_in_repr_or_dump() -> None:
    config = Config.model_validate(BASE)
    assert "0123456789abcdef" not in repr(config)
    assert "0123456789abcdef" not in str(config.model_dump())


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"app_id": "224466"}, "app_id shaped <clientId>_<32 characters>"),
        ({"flex_map": {"customer": "FFLEX6"}}, "FDETAILID__FFLEX6"),
        ({"currency_map": {"cny": "PRE001"}}, "ISO codes"),
        ({"base_url": "erp.example.com/k3cloud"}, "http:// or https://"),
        ({"external_ref_field": "bill no"}, "FBillNo, F_XXX_SyncKey or FEXPLANATION"),
        ({"batchsize": 10}, "Extra inputs are not permitted"),
    ],
    ids=[
        "app id without the secret part",
        "flex key without FDETAILID__",
        "currency code in lower case",
        "url without scheme",
        "reference field with a blank",
        "misspelt key",
    ],
)
def test_wrong_values_are_refused_with_the_fix(change: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message.replace("(", r"\(").replace(")", r"\)")):
        Config.model_validate({**BASE, **change})


def test_login_mode_needs_no_app_id() -> None:
    assert Config.model_validate({**BASE, "auth": "login", "app_id": ""}).auth == "login"


def test_build_returns_the_destination_without_calling_kingdee(tmp_path: Path) -> None:
    destination = build(Config.model_validate(BASE), BuildContext(name="destination", base_dir=tmp_path))
    assert isinstance(destination, KingdeeDestination)
    assert destination.client.calls == {}
