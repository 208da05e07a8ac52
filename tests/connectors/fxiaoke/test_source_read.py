"""The source against the fake gateway: complete, incremental, exactly once, whatever the API does."""

from __future__ import annotations

from collections import Counter
from decimal import Decimal

from airbyte_cdk.models import FailureType

from sync.backoff import Backoff
from tests.connectors.fxiaoke.conftest import records, run, state_of, versions
from tests.fakes.fxiaoke import CUSTOM_QUERY_PATH, OBJECTS, QUERY_PATH, TOKEN_PATH, FakeFxiaoke


def test_full_read_delivers_every_record_of_every_object_exactly_as_the_api_sends_it(
    fake: FakeFxiaoke,
) -> None:
    out = run(fake.source_config(), OBJECTS)

    assert not out.errors
    for api in OBJECTS:
        assert records(out, api) == fake.records(api), api
    payment = records(out, "PaymentObj")[0]
    assert isinstance(payment["payment_amount"], str) and Decimal(payment["payment_amount"]) > 0
    assert isinstance(payment["payment_time"], int)
    assert sum(Decimal(r["payment_amount"]) for r in records(out, "PaymentObj")) == fake.total(
        "PaymentObj", "payment_amount"
    )


def test_incremental_read_after_edits_and_voids_delivers_only_the_changed_records(fake: FakeFxiaoke) -> None:
    config = fake.source_config()
    first = run(config, ["PaymentObj", "SalesOrderObj", "RefundObj"])
    payment_id = fake.ids("PaymentObj")[3]
    order_id = fake.ids("SalesOrderObj")[7]
    edited = fake.edit("PaymentObj", payment_id, payment_amount="12800.50")
    voided = fake.void("SalesOrderObj", order_id)
    added = fake.add("PaymentObj", payment_amount="3450.07")

    second = run(config, ["PaymentObj", "SalesOrderObj", "RefundObj"], state_of(first))

    assert not second.errors
    assert records(second, "PaymentObj") == [edited, added]
    assert records(second, "SalesOrderObj") == [voided]
    assert voided["life_status"] == "invalid"
    assert records(second, "RefundObj") == []


def test_incremental_query_starts_at_the_watermark_minus_the_overlap_sorted_ascending(
    fake: FakeFxiaoke,
) -> None:
    config = fake.source_config(lookback_minutes=5)
    first = run(config, ["PaymentObj"])
    watermark = max(r["last_modified_time"] for r in records(first))
    queries_before = len(fake.query_bodies())

    run(config, ["PaymentObj"], state_of(first))

    info = fake.query_bodies()[queries_before]["search_query_info"]
    assert info["filters"] == [
        {"field_name": "last_modified_time", "field_values": [str(watermark - 5 * 60_000)], "operator": "GTE"}
    ]
    assert info["orders"][0] == {"fieldName": "last_modified_time", "isAsc": True}
    assert info["offset"] == 0 and info["limit"] == 100


def test_overlap_rereads_are_dropped_so_a_second_run_without_changes_delivers_nothing() -> None:
    with FakeFxiaoke(records={"PaymentObj": 400}, rate_limit=None) as fake:
        config = fake.source_config(lookback_minutes=1440)  # a day of overlap re-reads several rows
        first = run(config, ["PaymentObj"])
        queries_of_first = len(fake.query_bodies())
        second = run(config, ["PaymentObj"], state_of(first))
        bound = int(
            fake.query_bodies()[queries_of_first]["search_query_info"]["filters"][0]["field_values"][0]
        )
        reread = [r for r in fake.records("PaymentObj") if r["last_modified_time"] >= bound]

    assert len(records(first)) == 400
    assert len(reread) >= 2  # the second run really fetched rows it had delivered before
    assert records(second) == []


def test_token_expiring_mid_read_is_refreshed_once_and_the_page_replayed() -> None:
    with FakeFxiaoke(records={"PaymentObj": 450}, rate_limit=None) as fake:
        fake.inject("token_expired", after=2)
        out = run(fake.source_config(), ["PaymentObj"])

        assert not out.errors
        assert Counter(versions(records(out))) == Counter(versions(fake.records("PaymentObj")))
        assert len(fake.calls(TOKEN_PATH)) == 2
        assert [r.error_code for r in fake.calls(QUERY_PATH)].count(20016) == 1


def test_throttled_calls_back_off_and_every_record_still_arrives() -> None:
    from connectors.fxiaoke.source import SourceFxiaoke
    from tests.connectors.fxiaoke.conftest import catalog

    # the fake allows 4 query calls per 0.3 s; the connector is told to go much faster
    with FakeFxiaoke(records={"PaymentObj": 1000}, rate_limit=(4, 0.3)) as fake:
        source = SourceFxiaoke(retry=Backoff(attempts=10, initial=0.05, maximum=0.3))
        from airbyte_cdk.test.entrypoint_wrapper import read

        out = read(source, fake.source_config(page_size=100), catalog("PaymentObj"))

        assert not out.errors
        assert len(records(out)) == 1000
        assert 30004 in {r.error_code for r in fake.calls(QUERY_PATH)}


def test_deep_paging_past_ten_thousand_rows_never_uses_an_offset_beyond_the_limit() -> None:
    import logging

    from airbyte_cdk.models import Type

    from tests.connectors.fxiaoke.conftest import catalog, make_source

    with FakeFxiaoke(records={"PaymentObj": 10_500}, rate_limit=None) as fake:
        # in-process, as crmsync sync runs it (no JSON round trip of 10,500 messages)
        messages = make_source().read(
            logging.getLogger("test"), fake.source_config(), catalog("PaymentObj"), None
        )
        delivered = [
            (m.record.data["_id"], m.record.data["last_modified_time"])
            for m in messages
            if m.type == Type.RECORD
        ]
        bodies = fake.query_bodies()
        answered = {r.error_code for r in fake.calls(QUERY_PATH)}
        expected = versions(fake.records("PaymentObj"))

    assert delivered == expected  # all 10,500, once each, in cursor order
    assert len(bodies) >= 105
    assert max(b["search_query_info"]["offset"] for b in bodies) <= 10_000
    assert answered == {0}


def test_more_rows_sharing_one_timestamp_than_a_page_holds_are_paged_by_id() -> None:
    with FakeFxiaoke(records={"PaymentObj": 260}, rate_limit=None) as fake:
        stamp = fake.bulk_edit("PaymentObj", fake.ids("PaymentObj"), remark="批量导入")
        out = run(fake.source_config(page_size=100), ["PaymentObj"])
        filters = [b["search_query_info"]["filters"] for b in fake.query_bodies()]

    assert not out.errors
    rows = records(out)
    assert len(rows) == 260 and len(set(versions(rows))) == 260
    assert all(r["last_modified_time"] == stamp for r in rows)
    assert {"field_name": "last_modified_time", "field_values": [str(stamp)], "operator": "EQ"} in filters[1]
    assert any(f["field_name"] == "_id" and f["operator"] == "GT" for f in filters[1])


def test_an_interrupted_read_resumes_from_its_last_page_and_the_union_is_exactly_once() -> None:
    with FakeFxiaoke(records={"PaymentObj": 500}, rate_limit=None) as fake:
        config = fake.source_config(page_size=50, lookback_minutes=1440)
        fake.inject("error", code=30002, after=4)  # quota runs out on the 5th page
        first = run(config, ["PaymentObj"], failing=True)
        queries_of_first = len(fake.query_bodies())
        second = run(config, ["PaymentObj"], state_of(first))
        resumed_from = fake.query_bodies()[queries_of_first]["search_query_info"]["filters"][0]
        expected = versions(fake.records("PaymentObj"))

    assert 4 * 49 <= len(records(first)) <= 4 * 50  # four pages (each re-reads its boundary row)
    delivered = versions(records(first)) + versions(records(second))
    assert sorted(delivered) == sorted(expected)  # none lost, none twice
    assert int(resumed_from["field_values"][0]) > expected[0][1]  # no full re-read


def test_records_edited_between_pages_are_not_lost_and_arrive_in_their_new_version() -> None:
    with FakeFxiaoke(records={"PaymentObj": 300}, rate_limit=None) as fake:
        ids = fake.ids("PaymentObj")
        read_already, not_yet_read = ids[10], ids[250]

        def sudden_edits() -> None:
            fake.edit("PaymentObj", read_already, payment_amount="1.01")
            fake.edit("PaymentObj", not_yet_read, payment_amount="2.02")

        fake.inject("after_page", fn=sudden_edits)
        out = run(fake.source_config(page_size=100), ["PaymentObj"])
        final = {r["_id"]: r for r in fake.records("PaymentObj")}

    rows = records(out)
    assert len(set(versions(rows))) == len(rows)  # no (id, time) twice
    latest = {r["_id"]: r for r in rows}  # the last delivery of each id wins
    assert latest == final  # nothing lost, every record in its final version
    assert [r["payment_amount"] for r in rows if r["_id"] == read_already][-1] == "1.01"


def test_a_malformed_page_fails_its_stream_with_stream_and_offset_named_and_others_go_on(
    fake: FakeFxiaoke,
) -> None:
    fake.inject("malformed")
    out = run(fake.source_config(), ["PaymentObj", "SalesOrderObj"], failing=True)

    errors = [e.trace.error for e in out.errors if e.trace.error.stream_descriptor]
    assert len(errors) == 1
    assert errors[0].stream_descriptor.name == "PaymentObj"
    assert errors[0].failure_type == FailureType.system_error
    assert "malformed page (stream PaymentObj, offset 0" in errors[0].message
    assert "KeyError" not in errors[0].message
    assert records(out, "SalesOrderObj") == fake.records("SalesOrderObj")


def test_a_malformed_page_behind_a_stale_token_still_reaches_the_stream(fake: FakeFxiaoke) -> None:
    run(fake.source_config(), ["SalesOrderObj"])  # the process now holds a token
    fake.expire_tokens()  # the first page is refused 20016; the replay gets the malformed page
    fake.inject("malformed")
    out = run(fake.source_config(), ["PaymentObj"], failing=True)

    errors = [e.trace.error for e in out.errors if e.trace.error.stream_descriptor]
    assert [e.stream_descriptor.name for e in errors] == ["PaymentObj"]
    assert "malformed page (stream PaymentObj, offset 0" in errors[0].message


def test_quota_exhausted_stops_the_stream_with_the_code_and_what_the_admin_must_do(fake: FakeFxiaoke) -> None:
    fake.inject("error", code=30002)
    out = run(fake.source_config(), ["PaymentObj", "AccountObj"], failing=True)

    error = next(e.trace.error for e in out.errors if e.trace.error.stream_descriptor)
    assert error.failure_type == FailureType.config_error
    assert "errorCode 30002" in error.message and "quota" in error.message and "00:00" in error.message
    assert len(fake.calls(QUERY_PATH)) == 1 + 2  # not retried; AccountObj still read (page + void sweep)
    assert records(out, "AccountObj") == fake.records("AccountObj")


def test_no_data_permission_stops_the_stream_and_names_the_user_setting(fake: FakeFxiaoke) -> None:
    fake.inject("error", code=20014)
    out = run(fake.source_config(), ["PaymentObj"], failing=True)

    error = next(e.trace.error for e in out.errors if e.trace.error.stream_descriptor)
    assert error.failure_type == FailureType.config_error
    assert "errorCode 20014" in error.message and "open_user_id" in error.message


def test_custom_objects_are_read_through_the_custom_object_endpoint() -> None:
    with FakeFxiaoke(records=0, custom_objects={"expense_claim__c": 130}, rate_limit=None) as fake:
        out = run(fake.source_config(streams=["expense_claim__c"]), ["expense_claim__c"])

        assert records(out) == fake.records("expense_claim__c")
        assert len(fake.calls(CUSTOM_QUERY_PATH)) == 2 + 1 and not fake.calls(QUERY_PATH)  # + the void sweep


def test_state_is_checkpointed_after_every_page(fake: FakeFxiaoke) -> None:
    out = run(fake.source_config(page_size=10), ["PaymentObj"])

    states = [m.state.stream.stream_state.__dict__ for m in out.state_messages]
    assert len(states) >= 3
    assert "void_from" in states[0] and "void_from" not in states[-1]  # the sweep is pending, then done
    watermarks = [s["last_modified_time"] for s in states]
    assert watermarks == sorted(watermarks)
    assert watermarks[-1] == max(r["last_modified_time"] for r in records(out))


def test_a_gateway_down_beyond_the_retries_is_a_transient_error_and_the_next_run_resumes(
    fake: FakeFxiaoke,
) -> None:
    fake.inject("http_503", times=5)
    failed = run(fake.source_config(), ["PaymentObj"], failing=True)
    error = next(e.trace.error for e in failed.errors if e.trace.error.stream_descriptor)
    again = run(fake.source_config(), ["PaymentObj"], state_of(failed))

    assert error.failure_type == FailureType.transient_error
    assert "gave up after 5 attempts; last problem: HTTP 503" in error.message
    assert records(failed) == [] and records(again) == fake.records("PaymentObj")


def test_voided_records_are_found_even_if_the_api_hides_them_from_unfiltered_queries() -> None:
    with FakeFxiaoke(records={"SalesOrderObj": 150}, rate_limit=None, hide_invalid=True) as fake:
        ids = fake.ids("SalesOrderObj")
        voided_before = fake.void("SalesOrderObj", ids[5])
        config = fake.source_config()
        first = run(config, ["SalesOrderObj"])
        voided_after = fake.void("SalesOrderObj", ids[80])
        edited = fake.edit("SalesOrderObj", ids[81], remark="客户要求延期交货")
        second = run(config, ["SalesOrderObj"], state_of(first))
        sweeps = [b for b in fake.query_bodies() if len(b["search_query_info"]["filters"]) > 1]

    assert len(records(first)) == 150 and records(first)[-1] == voided_before
    assert records(second) == [edited, voided_after]  # the main pass, then the sweep
    assert sweeps[0]["search_query_info"]["filters"][1] == {
        "field_name": "life_status",
        "field_values": ["invalid"],
        "operator": "EQ",
    }
