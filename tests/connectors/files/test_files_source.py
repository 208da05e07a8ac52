"""The file source through the Airbyte protocol: what `spec`, `discover` and `read` print.

Every read goes through ``airbyte_cdk.test.entrypoint_wrapper``, which serialises the
messages and parses them back, so what is asserted is what an Airbyte platform would see.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from airbyte_cdk.models import AirbyteStateMessage, SyncMode, Type
from airbyte_cdk.test.catalog_builder import CatalogBuilder
from airbyte_cdk.test.entrypoint_wrapper import EntrypointOutput, _run_command, discover, read
from airbyte_cdk.test.state_builder import StateBuilder

from connectors.files.source import SourceFiles
from sync.connector import PROBLEM_FIELD, RAW_FIELD, SWEEP_FIELD

EXAMPLES = Path(__file__).resolve().parents[3] / "examples" / "crm"


def order(n: int, amount: str = "1130.00") -> dict[str, Any]:
    return {
        "_id": f"6561f0a2c3b4d5e6f7a8{n:04d}",
        "name": f"SO-20261103-{n:04d}",
        "account_id": "5eddcb1124c81d0001a4a0aa",
        "account_id__r": "上海明远信息科技有限公司",
        "order_time": 1793635200000,
        "order_amount": amount,
        "life_status": "normal",
        "last_modified_time": 1793678400000 + n,
    }


def write_orders(folder: Path, records: list[dict[str, Any]], name: str = "SalesOrderObj") -> Path:
    path = folder / f"{name}.jsonl"
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
    return path


def catalog(*streams: str, mode: SyncMode = SyncMode.incremental) -> Any:
    builder = CatalogBuilder()
    for s in streams:
        builder = builder.with_stream(s, mode)
    return builder.build()


def run(
    folder: Path,
    streams: tuple[str, ...] = ("SalesOrderObj",),
    state: list[AirbyteStateMessage] | None = None,
    interval: int = 1000,
    mode: SyncMode = SyncMode.incremental,
) -> EntrypointOutput:
    config = {"path": str(folder), "checkpoint_interval": interval}
    return read(SourceFiles(), config, catalog(*streams, mode=mode), state=state)


def recs(out: EntrypointOutput) -> list[Any]:
    """The record messages that are records (not the end-of-file sweep marker)."""
    return [m for m in out.records if SWEEP_FIELD not in m.record.data]


def data(out: EntrypointOutput) -> list[dict[str, Any]]:
    return [dict(m.record.data) for m in recs(out)]


def state_of(out: EntrypointOutput, stream: str = "SalesOrderObj") -> list[AirbyteStateMessage]:
    last = out.most_recent_state
    assert last is not None
    return StateBuilder().with_stream_state(stream, dict(last.stream_state.__dict__)).build()


def test_full_read_of_the_sample_tenant_emits_every_line_unchanged(tmp_path: Path) -> None:
    folder = tmp_path / "crm"
    shutil.copytree(EXAMPLES, folder)
    names = sorted(p.stem for p in folder.glob("*.jsonl"))
    out = run(folder, tuple(names))
    assert not out.errors
    for name in names:
        lines = [json.loads(x) for x in (folder / f"{name}.jsonl").read_text(encoding="utf-8").splitlines()]
        got = [dict(m.record.data) for m in recs(out) if m.record.stream == name]
        assert got == lines, name
    amounts = [r["order_amount"] for r in data(out) if "order_amount" in r]
    assert amounts and all(isinstance(a, str) for a in amounts)


def test_second_read_with_the_final_state_emits_nothing(tmp_path: Path) -> None:
    write_orders(tmp_path, [order(n) for n in range(1, 6)])
    first = run(tmp_path)
    second = run(tmp_path, state=state_of(first))
    assert len(recs(first)) == 5
    assert recs(second) == []


def test_appended_lines_are_the_only_records_of_the_next_read(tmp_path: Path) -> None:
    path = write_orders(tmp_path, [order(n) for n in range(1, 4)])
    first = run(tmp_path)
    with path.open("a", encoding="utf-8") as fh:
        fh.write(json.dumps(order(4, "88.80")) + "\n")
    second = run(tmp_path, state=state_of(first))
    assert [r["name"] for r in data(second)] == ["SO-20261103-0004"]
    assert data(second)[0]["order_amount"] == "88.80"


def test_read_resumes_after_the_last_checkpoint_of_an_interrupted_run(tmp_path: Path) -> None:
    write_orders(tmp_path, [order(n) for n in range(1, 26)])
    full = run(tmp_path, interval=10)
    states = [m.state for m in full.state_messages]
    assert len(states) >= 2
    mid = states[0].stream.stream_state.__dict__  # taken right after record 10
    assert mid["line"] == 10
    resumed = run(tmp_path, state=StateBuilder().with_stream_state("SalesOrderObj", dict(mid)).build())
    assert [r["name"] for r in data(resumed)] == [f"SO-20261103-{n:04d}" for n in range(11, 26)]


def test_checkpoints_come_every_n_records_and_cover_exactly_those_records(tmp_path: Path) -> None:
    write_orders(tmp_path, [order(n) for n in range(1, 8)])
    out = run(tmp_path, interval=3)
    seen = 0
    lines_at_state = []
    for msg in out.records_and_state_messages:
        if msg.type == Type.RECORD:
            seen += SWEEP_FIELD not in msg.record.data
        else:
            lines_at_state.append((seen, msg.state.stream.stream_state.__dict__["line"]))
    assert lines_at_state[:2] == [(3, 3), (6, 6)]
    assert lines_at_state[-1] == (7, 7)


def test_a_file_edited_before_the_position_is_read_again_whole(tmp_path: Path) -> None:
    path = write_orders(tmp_path, [order(n) for n in range(1, 4)])
    first = run(tmp_path)
    text = path.read_text(encoding="utf-8").replace('"1130.00"', '"1130.01"', 1)
    path.write_text(text + json.dumps(order(4)) + "\n", encoding="utf-8")
    second = run(tmp_path, state=state_of(first))
    assert [r["order_amount"] for r in data(second)] == ["1130.01", "1130.00", "1130.00", "1130.00"]
    assert second.is_in_logs("changed before line 4")


def test_a_file_replaced_by_a_shorter_one_is_read_again_whole(tmp_path: Path) -> None:
    write_orders(tmp_path, [order(n) for n in range(1, 6)])
    first = run(tmp_path)
    write_orders(tmp_path, [order(9)])
    second = run(tmp_path, state=state_of(first))
    assert [r["name"] for r in data(second)] == ["SO-20261103-0009"]


def test_full_refresh_ignores_the_state(tmp_path: Path) -> None:
    write_orders(tmp_path, [order(n) for n in range(1, 4)])
    first = run(tmp_path)
    again = run(tmp_path, state=state_of(first), mode=SyncMode.full_refresh)
    assert len(recs(again)) == 3


def test_a_malformed_line_becomes_a_problem_record_naming_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "PaymentObj.jsonl"
    good = json.dumps({"_id": "p1", "payment_amount": "500.00"})
    path.write_text(
        f'{good}\n{{"_id": "p2", "payment_amount": "12.00",\n{good.replace("p1", "p3")}\n', encoding="utf-8"
    )
    out = run(tmp_path, ("PaymentObj",))
    records = data(out)
    assert [r["_id"] for r in records] == ["p1", "PaymentObj.jsonl:2", "p3"]
    problem = records[1]
    assert problem[PROBLEM_FIELD].startswith("PaymentObj.jsonl:2: not valid JSON")
    assert problem[RAW_FIELD] == '{"_id": "p2", "payment_amount": "12.00",'
    assert not out.errors


def test_an_unknown_stream_file_that_is_missing_reads_as_empty_with_a_warning(tmp_path: Path) -> None:
    write_orders(tmp_path, [order(1)])
    out = read(
        SourceFiles(),
        {"path": str(tmp_path), "streams": ["SalesOrderObj", "RefundObj"]},
        catalog("SalesOrderObj", "RefundObj"),
    )
    assert len(recs(out)) == 1
    assert out.is_in_logs("RefundObj.jsonl: file not found")


def test_spec_declares_the_config_the_factory_passes() -> None:
    out = _run_command(SourceFiles(), ["spec"])
    spec = out.spec_messages[0].spec
    props = spec.connectionSpecification["properties"]
    assert spec.connectionSpecification["required"] == ["path"]
    assert set(props) == {"path", "streams", "checkpoint_interval"}


def test_discover_lists_one_incremental_stream_per_file_keyed_by_id(tmp_path: Path) -> None:
    shutil.copytree(EXAMPLES, tmp_path / "crm")
    out = discover(SourceFiles(), {"path": str(tmp_path / "crm")})
    streams = {s.name: s for s in out.catalog.catalog.streams}
    assert set(streams) == {p.stem for p in EXAMPLES.glob("*.jsonl")}
    pay = streams["PaymentObj"]
    assert pay.source_defined_primary_key == [["_id"]]
    assert SyncMode.incremental in pay.supported_sync_modes
    assert pay.json_schema["properties"]["payment_amount"]["type"] == ["null", "string"]


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        pytest.param({"path": "/nonexistent/crm-export"}, "does not exist", id="a missing folder"),
        pytest.param(
            {"streams": ["RefundObj"]}, "RefundObj.jsonl not found", id="a listed stream without a file"
        ),
        pytest.param({"streams": ["../etc"]}, "not object API names", id="a stream name that is a path"),
    ],
)
def test_check_fails_with_a_message_that_says_what_to_fix(
    tmp_path: Path, config: dict[str, Any], expected: str
) -> None:
    write_orders(tmp_path, [order(1)])
    cfg_path = tmp_path / "config.json"
    cfg_path.write_text(json.dumps({"path": str(tmp_path), **config}), encoding="utf-8")
    out = _run_command(SourceFiles(), ["check", "--config", str(cfg_path)])
    status = out.connection_status_messages[0].connectionStatus
    assert status.status.value == "FAILED"
    assert expected in status.message


def test_check_succeeds_on_the_sample_folder() -> None:
    ok, message = SourceFiles().check_connection(None, {"path": str(EXAMPLES)})  # type: ignore[arg-type]
    assert ok, message


def test_every_sample_record_conforms_to_the_schema_discover_announces(tmp_path: Path) -> None:
    jsonschema = pytest.importorskip("jsonschema")  # airbyte-cdk's own dependency
    folder = tmp_path / "crm"
    shutil.copytree(EXAMPLES, folder)
    schemas = {
        s.name: s.json_schema for s in discover(SourceFiles(), {"path": str(folder)}).catalog.catalog.streams
    }
    out = run(folder, tuple(sorted(schemas)))
    assert len(recs(out)) > 150
    validators = {name: jsonschema.Draft7Validator(schema) for name, schema in schemas.items()}
    for msg in recs(out):
        validators[msg.record.stream].validate(msg.record.data)


def test_reading_a_folder_that_does_not_exist_is_a_config_error_not_an_empty_read(tmp_path: Path) -> None:
    out = read(
        SourceFiles(),
        {"path": str(tmp_path / "导出-2026-11")},
        catalog("SalesOrderObj"),
        expecting_exception=True,
    )
    assert recs(out) == [] and out.state_messages == []
    [error] = out.errors
    assert error.trace.error.failure_type.value == "config_error"
    assert "导出-2026-11 does not exist" in error.trace.error.message


def test_a_catalog_stream_the_folder_lacks_is_a_config_error(tmp_path: Path) -> None:
    write_orders(tmp_path, [order(1)])
    out = read(
        SourceFiles(),
        {"path": str(tmp_path)},
        catalog("SalesOrderObj", "PaymentObj"),
        expecting_exception=True,
    )
    assert len(recs(out)) == 1  # the stream that exists is read; the sync still fails
    errors = [e.trace.error for e in out.errors]
    assert errors and all(e.failure_type.value == "config_error" for e in errors)
    assert any("'PaymentObj'" in str(e.internal_message) for e in errors)


def test_the_standalone_connector_emits_no_crmsync_marker_rows(tmp_path: Path) -> None:
    write_orders(tmp_path, [order(1), order(2)])
    out = read(SourceFiles(sweep_markers=False), {"path": str(tmp_path)}, catalog("SalesOrderObj"))
    assert [m.record.data["_id"] for m in out.records] == [order(1)["_id"], order(2)["_id"]]
