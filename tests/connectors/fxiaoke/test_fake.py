"""The fake gateway itself keeps the real API's rules (a fake that allowed anything would prove nothing)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import requests

from tests.fakes.fxiaoke import (
    APP_ID,
    APP_SECRET,
    OPEN_USER_ID,
    PERMANENT_CODE,
    QUERY_PATH,
    TOKEN_PATH,
    FakeFxiaoke,
)

ROOT = Path(__file__).resolve().parents[3]
EXAMPLES = ROOT / "examples" / "crm"


def post(fake: FakeFxiaoke, path: str, body: dict[str, Any]) -> dict[str, Any]:
    response = requests.post(f"{fake.url}{path}", json=body, timeout=5)
    assert response.status_code == 200  # errors, too, are HTTP 200
    answer: dict[str, Any] = response.json()
    return answer


def token(fake: FakeFxiaoke) -> dict[str, Any]:
    return post(fake, TOKEN_PATH, {"appId": APP_ID, "appSecret": APP_SECRET, "permanentCode": PERMANENT_CODE})


def query(fake: FakeFxiaoke, info: dict[str, Any], auth: dict[str, Any] | None = None) -> dict[str, Any]:
    auth = auth if auth is not None else token(fake)
    body = {
        "corpAccessToken": auth.get("corpAccessToken"),
        "corpId": auth.get("corpId"),
        "currentOpenUserId": OPEN_USER_ID,
        "data": {"dataObjectApiName": "PaymentObj", "search_query_info": info},
    }
    return post(fake, QUERY_PATH, body)


def test_the_same_token_is_handed_out_again_within_its_life(fake: FakeFxiaoke) -> None:
    first, second = token(fake), token(fake)

    assert first["corpAccessToken"] == second["corpAccessToken"]
    assert first["corpId"].startswith("FSCID_") and 0 < second["expiresIn"] <= 7200


def test_page_size_and_offset_limits_are_enforced(fake: FakeFxiaoke) -> None:
    assert query(fake, {"limit": 101, "offset": 0})["errorCode"] == 32000
    assert query(fake, {"limit": 10, "offset": 15})["errorCode"] == 32000
    too_deep = query(fake, {"limit": 100, "offset": 10_100})
    assert too_deep["errorCode"] == 10013 and too_deep["errorMessage"] == "offset out of range 10000"
    assert query(fake, {"limit": 100, "offset": 10_000})["errorCode"] == 0


def test_calls_without_or_with_a_dead_token_are_refused(fake: FakeFxiaoke) -> None:
    assert query(fake, {"limit": 10}, auth={})["errorCode"] == 20017
    auth = token(fake)
    fake.expire_tokens()
    assert query(fake, {"limit": 10}, auth=auth)["errorCode"] == 20016


def test_calls_above_the_rate_limit_are_throttled_per_endpoint() -> None:
    with FakeFxiaoke(records=5, rate_limit=(3, 60.0)) as fake:
        auth = token(fake)
        codes = [query(fake, {"limit": 5}, auth=auth)["errorCode"] for _ in range(5)]

    assert codes == [0, 0, 0, 30004, 30004]


def test_the_generated_tenant_has_the_shape_of_the_example_exports() -> None:
    with FakeFxiaoke(records=3, rate_limit=None) as fake:
        for path in sorted(EXAMPLES.glob("*.jsonl")):
            example = json.loads(path.read_text(encoding="utf-8").splitlines()[0])
            generated = fake.records(path.stem)[0]
            assert set(example) - {"remark"} <= set(generated), path.stem
            for name, value in example.items():
                assert type(generated.get(name, value)) is type(value), (path.stem, name)


def test_runs_as_a_process_and_prints_where_it_listens() -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.fakes.fxiaoke", "--records", "120", "--objects", "PaymentObj"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        info = json.loads(process.stdout.readline())
        answer = requests.post(
            f"{info['url']}{TOKEN_PATH}",
            json={
                "appId": info["app_id"],
                "appSecret": info["app_secret"],
                "permanentCode": info["permanent_code"],
            },
            timeout=5,
        ).json()
        assert answer["errorCode"] == 0
    finally:
        process.terminate()
        process.wait(timeout=10)
