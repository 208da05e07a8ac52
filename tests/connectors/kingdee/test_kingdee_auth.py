"""Signature headers and login sign, checked against the worked example of spec §2.2."""

from __future__ import annotations

import pytest

from connectors.kingdee.auth import (
    Credentials,
    decode_app_secret,
    encoded_path,
    login_sign,
    signature_headers,
)

SAVE_URL = (
    "https://erp.example.com/k3cloud/Kingdee.BOS.WebApi.ServicesStub.DynamicFormService.Save.common.kdsvc"
)
EXAMPLE = Credentials(
    acct_id="65a1b2c3d4e5f6",
    username="webapi",
    app_id="224466_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
    app_secret="0123456789abcdef0123456789abcdef",
    lcid=2052,
    org_num="0",
)


def test_app_id_secret_part_decodes_to_the_worked_example_client_secret() -> None:
    assert decode_app_secret(EXAMPLE.app_id_secret_part) == "MDA1NGYzOTdjNjIzNDM3OGIwOWNhN2Qz"


def test_signature_headers_match_the_worked_example_byte_for_byte() -> None:
    headers = signature_headers(EXAMPLE, SAVE_URL, 1735689600)
    assert headers == {
        "X-Api-ClientID": "224466",
        "X-Api-Auth-Version": "2.0",
        "x-api-timestamp": "1735689600",
        "x-api-nonce": "1735689600",
        "x-api-signheaders": "x-api-timestamp,x-api-nonce",
        "X-Api-Signature": (
            "MTg1NWExOWE2MGI5OWFlYmI4N2Y1YjA1NmNlNTZiZmI4NmQzM2MzNTQyYTRkMzZjMTQ1MjYxZWYwNTFiZWEwZQ=="
        ),
        "X-Kd-Appkey": "224466_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "X-Kd-Appdata": "NjVhMWIyYzNkNGU1ZjYsd2ViYXBpLDIwNTIsMA==",
        "X-Kd-Signature": (
            "MDA4MjZjNDA1ZTg4ODZjYjQwZTE2MzkxZTIwMzhkODdhZTNkOTE0ODZmNmI4OWQ0ZTdiMDM1MjA5ZDJkZjQxOA=="
        ),
    }


def test_login_by_sign_matches_the_worked_example() -> None:
    assert (
        login_sign(EXAMPLE, 1735689600) == "3661d27de61789a270a79afd16fa133fb9ec2a97bdf1902dcffbebaa08a6f6ac"
    )


@pytest.mark.parametrize(
    "part", ["", "AAAA", "A" * 31, "A" * 33], ids=["empty", "short", "31 chars", "33 chars"]
)
def test_a_secret_part_that_is_not_32_characters_decodes_to_empty(part: str) -> None:
    assert decode_app_secret(part) == ""


def test_the_signed_path_is_url_encoded_with_slashes_as_2f() -> None:
    assert encoded_path(SAVE_URL) == (
        "%2Fk3cloud%2FKingdee.BOS.WebApi.ServicesStub.DynamicFormService.Save.common.kdsvc"
    )


def test_the_signature_changes_with_the_path_so_a_header_cannot_be_replayed_on_another_service() -> None:
    audit = SAVE_URL.replace(".Save.", ".Audit.")
    assert (
        signature_headers(EXAMPLE, audit, 1735689600)["X-Api-Signature"]
        != (signature_headers(EXAMPLE, SAVE_URL, 1735689600)["X-Api-Signature"])
    )


def test_app_data_carries_a_chinese_user_name_as_utf8() -> None:
    creds = Credentials("65a1b2c3d4e5f6", "财务接口", EXAMPLE.app_id, EXAMPLE.app_secret)
    import base64

    assert base64.b64decode(signature_headers(creds, SAVE_URL, 1)["X-Kd-Appdata"]).decode() == (
        "65a1b2c3d4e5f6,财务接口,2052,0"
    )
