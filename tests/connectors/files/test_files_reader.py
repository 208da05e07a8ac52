"""The JSON Lines reader on its own: values as the file gives them, positions that survive edits."""

from __future__ import annotations

import itertools
import json
import os
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from connectors.files.reader import FilePosition, JsonlFile, parse_line
from sync.connector import PROBLEM_FIELD, SWEEP_FIELD


def read_all(
    path: Path, start: FilePosition | None = None
) -> tuple[list[dict[str, Any]], FilePosition, list[str]]:
    warnings: list[str] = []
    f = JsonlFile(path, start, warnings.append)
    return [r for r in f.records() if SWEEP_FIELD not in r], f.position, warnings


def test_a_number_with_cents_stays_its_decimal_text() -> None:
    assert parse_line('{"payment_amount": 1130.50, "n": 3}') == {"payment_amount": "1130.50", "n": 3}


def test_epoch_millisecond_times_stay_integers() -> None:
    assert parse_line('{"payment_time": 1793635200000}') == {"payment_time": 1793635200000}


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        pytest.param('{"a": NaN}', "NaN is not a number JSON allows", id="NaN"),
        pytest.param('{"a": "1", "a": "2"}', "key 'a' appears twice", id="a duplicate key"),
        pytest.param('["_id", "x"]', "expected one JSON object per line, found list", id="a list"),
        pytest.param('{"a": "1"', "not valid JSON", id="a cut-off object"),
    ],
)
def test_lines_that_are_not_one_clean_object_are_refused(line: str, expected: str) -> None:
    with pytest.raises(ValueError, match=expected):
        parse_line(line)


@given(st.decimals(allow_nan=False, allow_infinity=False, places=2, min_value=-(10**12), max_value=10**12))
def test_any_amount_written_as_a_json_number_keeps_every_cent(amount: Decimal) -> None:
    text = f"{amount:.2f}"
    assert Decimal(parse_line(f'{{"order_amount": {text}}}')["order_amount"]) == amount


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
    max_leaves=10,
)


@settings(max_examples=60)
@given(st.dictionaries(st.text(), _json, max_size=6))
def test_any_record_without_fractions_round_trips_unchanged(record: dict[str, Any]) -> None:
    assert parse_line(json.dumps(record, ensure_ascii=False)) == record


def test_bom_blank_lines_and_crlf_are_tolerated(tmp_path: Path) -> None:
    path = tmp_path / "AccountObj.jsonl"
    path.write_bytes(
        '\ufeff{"_id": "a1", "name": "上海明远信息科技有限公司"}\r\n\r\n{"_id": "a2"}\n'.encode()
    )
    records, pos, _ = read_all(path)
    assert [r["_id"] for r in records] == ["a1", "a2"]
    assert pos.line == 3
    assert pos.offset == path.stat().st_size


def test_invalid_utf8_is_a_problem_record_not_a_crash(tmp_path: Path) -> None:
    path = tmp_path / "PaymentObj.jsonl"
    path.write_bytes(b'{"_id": "p1"}\n{"_id": "\xb2\xe2\xca\xd4"}\n{"_id": "p3"}\n')  # GBK bytes
    records, _, _ = read_all(path)
    assert records[1][PROBLEM_FIELD].startswith("PaymentObj.jsonl:2: not UTF-8 text")
    assert records[2] == {"_id": "p3"}


def test_an_unfinished_last_line_is_left_for_the_next_run(tmp_path: Path) -> None:
    path = tmp_path / "PaymentObj.jsonl"
    path.write_text('{"_id": "p1"}\n{"_id": "p2", "payment_am', encoding="utf-8")
    records, pos, warnings = read_all(path)
    assert records == [{"_id": "p1"}]
    assert "PaymentObj.jsonl:2: the last line has no line end" in warnings[0]
    with path.open("a", encoding="utf-8") as fh:
        fh.write('ount": "30.00"}\n')
    records, _, _ = read_all(path, pos)
    assert records == [{"_id": "p2", "payment_amount": "30.00"}]


def test_a_complete_last_line_without_line_end_is_read(tmp_path: Path) -> None:
    path = tmp_path / "PaymentObj.jsonl"
    path.write_text('{"_id": "p1"}\n{"_id": "p2"}', encoding="utf-8")
    records, pos, _ = read_all(path)
    assert [r["_id"] for r in records] == ["p1", "p2"]
    assert read_all(path, pos)[0] == []


def test_a_file_with_the_size_and_mtime_of_the_state_is_trusted_unopened(tmp_path: Path) -> None:
    # the cheap path of the second run over 1M records: an equal (size, mtime) is not re-hashed
    path = tmp_path / "PaymentObj.jsonl"
    path.write_text('{"_id": "p1"}\n', encoding="utf-8")
    _, pos, _ = read_all(path)
    path.write_text('{"_id": "p9"}\n', encoding="utf-8")
    os.utime(path, ns=(pos.mtime_ns, pos.mtime_ns))
    assert read_all(path, pos)[0] == []


def test_a_touched_but_identical_file_yields_nothing_new(tmp_path: Path) -> None:
    path = tmp_path / "PaymentObj.jsonl"
    path.write_text('{"_id": "p1"}\n', encoding="utf-8")
    _, pos, _ = read_all(path)
    later = pos.mtime_ns + 5_000_000_000
    os.utime(path, ns=(later, later))
    records, pos2, warnings = read_all(path, pos)
    assert records == [] and warnings == []
    assert pos2.mtime_ns == later  # the next run takes the cheap path again


def test_a_same_size_edit_is_detected_by_the_prefix_hash(tmp_path: Path) -> None:
    path = tmp_path / "PaymentObj.jsonl"
    path.write_text('{"_id": "p1", "payment_amount": "10.00"}\n', encoding="utf-8")
    _, pos, _ = read_all(path)
    path.write_text('{"_id": "p1", "payment_amount": "19.00"}\n', encoding="utf-8")
    os.utime(path, ns=(pos.mtime_ns + 1, pos.mtime_ns + 1))
    records, _, warnings = read_all(path, pos)
    assert records == [{"_id": "p1", "payment_amount": "19.00"}]
    assert "changed before line 2" in warnings[0]


@pytest.mark.parametrize(
    "state",
    [
        pytest.param({}, id="empty"),
        pytest.param(
            {
                "v": 1,
                "file": "OtherObj.jsonl",
                "offset": 3,
                "line": 1,
                "size": 3,
                "mtime_ns": 1,
                "sha256": "x",
            },
            id="another file's position",
        ),
        pytest.param({"v": 1, "file": "PaymentObj.jsonl", "offset": "x"}, id="garbage"),
        pytest.param({"last_modified_time": 1793635200000}, id="a field cursor from another source"),
    ],
)
def test_a_state_that_is_not_this_files_position_means_start_from_the_top(state: dict[str, Any]) -> None:
    assert FilePosition.from_state(state, "PaymentObj.jsonl") is None


def test_a_position_survives_its_state_form() -> None:
    pos = FilePosition("PaymentObj.jsonl", 120, 3, 500, 1793635200000000000, "ab" * 32)
    assert FilePosition.from_state(json.loads(json.dumps(pos.to_state())), "PaymentObj.jsonl") == pos


def test_the_state_asked_for_mid_read_is_the_position_after_the_last_record(tmp_path: Path) -> None:
    path = tmp_path / "PaymentObj.jsonl"
    path.write_text("".join(f'{{"_id": "p{n}"}}\n' for n in range(1, 6)), encoding="utf-8")
    f = JsonlFile(path, None, print)
    for n, record in enumerate((r for r in f.records() if SWEEP_FIELD not in r), start=1):
        state = f.state()
        assert state == f.position.to_state()
        assert (record["_id"], state["line"]) == (f"p{n}", n)
        assert path.read_bytes()[: state["offset"]].endswith(f'"p{n}"}}\n'.encode())


_record_st = st.fixed_dictionaries(
    {
        "_id": st.text(alphabet="0123456789abcdef", min_size=24, max_size=24),
        "payment_amount": st.decimals(min_value=0, max_value=10**9, places=2).map(str),
        "account_id__r": st.sampled_from(["上海明远信息科技有限公司", "成都蜀通物流有限公司", ""]),
    }
)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.lists(_record_st, max_size=6), min_size=1, max_size=5), st.data())
def test_appending_exports_across_interrupted_runs_delivers_each_record_once_in_order(
    tmp_path_factory: pytest.TempPathFactory, appends: list[list[dict[str, Any]]], data: st.DataObject
) -> None:
    path = tmp_path_factory.mktemp("exports") / "PaymentObj.jsonl"
    path.write_text("", encoding="utf-8")
    saved: FilePosition | None = None
    delivered: list[dict[str, Any]] = []
    for batch in appends:
        with path.open("a", encoding="utf-8") as fh:
            fh.writelines(json.dumps(r, ensure_ascii=False) + "\n" for r in batch)
        while True:  # runs cut off after a random number of records, until one reads to the end
            f = JsonlFile(path, saved, lambda _: None)
            stop = data.draw(st.integers(min_value=1, max_value=4))
            taken = list(itertools.islice(f.records(), stop))
            real = [r for r in taken if SWEEP_FIELD not in r]
            delivered.extend(real)
            saved = f.position  # the checkpoint a STATE message after the last record carries
            if len(taken) < stop or len(real) < len(taken):  # the end, or the end-of-file marker
                break
    assert delivered == [r for batch in appends for r in batch]


@settings(max_examples=30, deadline=None)
@given(st.lists(_record_st, min_size=1, max_size=8, unique_by=lambda r: r["_id"]), st.data())
def test_any_edit_before_the_position_makes_the_next_read_deliver_the_whole_file(
    tmp_path_factory: pytest.TempPathFactory, records: list[dict[str, Any]], data: st.DataObject
) -> None:
    path = tmp_path_factory.mktemp("exports") / "PaymentObj.jsonl"
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
    _, pos, _ = read_all(path)
    i = data.draw(st.integers(min_value=0, max_value=len(records) - 1))
    edited = [dict(r) for r in records]
    edited[i]["payment_amount"] = str(Decimal(edited[i]["payment_amount"]) + Decimal("0.01"))
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in edited), encoding="utf-8")
    os.utime(path, ns=(pos.mtime_ns + 1_000_000, pos.mtime_ns + 1_000_000))  # a later export
    assert read_all(path, pos)[0] == edited


def _sweeps(path: Path, start: FilePosition | None = None) -> tuple[list[dict[str, Any]], FilePosition]:
    f = JsonlFile(path, start, lambda _: None)
    got = list(f.records())
    return [r for r in got if SWEEP_FIELD in r], f.position


def test_a_whole_pass_ends_with_a_sweep_naming_the_problem_lines_it_has_now(tmp_path: Path) -> None:
    path = tmp_path / "PaymentObj.jsonl"
    path.write_text('{"_id": "p1"}\n{not json\n{"_id": "p3"}\n', encoding="utf-8")

    [sweep], _ = _sweeps(path)
    assert sweep == {"_id": "PaymentObj.jsonl", SWEEP_FIELD: ["PaymentObj.jsonl:2"]}


def test_an_appended_read_and_an_unfinished_file_make_no_sweep(tmp_path: Path) -> None:
    path = tmp_path / "PaymentObj.jsonl"
    path.write_text('{"_id": "p1"}\n', encoding="utf-8")
    _, pos = _sweeps(path)
    with path.open("a", encoding="utf-8") as fh:
        fh.write('{"_id": "p2"}\n')
    assert _sweeps(path, pos)[0] == []  # the earlier lines were not read again: nothing is known of them
    path.write_text('{"_id": "p1"}\n{"_id": "p2"', encoding="utf-8")  # the export is still being written
    assert _sweeps(path)[0] == []
