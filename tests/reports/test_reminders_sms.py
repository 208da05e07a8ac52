"""Reminders by SMS through Aliyun, against a fake that checks what the real service checks, and
a signature checked with Aliyun's own SDK core (aliyun-python-sdk-core's RPC signer)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from aliyunsdkcore.auth.algorithm import sha_hmac1
from aliyunsdkcore.auth.composer import rpc_signature_composer

from sync.errors import PermanentError
from sync.reports.reminders.config import RemindersConfig
from sync.reports.reminders.message import build_reminders
from sync.reports.reminders.run import run_reminders
from sync.reports.reminders.sms import send_sms, signature, signed_params
from tests.fakes.aliyun_sms import ACCESS_KEY_ID, ACCESS_KEY_SECRET, SIGN_NAME, TEMPLATE_CODE, aliyun_sms
from tests.reports.test_reminders import AS_OF, book, sent_log

NOW = dt.datetime.now(dt.UTC)


def _config(url: str, **overrides: Any) -> RemindersConfig:
    channel = {
        "type": "sms",
        "name": "ar-sms",
        "endpoint": url,
        "access_key_id": ACCESS_KEY_ID,
        "access_key_secret": ACCESS_KEY_SECRET,
        "sign_name": SIGN_NAME,
        "template_code": TEMPLATE_CODE,
        "template_params": {"customer": "{{ customer }}", "amount": "{{ due }}"},
        "to": ["13812345678"],
        **overrides,
    }
    return RemindersConfig.model_validate({"channels": [channel]})


def test_each_overdue_customer_gets_one_sms_with_its_amount(tmp_path: Path) -> None:
    with aliyun_sms() as (fake, url):
        cfg = _config(url)
        outcomes = run_reminders(build_reminders(book(), AS_OF), cfg, sent_log(tmp_path), now=NOW)
        assert [o.status for o in outcomes] == ["sent", "sent"] and all("BizId" in o.detail for o in outcomes)
        assert [s.text for s in fake.sent] == [
            "【云杉科技】上海明远贸易有限公司您好，贵司尚有10,000.00元货款逾期未付，请尽快安排付款。",
            "【云杉科技】杭州西溪茶业您好，贵司尚有2,260.50元货款逾期未付，请尽快安排付款。",
        ]
        again = run_reminders(build_reminders(book(), AS_OF), cfg, sent_log(tmp_path), now=NOW)
        assert [o.status for o in again] == ["skipped", "skipped"] and len(fake.sent) == 2


def test_the_signature_is_the_one_aliyuns_sdk_computes() -> None:
    channel = _config("https://dysmsapi.aliyuncs.com").channels[0]
    params = signed_params(channel, build_reminders(book(), AS_OF)[0])  # type: ignore[arg-type]
    unsigned = {k: v for k, v in params.items() if k != "Signature"}
    compose = getattr(rpc_signature_composer, "__compose_string_to_sign")  # the SDK's own, by name
    sdk = sha_hmac1.get_sign_string(compose("POST", unsigned), ACCESS_KEY_SECRET + "&")
    assert params["Signature"] == sdk == signature(ACCESS_KEY_SECRET, "POST", unsigned)
    assert "上海明远贸易有限公司" in params["TemplateParam"]  # Chinese values are signed as UTF-8


def test_throttling_is_tried_again_by_the_next_run(tmp_path: Path) -> None:
    with aliyun_sms() as (fake, url):
        fake.faults.append((200, "isv.BUSINESS_LIMIT_CONTROL"))
        cfg = _config(url)
        first = run_reminders(build_reminders(book(), AS_OF)[:1], cfg, sent_log(tmp_path), now=NOW)
        assert first[0].status == "failed" and "isv.BUSINESS_LIMIT_CONTROL" in first[0].detail
        second = run_reminders(build_reminders(book(), AS_OF)[:1], cfg, sent_log(tmp_path), now=NOW)
        assert second[0].status == "sent" and len(fake.sent) == 1


@pytest.mark.parametrize(
    ("overrides", "code", "hint"),
    [
        ({"access_key_secret": "a-wrong-secret-7Yh3"}, "SignatureDoesNotMatch", "access_key_secret"),
        ({"sign_name": "别家公司"}, "isv.SMS_SIGNATURE_ILLEGAL", "approved 短信签名"),
        (
            {"template_params": {"customer": "{{ customer }}"}},
            "isv.TEMPLATE_MISSING_PARAMETERS",
            "every variable",
        ),
        ({"to": ["1381234"]}, "isv.MOBILE_NUMBER_ILLEGAL", "mobile numbers"),
    ],
    ids=["wrong secret", "signature not approved", "variable missing", "not a mobile number"],
)
def test_a_refusal_names_aliyuns_code_and_the_fix(overrides: dict[str, Any], code: str, hint: str) -> None:
    with aliyun_sms() as (fake, url):
        channel = _config(url, **overrides).channels[0]
        with pytest.raises(PermanentError) as caught:
            send_sms(channel, build_reminders(book(), AS_OF)[0])  # type: ignore[arg-type]
        assert code in caught.value.message and hint in caught.value.render()
        assert "a-wrong-secret-7Yh3" not in caught.value.render() and not fake.sent


def test_no_balance_left_is_said_plainly(tmp_path: Path) -> None:
    with aliyun_sms() as (fake, url):
        fake.balance = 0
        outcome = run_reminders(build_reminders(book(), AS_OF)[:1], _config(url), sent_log(tmp_path), now=NOW)
        assert outcome[0].status == "failed" and "账户余额不足" in outcome[0].detail
