"""The one dry run: read records from the start, map them, assemble groups; store nothing.

``crmsync preview`` shows what it produced, ``crmsync validate`` lists what failed, and
``crmsync check`` hands the vouchers to the destination to check its base data: all three
read and map through this module, so they can never disagree about what a record becomes.
Nothing read is dropped silently: every record read is counted as mapped, skipped by a rule
(``when`` or a void), or failed, and every failure is listed with the record id, the mapping
file:line and the reason.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sync.config import AppConfig
from sync.config.registry import resolve
from sync.engine.build import load_mapping_set
from sync.errors import ConfigurationError, CrmsyncError, MappingError
from sync.model import Voucher

__all__ = [
    "Failure",
    "Trial",
    "chart_accounts",
    "chart_rules",
    "load_mapping_set",
    "sample_vouchers",
    "trial_map",
]


@dataclass(frozen=True)
class Failure:
    """One record that could not become a voucher, with where to fix it."""

    source: str
    stream: str
    record_id: str
    mapping: str
    where: str
    reason: str
    fix: str = ""

    @classmethod
    def of(cls, source: str, stream: str, mapping: str, err: CrmsyncError, record_id: str = "") -> Failure:
        rid = record_id or getattr(err, "record_id", "")
        return cls(source, stream, rid, mapping, str(err.location or ""), err.message, err.hint)

    def text(self) -> str:
        where = f"{self.where}: " if self.where else ""
        head = f"record {self.record_id} ({self.source}/{self.stream}): {where}{self.reason}"
        return f"{head}\n  fix: {self.fix}" if self.fix else head

    def as_dict(self) -> dict[str, str]:
        return {
            "record_id": self.record_id,
            "source": self.source,
            "stream": self.stream,
            "mapping": self.mapping,
            "where": self.where,
            "reason": self.reason,
            "fix": self.fix,
        }


@dataclass
class Trial:
    """What a trial run produced; ``read == mapped + skipped + failed`` always holds."""

    vouchers: list[Voucher] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)
    counts: Counter[str] = field(default_factory=Counter)
    per_stream: dict[str, Counter[str]] = field(default_factory=dict)
    source_errors: list[str] = field(default_factory=list)
    #: the destination's own line rules (detail accounts, required dimensions), when known
    check: Callable[[Voucher], str | None] | None = None

    @property
    def ok(self) -> bool:
        return not self.failures and not self.source_errors

    def count_line(self) -> str:
        c = self.counts
        voided = f" (voided {c['voided']})" if c["voided"] else ""
        return (
            f"read {c['read']}: mapped {c['mapped']}, skipped by rule {c['skipped']}{voided}, "
            f"failed {c['failed']}; vouchers {len(self.vouchers)}"
        )


def chart_rules(config: AppConfig) -> Callable[[Voucher], str | None] | None:
    """The ledger's line rules (detail accounts only, required dimensions) for the chart in use."""
    path: Path | None = None
    if config.chart_of_accounts:
        path = config.resolve_path(config.chart_of_accounts)
    elif config.destination.type == "ledger":
        chart = (config.destination.model_extra or {}).get("chart")
        path = config.resolve_path(chart) if isinstance(chart, str) and chart else None
    if path is None and config.destination.type != "ledger":
        return None
    try:
        ledger = resolve("destination", "ledger")  # the ledger's chart format and shipped chart
        loaded = ledger.load_chart(path or ledger.DEFAULT_CHART_PATH)
    except ConfigurationError:  # not in the ledger's format: account codes only
        return None
    chart = loaded

    def check(voucher: Voucher) -> str | None:
        problems = [
            f"line {i} {p}"
            for i, ln in enumerate(voucher.lines, 1)
            if (p := chart.problem(ln.account, ln.dimensions))
        ]
        return "; ".join(problems) or None

    return check


def chart_accounts(config: AppConfig) -> tuple[frozenset[str] | None, str]:
    """The chart of accounts to check against: ``chart_of_accounts``, else the ledger's own chart."""
    from sync.mapping.chart import read_account_codes

    if config.chart_of_accounts:
        path = config.resolve_path(config.chart_of_accounts)
        return read_account_codes(path), str(path)
    if config.destination.type == "ledger":
        extra = config.destination.model_extra or {}
        chart = extra.get("chart")
        if isinstance(chart, str) and chart:
            path = config.resolve_path(chart)
            return read_account_codes(path), str(path)
        try:
            shipped = Path(resolve("destination", "ledger").DEFAULT_CHART_PATH)
        except ConfigurationError:
            return None, ""
        return read_account_codes(shipped), "the ledger's shipped chart"
    return None, ""


def _records(
    config: AppConfig, name: str, stream: str, limit: int | None, errors: list[str]
) -> Iterable[dict[str, Any]]:
    from sync.engine.build import build_sources
    from sync.engine.reading import build_catalog, read_messages

    handle = build_sources(config, {name})[name]
    catalog = build_catalog(name, handle, [stream])
    seen = 0
    for kind, got, data in read_messages(name, handle, catalog, [], errors):
        if kind != "record" or got != stream:
            continue
        yield data
        seen += 1
        if limit is not None and seen >= limit:
            return


def _selected(streams: dict[str, set[str]], wanted: str | None) -> list[tuple[str, str]]:
    pairs = sorted((src, s) for src, names in streams.items() for s in names)
    if wanted is None:
        return pairs
    chosen = [(src, s) for src, s in pairs if wanted in (s, f"{src}/{s}")]
    if not chosen:
        known = ", ".join(f"{src}/{s}" for src, s in pairs)
        raise ConfigurationError(f"no mapping reads stream {wanted!r}", hint=f"use one of: {known}")
    return chosen


def trial_map(
    config: AppConfig,
    mappings: Any,
    *,
    stream: str | None = None,
    limit: int | None = None,
    check: Callable[[Voucher], str | None] | None = None,
) -> Trial:
    """Read records (in-process, from the start, nothing stored), map them, assemble groups."""
    trial = Trial(check=check)
    groups: dict[tuple[str, str], list[Any]] = {}
    for source, name in _selected(mappings.streams(), stream):
        counts = trial.per_stream.setdefault(f"{source}/{name}", Counter())
        for record in _records(config, source, name, limit, trial.source_errors):
            outcome = _map_one(trial, mappings, source, name, record, groups=groups)
            for c in (counts, trial.counts):
                c["read"] += 1
                c["skipped" if outcome == "voided" else outcome] += 1
                if outcome == "voided":
                    c["voided"] += 1
    for (mapping, key), members in sorted(groups.items()):
        m = mappings.get(mapping)
        try:
            voucher = mappings.assemble(mapping, key, members)
        except MappingError as err:
            trial.failures.append(Failure.of(m.source, m.stream, mapping, err, record_id=key))
            continue
        problem = check(voucher) if check else None
        if problem:
            trial.failures.append(_refused(m, key, problem))
        else:
            trial.vouchers.append(voucher)
    return trial


def _refused(mapping: Any, record_id: str, problem: str) -> Failure:
    return Failure(
        mapping.source,
        mapping.stream,
        record_id,
        mapping.name,
        f"{mapping.file}:{mapping.line}",
        f"mapping {mapping.name!r}: the destination would refuse this voucher: {problem}",
        "post to a detail account of the chart and give the line the dimensions it requires",
    )


def _map_one(
    trial: Trial,
    mappings: Any,
    source: str,
    stream: str,
    record: dict[str, Any],
    *,
    groups: dict[tuple[str, str], list[Any]],
) -> str:
    results = mappings.map_record(source, stream, record)
    failed = [r for r in results if r.error is not None]
    for r in failed:
        trial.failures.append(Failure.of(source, stream, r.mapping, r.error, record_id=r.record_id))
    if trial.check is not None:
        for r in results:
            for v in r.vouchers:
                problem = trial.check(v)
                if problem:
                    failed.append(r)
                    trial.failures.append(_refused(mappings.get(r.mapping), r.record_id, problem))
    if failed:
        return "failed"
    produced = False
    for r in results:
        trial.vouchers.extend(r.vouchers)
        for c in r.contributions:
            groups.setdefault((c.mapping, c.group_key), []).append(c)
        produced = produced or bool(r.vouchers or r.contributions)
    if produced:
        return "mapped"
    return "voided" if any(r.voided for r in results) else "skipped"


def sample_vouchers(config: AppConfig, mappings: Any, per_stream: int) -> tuple[list[Voucher], list[str]]:
    """Up to ``per_stream`` records of each stream, mapped (for ``crmsync check``), and a note per source."""
    trial = trial_map(config, mappings, limit=per_stream)
    read: Counter[str] = Counter()
    for name, counts in trial.per_stream.items():
        read[name.split("/", 1)[0]] += counts["read"]
    notes = [
        f"source {name}: mapped {n} sample records into vouchers to check" for name, n in sorted(read.items())
    ]
    notes += [f"source error: {e}" for e in trial.source_errors]
    return trial.vouchers, notes
