"""Every answer shape Kingdee gives, classified from its body (spec §3.5, §9): one row each."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from connectors.kingdee.auth import Credentials, LoginAuth, SignatureAuth
from connectors.kingdee.client import KingdeeClient
from connectors.kingdee.destination import KingdeeDestination
from connectors.kingdee.render import RenderSettings
from sync.destination import Outcome
from sync.errors import ConfigurationError, DestinationUnavailable
from tests.connectors.kingdee.conftest import APP_ID, APP_SECRET, order_voucher
from tests.connectors.kingdee.scripted import Answer, Script, scripted_server, status

CREDS = Credentials("65a1b2c3d4e5f6", "webapi", APP_ID, APP_SECRET)
LOST = status(False, 1, [(None, "会话信息已丢失，请重新登录", 0)])


@pytest.fixture
def site() -> Iterator[tuple[KingdeeDestination, Script]]:
    with scripted_server() as (url, script):
        client = KingdeeClient(url, SignatureAuth(CREDS), timeout=0.5)
        yield KingdeeDestination(client, RenderSettings(account_book="001")), script


SAVED = status(True, 0, successes=[(104387, "CRM-SO-2025-000123", 0)])
SAVED["Result"]["NeedReturnData"] = [{"FVOUCHERID": 104387, "FVOUCHERGROUPNO": "57"}]

CASES: list[Any] = [
    pytest.param(Answer(body=SAVED), Outcome.POSTED, "", id="success envelope: posted with id and 凭证号"),
    pytest.param(
        Answer(
            body=status(False, 11, [("FACCOUNTID", "第1行分录，科目“1122”的核算维度“客户”为必录项！", 0)])
        ),
        Outcome.PERMANENT,
        "第1行分录，科目“1122”的核算维度“客户”为必录项！",
        id="MsgCode 11 validation: permanent, Kingdee's text verbatim",
    ),
    pytest.param(
        Answer(body=status(False, 2, [(None, "没有凭证的新增权限", 0)])),
        Outcome.PERMANENT,
        "没有凭证的新增权限",
        id="MsgCode 2 no permission: permanent",
    ),
    pytest.param(
        Answer(body=status(False, 9, [(None, "元数据中标识为FIssueType的字段不存在", 0)])),
        Outcome.PERMANENT,
        "元数据中标识为FIssueType的字段不存在",
        id="MsgCode 9 missing field: permanent",
    ),
    pytest.param(
        Answer(body=status(False, 11, [(None, "凭证借贷方不平衡", 0)], is_success_text=True)),
        Outcome.PERMANENT,
        "凭证借贷方不平衡",
        id="IsSuccess as the string 'false': still a failure",
    ),
    pytest.param(
        Answer(body=status(False, 13, [(None, "网控冲突：凭证正在被其他用户操作", 0)])),
        Outcome.TRANSIENT,
        "网控冲突",
        id="MsgCode 13 network-control lock: transient",
    ),
    pytest.param(
        Answer(body=status(False, 14, [(None, "接口调用频率超出限制", 0)])),
        Outcome.TRANSIENT,
        "调用频率",
        id="MsgCode 14 call limit: transient",
    ),
    pytest.param(
        Answer(status=503, raw=b"<html>503 Service Unavailable</html>"),
        Outcome.TRANSIENT,
        "HTTP 503",
        id="HTTP 503: transient",
    ),
    pytest.param(
        Answer(status=500, raw=b"<html>Internal Server Error</html>"),
        Outcome.TRANSIENT,
        "HTTP 500",
        id="HTTP 500: transient",
    ),
    pytest.param(
        Answer(raw="response_error: 对象引用未设置到对象的实例。".encode()),
        Outcome.TRANSIENT,
        "server exception",
        id="response_error: body: transient",
    ),
    pytest.param(
        Answer(status=519, body={"errcode": 4011, "description": "调用频率过高[GW]"}),
        Outcome.TRANSIENT,
        "errcode 4011",
        id="HTTP 519 gateway rejection, non-credential errcode: transient",
    ),
    pytest.param(
        Answer(body=SAVED, delay=1.2),
        Outcome.UNKNOWN,
        "timed out",
        id="read timeout after sending: unknown, look up before resending",
    ),
    pytest.param(
        Answer(raw=b"<html>OK</html>"),
        Outcome.UNKNOWN,
        "not JSON",
        id="HTTP 200 with a body that is not JSON: unknown",
    ),
    pytest.param(
        Answer(body={"Result": {}}),
        Outcome.UNKNOWN,
        "not a result envelope",
        id="JSON that is not an envelope: unknown",
    ),
    pytest.param(
        [Answer(body=LOST), Answer(body=LOST)],
        Outcome.TRANSIENT,
        "lost the session again",
        id="session lost twice in a row: transient",
    ),
]


@pytest.mark.parametrize(("answers", "outcome", "text"), CASES)
def test_save_answer_is_classified_from_its_body(
    site: tuple[KingdeeDestination, Script], answers: Any, outcome: Outcome, text: str
) -> None:
    destination, script = site
    script.add("Save", *(answers if isinstance(answers, list) else [answers]))
    script.add("ExecuteBillQuery", Answer(body=[]), Answer(body=[["PRE001", "记"]]))
    [result] = destination.post([order_voucher()])
    assert result.outcome is outcome
    assert text in result.message
    if outcome is Outcome.POSTED:
        assert result.ref is not None and (result.ref.erp_id, result.ref.number) == ("104387", "记-57")


def test_a_lost_session_is_replayed_once_and_then_posts(site: tuple[KingdeeDestination, Script]) -> None:
    destination, script = site
    script.add("Save", Answer(body=LOST), Answer(body=SAVED))
    [result] = destination.post([order_voucher()])
    assert result.outcome is Outcome.POSTED
    assert [op for op, _ in script.seen].count("Save") == 2


def test_retry_after_of_a_throttled_answer_is_passed_on(site: tuple[KingdeeDestination, Script]) -> None:
    destination, script = site
    script.add("Save", Answer(status=429, body={}, headers=(("Retry-After", "7"),)))
    [result] = destination.post([order_voucher()])
    assert (result.outcome, result.retry_after) == (Outcome.TRANSIENT, 7.0)


@pytest.mark.parametrize("errcode", [4001, 4002, 4003, 4006])
def test_gateway_credential_or_clock_rejection_stops_the_run(
    site: tuple[KingdeeDestination, Script], errcode: int
) -> None:
    destination, script = site
    script.add(
        "ExecuteBillQuery", Answer(status=519, body={"errcode": errcode, "description": "Unauthorized[GW]"})
    )
    with pytest.raises(DestinationUnavailable, match=f"errcode {errcode}"):
        destination.post([order_voucher()])


def test_query_error_shape_for_an_unknown_reference_field_is_a_configuration_error(
    site: tuple[KingdeeDestination, Script],
) -> None:
    destination, script = site
    error = [[status(False, 9, [(None, "元数据中标识为FBillNoX的字段不存在", 0)])]]
    script.add("ExecuteBillQuery", Answer(body=error))
    with pytest.raises(ConfigurationError, match="元数据中标识为FBillNoX的字段不存在"):
        destination.lookup([order_voucher().external_ref])


def test_query_error_shape_with_a_network_lock_makes_the_batch_transient(
    site: tuple[KingdeeDestination, Script],
) -> None:
    destination, script = site
    script.add("ExecuteBillQuery", Answer(body=[[status(False, 13, [(None, "网控冲突", 0)])]]))
    [result] = destination.post([order_voucher()])
    assert result.outcome is Outcome.TRANSIENT and "网控冲突" in result.message
    assert "Save" not in [op for op, _ in script.seen]


def test_unreachable_site_raises_destination_unavailable() -> None:
    client = KingdeeClient("http://127.0.0.1:9/k3cloud/", SignatureAuth(CREDS), timeout=0.5)
    destination = KingdeeDestination(client, RenderSettings(account_book="001"))
    with pytest.raises(DestinationUnavailable, match="cannot be reached"):
        destination.post([order_voucher()])


def test_refused_login_raises_destination_unavailable_with_kingdee_message() -> None:
    with scripted_server() as (url, script):
        refused = {"Message": "用户名或密码错误！", "LoginResultType": 0, "KDSVCSessionId": None}
        script.add("LoginBySign", Answer(body=refused))
        client = KingdeeClient(url, LoginAuth(CREDS), timeout=0.5)
        destination = KingdeeDestination(client, RenderSettings(account_book="001"))
        with pytest.raises(DestinationUnavailable, match="用户名或密码错误"):
            destination.post([order_voucher()])
        assert [op for op, _ in script.seen] == ["LoginBySign"]  # a wrong password is not tried three ways
