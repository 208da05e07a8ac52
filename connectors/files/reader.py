"""Reading one JSON Lines export incrementally, from a position that survives edits.

The position (``FilePosition``) is the stream state: bytes and lines consumed, the size and
mtime the file had, and the SHA-256 of the consumed prefix. A later run continues after the
prefix only if the prefix is byte-for-byte what was read (an appended export); any edit or
truncation before the position makes it re-read the whole file. Records re-emitted that way
are harmless: the engine dedupes by voucher key and revision. An unchanged file (same size,
mtime and fully consumed) is not even opened; mtime has the file system's granularity
(nanoseconds on ext4/xfs, a few milliseconds of kernel clock), so only an export rewritten to
the same size within one tick of its previous write would be missed until its next change.

Values are kept exactly as the file gives them, with one exception: a JSON number with a
fraction or exponent (``1130.5``) becomes its literal text (``"1130.5"``), never a float, so
cents cannot be lost on the way; integers (epoch-ms times) stay integers. NaN and Infinity,
duplicate keys, invalid UTF-8 and lines that are not JSON objects become *problem records*
(``sync.connector.problem_record``) naming the file and line; the stream goes on. After a
pass from the first line to the end, a sweep marker (``sync.connector.sweep_record``) names the
problem lines the file has now, so quarantined lines since fixed or removed are resolved.

This module does not import airbyte_cdk: the bench and the CDK stream both use it.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from sync.connector import PROBLEM_FIELD, problem_record, sweep_record

__all__ = ["STATE_VERSION", "FilePosition", "JsonlFile", "parse_line"]

STATE_VERSION: Final = 1
_READ_CHUNK: Final = 1 << 20


class _LineProblem(ValueError):
    """A line that is not one JSON object; the message is what a person reads."""


@dataclass(frozen=True, slots=True)
class FilePosition:
    """How far a file has been read; its dict form is the Airbyte stream state."""

    file: str
    offset: int = 0
    line: int = 0
    size: int = 0
    mtime_ns: int = 0
    sha256: str = hashlib.sha256(b"").hexdigest()

    def to_state(self) -> dict[str, Any]:
        # spelt out: dataclasses.asdict deep-copies, and the CDK asks for the state per record
        return {
            "v": STATE_VERSION,
            "file": self.file,
            "offset": self.offset,
            "line": self.line,
            "size": self.size,
            "mtime_ns": self.mtime_ns,
            "sha256": self.sha256,
        }

    @classmethod
    def from_state(cls, state: Mapping[str, Any] | None, file: str) -> FilePosition | None:
        """The position a state describes for ``file``; None when absent or not ours."""
        if not state or state.get("v") != STATE_VERSION or state.get("file") != file:
            return None
        try:
            pos = cls(
                file=file,
                offset=int(state["offset"]),
                line=int(state["line"]),
                size=int(state["size"]),
                mtime_ns=int(state["mtime_ns"]),
                sha256=str(state["sha256"]),
            )
        except (KeyError, TypeError, ValueError):
            return None
        return pos if pos.offset >= 0 and pos.line >= 0 else None


def _reject_constant(name: str) -> Any:
    raise _LineProblem(f"{name} is not a number JSON allows; export amounts as decimal strings")


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj = dict(pairs)
    if len(obj) != len(pairs):
        seen: set[str] = set()
        dupes = sorted({k for k, _ in pairs if k in seen or seen.add(k)})  # type: ignore[func-returns-value]
        raise _LineProblem(f"key {', '.join(map(repr, dupes))} appears twice in one record")
    return obj


#: built once: ``json.loads`` with options builds a new decoder per call (15 % of a read)
_DECODER: Final = json.JSONDecoder(
    parse_float=str, parse_constant=_reject_constant, object_pairs_hook=_unique_keys
)


def parse_line(text: str) -> dict[str, Any]:
    """One record from one line; floats kept as their decimal text. Raises ValueError."""
    try:
        value = _DECODER.decode(text)
    except json.JSONDecodeError as exc:
        raise _LineProblem(f"not valid JSON: {exc.msg} at column {exc.colno}") from None
    if not isinstance(value, dict):
        raise _LineProblem(f"expected one JSON object per line, found {type(value).__name__}")
    return value


class JsonlFile:
    """One export file read from a position; ``position`` is where the last yield left it.

    The position advances *before* each record is yielded, so a checkpoint taken after a
    record covers that record and nothing after it.
    """

    def __init__(self, path: Path, start: FilePosition | None, warn: Callable[[str], None]) -> None:
        self.path = path
        self._warn = warn
        self._saved = start or FilePosition(file=path.name)
        self._hasher: Any = None  # set while reading; the position is then computed from it
        self._offset = self._line = self._size = self._mtime_ns = 0
        self._complete = False  # the last read reached the end of the file

    @property
    def position(self) -> FilePosition:
        if self._hasher is None:
            return self._saved
        return FilePosition(
            self.path.name, self._offset, self._line, self._size, self._mtime_ns, self._hasher.hexdigest()
        )

    def state(self) -> dict[str, Any]:
        """``position.to_state()`` without the intermediate object (asked once per record)."""
        if self._hasher is None:
            return self._saved.to_state()
        return {
            "v": STATE_VERSION,
            "file": self.path.name,
            "offset": self._offset,
            "line": self._line,
            "size": self._size,
            "mtime_ns": self._mtime_ns,
            "sha256": self._hasher.hexdigest(),
        }

    def records(self) -> Iterator[dict[str, Any]]:
        try:
            st = self.path.stat()
        except FileNotFoundError:
            self._warn(f"{self.path}: file not found; no records read for this stream")
            return
        if not self._resume(st):
            return
        whole = self._offset == 0
        problems: list[str] = []
        for record in self._read():
            if PROBLEM_FIELD in record:
                problems.append(str(record["_id"]))
            yield record
        if whole and self._complete:  # every line is known: earlier problems not seen again are gone
            yield sweep_record(self.path.name, problems)
        try:
            end = self.path.stat()
        except FileNotFoundError:  # removed while we read: keep the size we read against
            return
        if self._offset == end.st_size:  # a later run compares against what the file is now
            self._size, self._mtime_ns = end.st_size, end.st_mtime_ns

    def _resume(self, st: os.stat_result) -> bool:
        """Set offset, line and prefix hasher to continue from; False when nothing is new."""
        pos = self._saved
        self._size, self._mtime_ns = st.st_size, st.st_mtime_ns
        unchanged = (pos.size, pos.mtime_ns) == (st.st_size, st.st_mtime_ns)
        if pos.offset and unchanged and pos.offset == st.st_size:
            return False  # unchanged since the last run: not even opened
        if pos.offset > st.st_size:
            self._warn(
                f"{self.path.name}: file is shorter than what was read before; reading it again from "
                "the start (records already synced are recognised by key and revision)"
            )
        if pos.offset == 0 or pos.offset > st.st_size:
            self._start_over()
            return True
        hasher = hashlib.sha256()
        remaining = pos.offset
        with self.path.open("rb") as fh:
            while remaining and (chunk := fh.read(min(_READ_CHUNK, remaining))):
                hasher.update(chunk)
                remaining -= len(chunk)
        if remaining or hasher.hexdigest() != pos.sha256:
            self._warn(
                f"{self.path.name}: file was changed before line {pos.line + 1}; reading it again "
                "from the start (records already synced are recognised by key and revision)"
            )
            self._start_over()
            return True
        self._hasher, self._offset, self._line = hasher, pos.offset, pos.line
        return pos.offset < st.st_size

    def _start_over(self) -> None:
        self._hasher, self._offset, self._line = hashlib.sha256(), 0, 0

    def _read(self) -> Iterator[dict[str, Any]]:
        name = self.path.name
        self._complete = False
        with self.path.open("rb") as fh:
            fh.seek(self._offset)
            for raw in fh:
                record = _record(raw, self._offset == 0, name, self._line + 1)
                if not raw.endswith(b"\n") and record is not None and PROBLEM_FIELD in record:
                    self._warn(
                        f"{name}:{self._line + 1}: the last line has no line end and is not a "
                        "complete record yet (export still running?); it is read on the next run"
                    )
                    return
                self._offset += len(raw)
                self._line += 1
                self._hasher.update(raw)
                if record is not None:
                    yield record
        self._complete = True


def _record(raw: bytes, first: bool, name: str, lineno: int) -> dict[str, Any] | None:
    """The record on one line, a problem record, or None for a blank line."""
    where = f"{name}:{lineno}"
    try:
        text = raw.decode("utf-8-sig" if first else "utf-8")
    except UnicodeDecodeError as exc:
        shown = raw.decode("utf-8", errors="replace").rstrip("\r\n")
        return problem_record(
            f"{where}: not UTF-8 text (byte {exc.start + 1}); export the file as UTF-8", shown, where
        )
    if not text.strip():
        return None
    try:
        return parse_line(text)
    except ValueError as exc:
        return problem_record(f"{where}: {exc}", text.rstrip("\r\n"), where)
