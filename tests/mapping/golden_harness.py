"""Golden cases: mapping + records -> expected vouchers, one readable YAML file per feature.

Each ``golden/*.yaml`` holds ``mapping:`` (the mapping file's text), optional ``files:``
(lookup CSVs next to it), ``records:`` (stream -> records, in the CRM's own shapes) and
``expected:``, the outcome per record in a compact notation a reviewer reads in a diff:
``Dr 1122 1130.00 customer=C001`` per line. ``GOLDEN_UPDATE=1 pytest`` rewrites ``expected:``
from the actual output (review the diff before committing).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import yaml

from sync.mapping import MappingSet
from sync.mapping.api import RecordResult
from sync.model import Voucher

GOLDEN = Path(__file__).parent / "golden"


def render_voucher(v: Voucher) -> dict[str, Any]:
    out: dict[str, Any] = {
        "key": v.key,
        "book": v.book,
        "date": v.date.isoformat(),
        "period": v.period,
        "group": v.group,
        "summary": v.summary,
        "currency": v.currency,
    }
    lines = []
    for ln in v.lines:
        text = f"{'Dr' if ln.side.value == 'debit' else 'Cr'} {ln.account} {ln.amount}"
        if ln.amount_foreign is not None:
            text += f" [{ln.currency} {ln.amount_foreign} @ {ln.rate}]"
        text += "".join(f" {k}={val}" for k, val in ln.dims)
        if ln.memo and ln.memo != v.summary:
            text += f" «{ln.memo}»"
        lines.append(text)
    out["lines"] = lines
    out["sources"] = [
        f"{s.system}/{s.stream}/{s.record_id}"
        + (f" {s.name}" if s.name else "")
        + (f" {s.amount}" if s.amount is not None else "")
        for s in v.sources
    ]
    if v.extra_revision:
        out["extra_revision"] = v.extra_revision
    return out


def render_result(r: RecordResult) -> dict[str, Any]:
    if r.error is not None:
        err = r.error
        loc = err.location
        return {
            "record": r.record_id,
            "error": err.message,
            "at": f"{Path(loc.path).name}:{loc.line}" if loc else "",
            "field": err.field,
            "fix": err.hint,
        }
    if r.voided:
        return {"record": r.record_id, "voided": True, "reversal": r.reversal_style.value}
    if r.skipped:
        return {"record": r.record_id, "skipped": r.skip_reason}
    if r.contributions:
        return {"record": r.record_id, "group": r.contributions[0].group_key}
    return {
        "record": r.record_id,
        "reversal": r.reversal_style.value,
        "vouchers": [render_voucher(v) for v in r.vouchers],
    }


def run_case(path: Path, tmp: Path) -> dict[str, Any]:
    case = yaml.safe_load(path.read_text(encoding="utf-8"))
    mapping_file = tmp / "mapping.yaml"
    mapping_file.write_text(case["mapping"], encoding="utf-8")
    for name, text in (case.get("files") or {}).items():
        (tmp / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp / name).write_text(text, encoding="utf-8")
    accounts = case.get("accounts")
    ms = MappingSet.load([mapping_file], base_dir=tmp, accounts=accounts, profile=case.get("profile"))
    mapping = ms.mappings[0]
    results: list[dict[str, Any]] = []
    contributions = []
    for record in case["records"]:
        for r in ms.map_record(mapping.source, mapping.stream, record):
            results.append(render_result(r))
            contributions.extend(r.contributions)
    actual: dict[str, Any] = {"results": results}
    if contributions:
        groups: dict[str, list[Any]] = {}
        for c in contributions:
            groups.setdefault(c.group_key, []).append(c)
        actual["groups"] = [
            render_voucher(ms.assemble(mapping.name, key, members)) for key, members in sorted(groups.items())
        ]
    return actual


def update_expected(path: Path, actual: dict[str, Any]) -> None:
    text = path.read_text(encoding="utf-8")
    head = text.split("\nexpected:", 1)[0].rstrip("\n")
    dumped = yaml.safe_dump(actual, allow_unicode=True, sort_keys=False, width=120)
    path.write_text(
        f"{head}\nexpected:\n" + "".join(f"  {ln}\n" for ln in dumped.splitlines()), encoding="utf-8"
    )


def updating() -> bool:
    return os.environ.get("GOLDEN_UPDATE") == "1"
