"""End-to-end engine benchmark: synthetic payments (files source) -> mapping -> outbox -> ledger.

For each size (default 100,000 and 1,000,000 records) it writes a PaymentObj.jsonl export,
runs one full sync in a fresh subprocess and reports records/second end to end and the
peak resident memory of that process (``ru_maxrss``), then runs a second sync with nothing
changed (which must read nothing, map nothing and post nothing) and reports its time. Then
``crmsync remap`` over the stored records: once with nothing changed (every voucher left alone),
once after a lookup row was fixed (a quarter of the payments reversed and re-posted, ``--post``).

    .venv/bin/python -m bench.engine_bench                    # 100k and 1M
    .venv/bin/python -m bench.engine_bench --sizes 20000      # a quick look
    .venv/bin/python -m bench.engine_bench --state postgresql://postgres@127.0.0.1:5432/test

Memory must stay flat: the 1M run's peak at most 1.3x the 100k run's.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
MAPPING = ROOT / "mappings" / "fxiaoke-kingdee" / "payment_received.yaml"
BASE_MS = 1_793_462_400_000  # 2026-11-01 00:00 China time


def write_records(path: Path, n: int, seed: int = 1) -> None:
    """n payments, streamed to disk (the generator never holds them all)."""
    rng = random.Random(seed)
    customers = [
        line.split(",")[0]
        for line in (MAPPING.parent / "lookups" / "customers.csv")
        .read_text(encoding="utf-8")
        .splitlines()[1:]
    ]
    with path.open("w", encoding="utf-8") as fh:
        for i in range(n):
            cents = rng.randint(100, 99_999_999)
            rec = {
                "_id": f"b{i:09d}",
                "name": f"PAY-{i:09d}",
                "life_status": "normal",
                "account_id": customers[i % len(customers)],
                "account_id__r": "上海明远信息科技有限公司",
                "payment_time": BASE_MS + (i % 28) * 86_400_000 + 36_000_000,
                "payment_amount": f"{cents // 100}.{cents % 100:02d}",
                "payment_term": str(1 + i % 4),
            }
            fh.write(json.dumps(rec, ensure_ascii=False) + "\n")


def write_config(folder: Path, state_url: str) -> Path:
    shutil.copytree(MAPPING.parent, folder / "mappings")  # a copy the remap step may edit
    mapping = folder / "mappings" / MAPPING.name
    cfg = folder / "config.yaml"
    cfg.write_text(
        f"state: {{url: {json.dumps(state_url)}}}\n"
        "sources:\n  crm: {type: files, path: data, streams: [PaymentObj], checkpoint_interval: 1000}\n"
        f"destination: {{type: ledger, path: {json.dumps(str(folder / 'ledger.db'))}, batch_size: 500}}\n"
        f"mappings: [{json.dumps(str(mapping))}]\n",
        encoding="utf-8",
    )
    return cfg


def child(config: str) -> None:
    """One sync in this process; prints its figures as JSON."""
    import logging

    logging.basicConfig(level=logging.WARNING)
    t0 = time.perf_counter()
    # airbyte_cdk and the connectors: a fixed start-up cost, timed apart
    import connectors.files.source
    import connectors.ledger.factory  # noqa: F401
    from sync.config import load_config
    from sync.orchestration import sync_once

    imports = time.perf_counter() - t0
    before = resource.getrusage(resource.RUSAGE_SELF)
    started = time.perf_counter()
    cfg = load_config(config)
    summary = sync_once(cfg)
    seconds = time.perf_counter() - started
    usage = resource.getrusage(resource.RUSAGE_SELF)
    peak_kb = usage.ru_maxrss
    mapping_seconds = mapping_only(cfg)
    from sync.engine.build import open_store

    store = open_store(cfg, read_only=True)
    state_bytes = store.size_bytes()
    store.close()
    print(
        json.dumps(
            {
                "seconds": seconds,
                "imports": imports,
                # CPU seconds of the run (imports excluded): on a shared machine the fair speed figure
                "cpu": usage.ru_utime + usage.ru_stime - before.ru_utime - before.ru_stime,
                "peak_mb": peak_kb / 1024,
                "read": summary.read,
                "posted": summary.posted,
                "vouchers_posted": summary.vouchers_posted,
                "exit_code": summary.exit_code,
                # the same records through the same mappings alone, in this process, after the run
                "mapping_seconds": mapping_seconds,
                "state_bytes": state_bytes,
            }
        )
    )


def mapping_only(cfg: Any) -> float:
    """Seconds to map the run's records with its mappings and nothing else (read from the file)."""
    from sync.engine.build import load_mappings

    mappings = load_mappings(cfg)
    records = [
        json.loads(line) for line in (cfg.base_dir / "data" / "PaymentObj.jsonl").open(encoding="utf-8")
    ][:MAPPING_SAMPLE]
    started = time.perf_counter()
    for rec in records:
        mappings.map_record("crm", "PaymentObj", rec)
    return (time.perf_counter() - started) * 1.0 / len(records)


#: records mapped for the mapping-only rate (enough for a stable figure, few enough to hold)
MAPPING_SAMPLE = 50_000


def remap_child(config: str) -> None:
    """One ``remap --post`` in this process; prints its figures as JSON."""
    import logging

    logging.basicConfig(level=logging.WARNING)
    from sync.config import load_config
    from sync.engine.build import build_destination, load_mappings, open_store
    from sync.engine.remap import RemapScope, remap

    cfg = load_config(config)
    mappings = load_mappings(cfg)
    store = open_store(cfg)
    dest = build_destination(cfg)
    before = resource.getrusage(resource.RUSAGE_SELF)
    started = time.perf_counter()
    with store.locked(0):
        result = remap(store, mappings, dest, RemapScope(), post=True)
    seconds = time.perf_counter() - started
    usage = resource.getrusage(resource.RUSAGE_SELF)
    dest.close()
    store.close()
    figures = result.as_dict()
    print(
        json.dumps(
            {
                "seconds": seconds,
                "cpu": usage.ru_utime + usage.ru_stime - before.ru_utime - before.ru_stime,
                "peak_mb": usage.ru_maxrss / 1024,
                **{k: figures[k] for k in ("records", "unchanged", "added", "reversed")},
            }
        )
    )


def run_child(config: Path, mode: str = "--child") -> dict[str, Any]:
    started = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-m", "bench.engine_bench", mode, str(config)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    if out.returncode != 0:
        raise SystemExit(f"benchmark run failed:\n{out.stderr[-3000:]}")
    figures: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    figures["wall"] = time.perf_counter() - started
    return figures


def bench(n: int, state: str | None, keep: bool, remap: bool = True) -> dict[str, Any]:
    folder = Path(tempfile.mkdtemp(prefix=f"crmsync-bench-{n}-"))
    try:
        (folder / "data").mkdir()
        t = time.perf_counter()
        write_records(folder / "data" / "PaymentObj.jsonl", n)
        gen = time.perf_counter() - t
        url = f"{state}?schema=bench_{uuid.uuid4().hex[:10]}" if state else f"sqlite:///{folder / 'state.db'}"
        cfg = write_config(folder, url)
        first = run_child(cfg)
        second = run_child(cfg)
        assert first["posted"] == n, first
        assert second["read"] == 0 and second["vouchers_posted"] == 0, second
        if not remap:
            return {"records": n, "generate_s": gen, "first": first, "second": second, "remap": None}
        same = run_child(cfg, "--remap-child")
        assert same["unchanged"] == n and same["added"] == 0, same
        lookup = folder / "mappings" / "lookups" / "bank_accounts.csv"
        lookup.write_text(
            lookup.read_text(encoding="utf-8").replace("1,1002.01,", "1,1002.02,"), encoding="utf-8"
        )
        fixed = run_child(cfg, "--remap-child")
        assert fixed["added"] == fixed["reversed"] == n // 4, fixed
        return {"records": n, "generate_s": gen, "first": first, "second": second, "remap": (same, fixed)}
    finally:
        if not keep:
            shutil.rmtree(folder, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--state", help="postgresql://… base URL (default: SQLite in the temp folder)")
    parser.add_argument("--keep", action="store_true", help="keep the temp folders")
    parser.add_argument("--no-remap", action="store_true", help="only the two syncs (quicker at 1M)")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--remap-child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child)
        return
    if args.remap_child:
        remap_child(args.remap_child)
        return
    results = []
    for n in args.sizes:
        r = bench(n, args.state, args.keep, remap=not args.no_remap)
        results.append(r)
        f, s = r["first"], r["second"]
        map_rate = 1 / f["mapping_seconds"]
        end_rate = n / f["seconds"]
        print(
            f"{n:>9,} records: mapping only {map_rate:,.0f} rec/s, end to end {end_rate:,.0f} rec/s: "
            f"{end_rate / map_rate:.0%} of the mapping-only rate; state store {f['state_bytes'] / n:,.0f} "
            f"bytes per record ({f['state_bytes'] / 1e6:,.1f} MB)",
            flush=True,
        )
        print(
            f"{n:>9,} records: {n / f['seconds']:>8,.0f} rec/s end to end ({f['seconds']:.1f} s in the run, "
            f"{f['wall']:.1f} s with start-up, imports {f['imports']:.1f} s), "
            f"CPU {f.get('cpu', 0):.0f} s = "
            f"{n / max(f.get('cpu', 0), 1e-9):,.0f} rec per CPU-second, "
            f"peak RSS {f['peak_mb']:.0f} MB; "
            f"second run with nothing changed {s['seconds']:.2f} s (read {s['read']}, posted "
            f"{s['vouchers_posted']}), peak RSS {s['peak_mb']:.0f} MB",
            flush=True,
        )
        if r["remap"] is None:
            continue
        same, fixed = r["remap"]
        print(
            f"{'':>9}  remap, nothing changed: {same['seconds']:.1f} s ({n / same['seconds']:,.0f} rec/s, "
            f"{same['unchanged']:,} left alone), peak RSS {same['peak_mb']:.0f} MB; after a lookup fix: "
            f"{fixed['seconds']:.1f} s with --post ({fixed['reversed']:,} reversed, {fixed['added']:,} "
            f"re-posted), peak RSS {fixed['peak_mb']:.0f} MB",
            flush=True,
        )
    if len(results) >= 2:
        small, big = results[0]["first"]["peak_mb"], results[-1]["first"]["peak_mb"]
        ratio = big / small
        print(
            f"peak memory {results[-1]['records']:,} vs {results[0]['records']:,}: {ratio:.2f}x "
            f"({'flat' if ratio <= 1.3 else 'NOT flat: more than 1.3x'})"
        )


if __name__ == "__main__":
    main()
