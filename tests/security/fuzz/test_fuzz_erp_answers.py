"""Hostile answers from the ERPs and the CRM: Kingdee envelopes and query rows, SAP S/4 SOAP
confirmations and Business One errors, Fxiaoke pages. Whatever the server (or a proxy in
between) sends, the connector answers with its documented error or a correct result."""

from __future__ import annotations

import contextlib
import json
from typing import Any

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from connectors.fxiaoke.client import _BadBody, _data_list, _decode
from connectors.fxiaoke.errors import MalformedPage
from connectors.kingdee.answers import QueryError, parse_envelope, parse_query_rows
from connectors.kingdee.wire import loads
from connectors.sap.b1.client import error_of
from connectors.sap.s4.soap import Confirmation, SoapFault, parse_response

FUZZ = settings(
    max_examples=80, deadline=1000, derandomize=True, suppress_health_check=[HealthCheck.too_slow]
)

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=5)
    ),
    max_leaves=25,
)
KINGDEE_KEYS = ["Result", "ResponseStatus", "IsSuccess", "MsgCode", "Errors", "SuccessEntitys", "Message",
                "FieldName", "DIndex", "Id", "Number", "NeedReturnData"]  # fmt: skip
kingdee_like = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 20) | st.text(max_size=12),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.sampled_from(KINGDEE_KEYS), children, max_size=4)
    ),
    max_leaves=20,
)


def _wire(blob: bytes) -> Any:
    try:
        return loads(blob)
    except (ValueError, RecursionError):  # not JSON: the client reports it as an unreadable answer
        return None


@FUZZ
@given(body=kingdee_like | json_values)
def test_kingdee_envelopes_parse_or_raise_value_error(body: Any) -> None:
    try:
        env = parse_envelope(body)
    except ValueError:
        return
    assert isinstance(env.msg_code, int) and all(isinstance(e.message, str) for e in env.errors)


@FUZZ
@given(body=kingdee_like | json_values)
def test_kingdee_query_rows_parse_or_raise_their_errors(body: Any) -> None:
    try:
        rows = parse_query_rows(body)
    except (QueryError, ValueError):
        return
    assert all(isinstance(r, list) for r in rows)


@FUZZ
@given(blob=st.binary(max_size=500) | st.text(max_size=300).map(str.encode))
def test_kingdee_wire_bytes_decode_or_fail_as_value_error(blob: bytes) -> None:
    _wire(blob)


def test_kingdee_deeply_nested_json_is_refused_not_a_crash() -> None:
    with pytest.raises((ValueError, RecursionError)):
        loads(b"[" * 200_000 + b"]" * 200_000)


SOAP = (
    '<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" '
    'xmlns:n0="http://sap.com/xi/SAPSCORE/SFIN"><soap:Body>'
    "<n0:JournalEntryBulkCreateConfirmation>{inner}</n0:JournalEntryBulkCreateConfirmation>"
    "</soap:Body></soap:Envelope>"
)
SOAP_PARTS = ["<JournalEntryCreateConfirmation>", "</JournalEntryCreateConfirmation>", "<MessageHeader>",
              "</MessageHeader>", "<ReferenceID>", "</ReferenceID>", "<Log>", "</Log>", "<Item>", "</Item>",
              "<SeverityCode>", "</SeverityCode>", "<Note>", "</Note>", "<AccountingDocument>",
              "</AccountingDocument>", "3", "0000000000", "CRM-收-2026-11-01", "&amp;", "<", "&"]  # fmt: skip


@FUZZ
@given(parts=st.lists(st.sampled_from(SOAP_PARTS) | st.text(max_size=8), max_size=30))
def test_sap_soap_answers_parse_or_raise_value_error(parts: list[str]) -> None:
    body = SOAP.format(inner="".join(parts)).encode()
    try:
        result = parse_response(body)
    except ValueError:
        return
    assert isinstance(result, SoapFault) or all(isinstance(c, Confirmation) for c in result)


@FUZZ
@given(blob=st.binary(max_size=400))
def test_sap_soap_garbage_raises_value_error(blob: bytes) -> None:
    with contextlib.suppress(ValueError):
        parse_response(blob)


@FUZZ
@given(body=json_values, status=st.sampled_from([400, 401, 404, 500, 502]))
def test_b1_error_bodies_give_a_code_and_a_message(body: Any, status: int) -> None:
    response = requests.Response()
    response.status_code = status
    response._content = json.dumps(body).encode()
    code, message = error_of(response)
    assert isinstance(code, str) and isinstance(message, str)


@FUZZ
@given(blob=st.binary(max_size=300) | json_values.map(lambda v: json.dumps(v).encode()))
def test_fxiaoke_answers_decode_or_are_a_bad_body(blob: bytes) -> None:
    try:
        payload = _decode(blob)
    except _BadBody:
        return
    assert isinstance(payload["errorCode"], int)


page_rows = st.lists(
    st.fixed_dictionaries(
        {},
        optional={
            "_id": st.text(max_size=10) | st.integers(),
            "last_modified_time": st.integers() | st.text(max_size=5) | st.booleans() | st.none(),
            "name": st.text(max_size=10),
        },
    )
    | json_values,
    max_size=5,
)


@FUZZ
@given(
    payload=st.fixed_dictionaries(
        {"errorCode": st.just(0)},
        optional={"data": st.fixed_dictionaries({}, optional={"dataList": page_rows}) | json_values},
    )
)
def test_fxiaoke_pages_are_rows_or_a_malformed_page_naming_the_stream(payload: dict[str, Any]) -> None:
    try:
        rows = _data_list(payload, "PaymentObj", 200, "query")
    except MalformedPage as exc:
        assert "PaymentObj" in str(exc)
        return
    assert all(isinstance(r["_id"], str) and isinstance(r["last_modified_time"], int) for r in rows)
