"""``crmsync preview``: read, map and validate records, show the vouchers; posts nothing.

The same trial run backs ``crmsync validate`` (which maps the sample records too). Nothing
read is dropped silently: every record read is counted as mapped, skipped by a rule (``when``
or a void), or failed, and every failure is listed with the record id, the mapping
file:line and the reason.
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import click

from sync.cli.common import config_option, format_option, run_command, setup_logging
from sync.config import AppConfig
from sync.errors import ConfigurationError, CrmsyncError, MappingError
from sync.model import Voucher
from sync.money import format_amount

__all__ = ["Failure", "Trial", "chart_accounts", "chart_rules", "load_mapping_set", "preview", "trial_map"]


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
    try:
        from connectors.ledger.chart import DEFAULT_CHART_PATH, load_chart

        loaded = (
            load_chart(path or DEFAULT_CHART_PATH) if path or config.destination.type == "ledger" else None
        )
    except (ImportError, ConfigurationError):  # not in the ledger's format: account codes only
        return None
    if loaded is None:
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
            from connectors.ledger.chart import DEFAULT_CHART_PATH
        except ImportError:
            return None, ""
        return read_account_codes(Path(DEFAULT_CHART_PATH)), "the ledger's shipped chart"
    return None, ""


def load_mapping_set(config: AppConfig, accounts: frozenset[str] | None) -> Any:
    """Every configured mapping, compiled and checked (against the chart when there is one)."""
    from sync.config.loader import mapping_files
    from sync.mapping import MappingSet

    lookups = config.resolve_path(config.lookups_dir) if config.lookups_dir else None
    return MappingSet.load(
        mapping_files(config),
        base_dir=config.base_dir,
        accounts=accounts,
        profile=config.destination.type,
        lookups_dir=lookups,
    )


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


# -- output -----------------------------------------------------------------------------------


def render_table(v: Voucher) -> str:
    """A voucher as finance reads it: header line, then one row per line (分录)."""
    src = v.source
    more = f" +{len(v.sources) - 1} more" if len(v.sources) > 1 else ""
    head = (
        f"{v.date.isoformat()}  {v.group}  {v.summary}  [{v.book} {v.period} {v.currency}]\n"
        f"  key {v.key}  rev {v.revision}  from {src.system}/{src.stream}/{src.record_id}{more}"
    )
    rows = [("account", "debit", "credit", "dims", "memo")]
    for ln in v.lines:
        debit = format_amount(ln.debit, v.currency) if ln.side.value == "debit" else ""
        credit = format_amount(ln.credit, v.currency) if ln.side.value == "credit" else ""
        dims = " ".join(f"{k}={val}" for k, val in ln.dims)
        if ln.amount_foreign is not None:
            dims = f"{ln.currency} {format_amount(ln.amount_foreign, ln.currency)} @ {ln.rate} {dims}".strip()
        rows.append((ln.account, debit, credit, dims, "" if ln.memo == v.summary else ln.memo))
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    lines = []
    for r in rows:
        lines.append(
            f"  {r[0]:<{widths[0]}}  {r[1]:>{widths[1]}}  {r[2]:>{widths[2]}}  "
            f"{r[3]:<{widths[3]}}  {r[4]}".rstrip()
        )
    total = format_amount(v.total, v.currency)
    return "\n".join([head, *lines, f"  {'':<{widths[0]}}  {total:>{widths[1]}}  {total:>{widths[2]}}"])


def _emit(trial: Trial, fmt: str) -> None:
    if fmt == "json":
        for v in trial.vouchers:
            click.echo(json.dumps(v.public_dict(), ensure_ascii=False))
        for f in trial.failures:
            click.echo(json.dumps({"failed": f.as_dict()}, ensure_ascii=False), err=True)
        for e in trial.source_errors:
            click.echo(json.dumps({"source_error": e}, ensure_ascii=False), err=True)
        click.echo(
            json.dumps(
                {
                    "counts": {k: trial.counts[k] for k in ("read", "mapped", "skipped", "voided", "failed")},
                    "vouchers": len(trial.vouchers),
                }
            ),
            err=True,
        )
        return
    for v in trial.vouchers:
        click.echo(render_table(v))
        click.echo("")
    if trial.failures:
        click.echo(f"failed records ({len(trial.failures)}):")
        for f in trial.failures:
            click.echo("  " + f.text().replace("\n", "\n  "))
    for e in trial.source_errors:
        click.echo(f"source error: {e}")
    click.echo(trial.count_line())


@click.command("preview")
@config_option
@click.option(
    "--stream",
    "stream",
    default=None,
    metavar="S",
    help="Only this stream (e.g. PaymentObj or crm/PaymentObj).",
)
@click.option(
    "--limit",
    "limit",
    default=None,
    type=click.IntRange(min=1),
    metavar="N",
    help="Read at most N records per stream.",
)
@format_option("table", "json")
@run_command
def preview(config_path: str, stream: str | None, limit: int | None, fmt: str) -> None:
    """Read, map and validate records and show the vouchers; nothing is posted or stored.

    \b
    --format json: one voucher per line on stdout (amounts as decimal strings); failed
    records and the counts as JSON lines on stderr.
    Exit codes: 0 every record mapped (or skipped by a rule), 1 some records failed,
    2 configuration problem.
    """
    from sync.config import load_config

    setup_logging()
    config = load_config(config_path)
    accounts, _ = chart_accounts(config)
    mappings = load_mapping_set(config, accounts)
    trial = trial_map(config, mappings, stream=stream, limit=limit, check=chart_rules(config))
    _emit(trial, fmt)
    if not trial.ok:
        sys.exit(1)
