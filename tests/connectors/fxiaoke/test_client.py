"""The wire client against the fake: token lifetime, replay once, pacing, and errorCode classes."""

from __future__ import annotations

import time
from decimal import Decimal

import pytest

from connectors.fxiaoke.client import Credentials, FxiaokeClient, RateLimiter
from connectors.fxiaoke.errors import (
    ErrorKind,
    FxiaokeApiError,
    FxiaokeConfigError,
    FxiaokeTransientError,
    MalformedPage,
    classify,
)
from sync.backoff import Backoff
from sync.money import parse_amount
from sync.secrets import redact
from tests.connectors.fxiaoke.conftest import FAST_RETRY
from tests.fakes.fxiaoke import (
    APP_SECRET,
    OPEN_USER_ID,
    PERMANENT_CODE,
    QUERY_PATH,
    TOKEN_PATH,
    UPDATE_PATH,
    FakeFxiaoke,
)

PAGE = {"limit": 10, "offset": 0}


def client_for(fake: FakeFxiaoke, **overrides: str) -> FxiaokeClient:
    values = {
        "base_url": fake.url,
        "app_id": "FSAID_131a2b3c",
        "app_secret": APP_SECRET,
        "permanent_code": PERMANENT_CODE,
        "open_user_id": OPEN_USER_ID,
        **overrides,
    }
    return FxiaokeClient(
        Credentials(**values), requests_per_second=1000, retry=FAST_RETRY, timeout=(2.0, 0.5)
    )


def test_the_token_is_fetched_once_and_shared_by_every_client_of_the_same_app(fake: FakeFxiaoke) -> None:
    first, second = client_for(fake), client_for(fake)
    for _ in range(5):
        first.query("PaymentObj", PAGE)
        second.query("AccountObj", PAGE)

    assert len(fake.calls(TOKEN_PATH)) == 1
    sent = fake.calls(QUERY_PATH)[0]
    assert sent.body["corpId"].startswith("FSCID_") and sent.body["currentOpenUserId"] == OPEN_USER_ID
    assert (
        sent.query["thirdTraceId"]
        and sent.query["thirdTraceId"] != fake.calls(QUERY_PATH)[1].query["thirdTraceId"]
    )


def test_a_token_that_expired_is_refreshed_once_and_the_call_replayed(fake: FakeFxiaoke) -> None:
    client = client_for(fake)
    client.query("PaymentObj", PAGE)
    fake.expire_tokens()

    rows = client.query("PaymentObj", PAGE)

    assert len(rows) == 10
    assert len(fake.calls(TOKEN_PATH)) == 2
    assert [r.error_code for r in fake.calls(QUERY_PATH)] == [0, 20016, 0]


def test_a_token_refused_again_after_a_refresh_is_not_refreshed_in_a_loop(fake: FakeFxiaoke) -> None:
    fake.inject("error", code=20016, times=3)
    with pytest.raises(FxiaokeConfigError, match="errorCode 20016"):
        client_for(fake).query("PaymentObj", PAGE)

    assert len(fake.calls(TOKEN_PATH)) == 2
    assert len(fake.calls(QUERY_PATH)) == 2


def test_the_token_is_renewed_before_its_lifetime_ends() -> None:
    with FakeFxiaoke(records=5, rate_limit=None, token_ttl=1.2) as fake:
        client = client_for(fake)
        client.query("PaymentObj", PAGE)
        time.sleep(1.2)
        client.query("PaymentObj", PAGE)

        assert len(fake.calls(TOKEN_PATH)) == 2
        assert {r.error_code for r in fake.calls(QUERY_PATH)} == {0}  # never sent a dead token


@pytest.mark.parametrize(
    ("secret", "code", "fix"),
    [
        pytest.param(
            "ffffffffffffffffffffffffffffffff", 10006, "parameter missing or illegal", id="wrong app secret"
        ),
        pytest.param(APP_SECRET, 20015, "permanent_code is wrong", id="wrong permanent code"),
    ],
)
def test_wrong_credentials_are_a_configuration_error_naming_the_key_to_fix(
    fake: FakeFxiaoke, secret: str, code: int, fix: str
) -> None:
    overrides = {"app_secret": secret}
    if code == 20015:
        overrides["permanent_code"] = "00000000000000000000000000000000"
    with pytest.raises(FxiaokeConfigError) as caught:
        client_for(fake, **overrides).query("PaymentObj", PAGE)

    assert f"errorCode {code}" in caught.value.render() and fix in caught.value.render()
    assert secret not in redact(caught.value.render())
    assert len(fake.calls(TOKEN_PATH)) == 1  # not retried


@pytest.mark.parametrize("fault", ["http_500", "http_502", "http_503", "reset", "hang", "throttle"])
def test_transient_failures_are_retried_with_backoff(fake: FakeFxiaoke, fault: str) -> None:
    fake.inject(fault, times=2)

    rows = client_for(fake).query("PaymentObj", PAGE)

    assert len(rows) == 10
    assert [r.fault for r in fake.calls(QUERY_PATH)] == [fault, fault, None]


def test_retries_that_run_out_are_a_transient_error_saying_what_happened(fake: FakeFxiaoke) -> None:
    fake.inject("http_503", times=10)
    with pytest.raises(FxiaokeTransientError, match=r"gave up after 5 attempts; last problem: HTTP 503"):
        client_for(fake).query("PaymentObj", PAGE)


@pytest.mark.parametrize("fault", ["malformed", "not_json"])
def test_a_malformed_page_names_the_stream_and_offset(fake: FakeFxiaoke, fault: str) -> None:
    fake.inject(fault)
    with pytest.raises(MalformedPage) as caught:
        client_for(fake).query("PaymentObj", {"limit": 10, "offset": 20}, stream="PaymentObj")

    assert caught.value.stream == "PaymentObj" and caught.value.offset == 20
    assert "stream PaymentObj, offset 20" in caught.value.render()


def test_a_parameter_error_is_permanent_and_keeps_the_apis_words(fake: FakeFxiaoke) -> None:
    with pytest.raises(FxiaokeApiError) as caught:
        client_for(fake).query("PaymentObj", {"limit": 100, "offset": 10_100})

    assert caught.value.code == 10013 and caught.value.kind is ErrorKind.MALFORMED
    assert "offset out of range 10000" in caught.value.render()


def test_update_sets_fields_without_triggering_flows_and_a_locked_record_is_refused(
    fake: FakeFxiaoke,
) -> None:
    client = client_for(fake)
    open_id, locked_id = fake.ids("SalesOrderObj")[:2]
    fake.lock("SalesOrderObj", locked_id)

    client.update("SalesOrderObj", open_id, {"erp_voucher_no__c": "记-1024"})
    with pytest.raises(FxiaokeApiError, match="锁定"):
        client.update("SalesOrderObj", locked_id, {"erp_voucher_no__c": "记-1025"})

    assert fake.get("SalesOrderObj", open_id)["erp_voucher_no__c"] == "记-1024"
    assert [(u["id"], u["accepted"], u["triggerWorkFlow"]) for u in fake.updates] == [
        (open_id, True, False),
        (locked_id, False, False),
    ]
    assert len(fake.calls(UPDATE_PATH)) == 2


def test_describe_returns_the_objects_fields(fake: FakeFxiaoke) -> None:
    fields = client_for(fake).describe("PaymentObj")

    assert fields["payment_amount"]["type"] == "currency"
    assert fields["payment_time"]["type"] == "date"


def test_the_rate_limiter_spaces_calls_to_one_endpoint_but_not_across_endpoints() -> None:
    waits: list[float] = []
    limiter = RateLimiter(2.5, sleep=waits.append)

    for _ in range(3):
        limiter.wait(QUERY_PATH)
    limiter.wait(TOKEN_PATH)

    assert waits[0] == pytest.approx(0.4, abs=0.02) and waits[1] == pytest.approx(0.8, abs=0.02)
    assert len(waits) == 2  # the token endpoint did not wait


def test_the_backoff_grows_exponentially_with_jitter_and_is_capped() -> None:
    policy = Backoff(initial=1.0, maximum=8.0)
    for attempt, ceiling in [(1, 1.0), (2, 2.0), (3, 4.0), (4, 8.0), (9, 8.0)]:
        delay = policy.delay(attempt)
        assert ceiling / 2 <= delay <= ceiling


@pytest.mark.parametrize(
    ("code", "kind"),
    [
        (0, ErrorKind.OK),
        (20016, ErrorKind.TOKEN),
        (30004, ErrorKind.THROTTLE),
        (14001, ErrorKind.THROTTLE),
        (-1, ErrorKind.THROTTLE),
        (30002, ErrorKind.QUOTA),
        (30003, ErrorKind.QUOTA),
        (20014, ErrorKind.PERMISSION),
        (10013, ErrorKind.MALFORMED),
        (99999, ErrorKind.UNKNOWN),
    ],
)
def test_every_error_code_has_a_class(code: int, kind: ErrorKind) -> None:
    assert classify(code) is kind


def test_the_token_endpoint_is_never_called_more_than_ten_times_a_minute() -> None:
    from collections import deque

    from connectors.fxiaoke.client import _respect_token_limit

    now = time.monotonic()
    calls = deque(
        [now - 59.95] + [now - 1.0] * 9
    )  # ten calls in the last minute, the oldest about to age out
    started = time.monotonic()
    _respect_token_limit(calls)

    assert time.monotonic() - started >= 0.04  # waited for the oldest call to leave the window
    assert len(calls) == 10


def test_a_tenant_answering_amounts_as_json_numbers_is_read_exactly_never_through_float() -> None:
    query = {"limit": 10, "offset": 0}
    with FakeFxiaoke(records=5, numeric_amounts=True) as numeric, FakeFxiaoke(records=5) as textual:
        page = client_for(numeric).query("PaymentObj", query)
        expected = client_for(textual).query("PaymentObj", query)
        data = {"dataObjectApiName": "PaymentObj", "search_query_info": query}
        answered = client_for(numeric).call(QUERY_PATH, data)["data"]["dataList"]
    sent = [r["payment_amount"] for r in expected]
    got = [r["payment_amount"] for r in page]
    assert all(isinstance(a, str) for a in got)  # exact decimal text, as text-answering tenants send
    assert [parse_amount(a) for a in got] == [parse_amount(a) for a in sent]
    # the fake really answered JSON numbers, decoded as Decimal (a float would be refused)
    assert all(isinstance(r["payment_amount"], Decimal) for r in answered)
