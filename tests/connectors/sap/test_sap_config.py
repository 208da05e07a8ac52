"""The three config sections: exactly the documented keys, secrets hidden, clear refusals."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from connectors.sap.b1.factory import Config as B1Config
from connectors.sap.idoc.factory import Config as IdocConfig
from connectors.sap.s4.factory import Config as S4Config
from sync.config.registry import resolve
from sync.connector import BuildContext
from sync.secrets import redact

S4 = {
    "base_url": "https://my000000-api.s4hana.cloud.sap",
    "username": "COMM_CRMSYNC",
    "password": "S4-secret-Passw0rd!",
    "company_code": "1010",
    "created_by_user": "CC0000000001",
}


def test_each_config_has_the_documented_keys() -> None:
    # `transport` is sync.http's shared TLS / CA bundle / timeout section of every HTTP connector
    assert set(S4Config.model_fields) == {
        "type", "base_url", "username", "password", "client_cert", "client_key", "company_code",
        "created_by_user", "document_type", "odata_base_url", "batch_size", "timeout_seconds",
        "account_map", "transport",
    }  # fmt: skip
    assert set(B1Config.model_fields) == {
        "type", "base_url", "company_db", "username", "password", "account_map", "batch_size",
        "timeout_seconds", "transport",
    }  # fmt: skip
    assert set(IdocConfig.model_fields) == {
        "type", "path", "account_map", "company_code", "archive",
        "receiver_port", "receiver_partner", "receiver_partner_type",
        "sender_port", "sender_partner", "sender_partner_type",
    }  # fmt: skip


@pytest.mark.parametrize("type_name", ["sap_s4", "sap_b1", "sap_idoc"])
def test_registry_resolves_each_type(type_name: str) -> None:
    module = resolve("destination", type_name)
    assert hasattr(module, "Config") and hasattr(module, "build")


def test_password_is_a_secret_and_registered_for_redaction(tmp_path: Path) -> None:
    config = S4Config.model_validate(S4)
    assert "S4-secret-Passw0rd!" not in repr(config)
    resolve("destination", "sap_s4").build(config, BuildContext("erp", tmp_path))
    assert redact("auth failed for S4-secret-Passw0rd!") == "auth failed for ********"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"created_by_user": "CC00000000012"}, "created_by_user"),
        ({"company_code": "10100"}, "company_code"),
        ({"document_type": "SAX"}, "document_type"),
        ({"base_url": "my000000-api.s4hana.cloud.sap"}, "base_url"),
        ({"account_map": {"1122": {"debtor": False}}}, "account_map"),
        ({"acount_map": {}}, "acount_map"),
    ],
)
def test_s4_refuses_bad_values_naming_the_field(change: dict[str, object], field: str) -> None:
    with pytest.raises(ValidationError) as info:
        S4Config.model_validate({**S4, **change})
    assert field in str(info.value)


def test_s4_needs_basic_auth_or_a_client_certificate() -> None:
    with pytest.raises(ValidationError, match="client_cert"):
        S4Config.model_validate({**S4, "password": ""})
    assert S4Config.model_validate({**S4, "password": "", "client_cert": "certs/crmsync.pem"}).client_cert


def test_document_type_per_mapping_with_default() -> None:
    config = S4Config.model_validate({**S4, "document_type": {"default": "SA", "payment_received": "DZ"}})
    assert config.document_type_for("payment_received") == "DZ"
    assert config.document_type_for("order_confirmed") == "SA"


def test_b1_base_url_must_be_the_service_layer_root() -> None:
    with pytest.raises(ValidationError, match="b1s/v1"):
        B1Config(base_url="https://b1host:50000", company_db="SBODEMOCN", username="manager", password="x")
