"""The mapping language: YAML rules that turn source records into balanced vouchers.

The engine's entry point is ``MappingSet``: load every mapping file once (all problems
reported together, exit code 2), then ``map_record`` per record and ``assemble`` per
summarised group. See README "Mapping reference" for the language itself.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from pathlib import Path
from typing import Any

from sync.config.loader import ConfigProblems
from sync.connector import PROBLEM_FIELD
from sync.errors import Location, MappingError
from sync.mapping.api import Contribution, RecordResult
from sync.mapping.compiled import CompiledMapping
from sync.mapping.loader import compile_file
from sync.mapping.versions import mapping_version
from sync.model import Voucher
from sync.money import NumberFormat, number_format
from sync.yamlfile import Problem

__all__ = ["CompiledMapping", "Contribution", "MappingSet", "RecordResult"]


class MappingSet:
    """Every configured mapping, compiled; indexes them by (source, stream)."""

    def __init__(
        self,
        mappings: Sequence[CompiledMapping],
        number_formats: Mapping[str, NumberFormat] | None = None,
        *,
        chart: str = "",
    ) -> None:
        self.mappings: list[CompiledMapping] = list(mappings)
        #: source name -> how its records write amounts (default: 1,130.00)
        self.number_formats: dict[str, NumberFormat] = dict(number_formats or {})
        for m in self.mappings:
            m.stamp(mapping_version(m, self.number_formats.get(m.source), chart))
        #: mapping name -> the version its vouchers and index rows are stamped with
        self.versions: dict[str, str] = {m.name: m.version for m in self.mappings}
        self._by_stream: dict[tuple[str, str], list[CompiledMapping]] = {}
        for m in self.mappings:
            self._by_stream.setdefault((m.source, m.stream), []).append(m)
        self._by_name = {m.name: m for m in self.mappings}

    @classmethod
    def load(
        cls,
        paths: Sequence[Path],
        *,
        base_dir: Path,
        accounts: Collection[str] | None = None,
        profile: str | None = None,
        lookups_dir: Path | None = None,
        number_formats: Mapping[str, NumberFormat] | None = None,
        chart: str = "",
    ) -> MappingSet:
        """Compile every file once; raise ConfigProblems listing ALL located problems when any is wrong.

        ``accounts`` is the chart of accounts (unknown accounts become errors); ``profile`` the
        destination type whose ``account_profiles`` apply; ``lookups_dir`` a folder whose CSVs
        override the ones beside the mappings; ``number_formats`` how each source writes amounts;
        ``chart`` the digest of the configured chart of accounts (part of every mapping version).
        """
        problems: list[Problem] = []
        compiled: list[CompiledMapping] = []
        seen: dict[str, CompiledMapping] = {}
        for raw in paths:
            path = raw if raw.is_absolute() else base_dir / raw
            mapping, found = compile_file(path, accounts=accounts, profile=profile, lookups_dir=lookups_dir)
            problems.extend(found)
            if mapping is None:
                continue
            if mapping.name in seen:
                other = seen[mapping.name]
                problems.append(
                    Problem(
                        Location(mapping.file, mapping.line),
                        f"mapping name {mapping.name!r} is already used by {other.file}:{other.line}",
                        "give every mapping a unique `name:` (it is part of voucher keys)",
                    )
                )
                continue
            seen[mapping.name] = mapping
            compiled.append(mapping)
        if problems:
            raise ConfigProblems(problems)
        return cls(compiled, number_formats, chart=chart)

    def streams(self) -> dict[str, set[str]]:
        """Source name -> the streams the mappings read."""
        out: dict[str, set[str]] = {}
        for m in self.mappings:
            out.setdefault(m.source, set()).add(m.stream)
        return out

    def get(self, name: str) -> CompiledMapping:
        try:
            return self._by_name[name]
        except KeyError:
            raise MappingError(
                f"no mapping named {name!r}", hint="was the mapping file removed or renamed?"
            ) from None

    def map_record(self, source: str, stream: str, record: Mapping[str, Any]) -> list[RecordResult]:
        """One result per mapping reading this stream; a bad record gives an error result, never a raise."""
        mappings = self._by_stream.get((source, stream), ())
        problem = record.get(PROBLEM_FIELD)
        if problem is not None:
            # the source could not read this input (e.g. a malformed line): quarantine, never map
            rid = str(record.get("_id") or "(unreadable)")
            return [
                RecordResult(
                    m.name,
                    rid,
                    error=MappingError(
                        f"the source could not read this record: {problem}",
                        hint="fix the source data; it is re-read on the next run",
                        record_id=rid,
                    ),
                )
                for m in mappings
            ]
        with number_format(self.number_formats.get(source)):
            return [m.map(record) for m in mappings]

    def assemble(self, mapping: str, group_key: str, contributions: Sequence[Contribution]) -> Voucher:
        """The summarised voucher of a group from all its current member contributions."""
        return self.get(mapping).assemble(group_key, contributions)
