"""Voucher report at scale: peak memory and time of ``crmsync report vouchers`` per format.

A state store of N posted payment vouchers of one month (default 200,000) is written
directly through the store (sealed, as a sync writes them; no ERP is involved), then the
report of that month is made once per format in a fresh ``crmsync`` process, whose peak
resident memory (``ru_maxrss`` of the child) and wall time are printed with the file's size.

    .venv/bin/python -m bench.report_bench                 # 200,000 vouchers
    .venv/bin/python -m bench.report_bench --vouchers 20000

Target (issue 19): at most 300 MB peak for any format.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CRMSYNC = [sys.executable, "-m", "sync.cli"]
NAMES = (
    "上海明远信息科技有限公司",
    "北京华辰智能装备有限公司",
    "杭州青禾电子商务有限公司",
    "成都蜀通物流有限公司",
)


def build_state(folder: Path, n: int) -> Path:
    from sync.model import MappingRef, SourceRef, Voucher, VoucherLine
    from sync.state.sqlite import SqliteStore

    store = SqliteStore(folder / "state.db")
    mapping = MappingRef(name="payment_received", file="payment_received.yaml", line=4, version="bench")
    batch = 2000
    for start in range(0, n, batch):
        with store.transaction():
            posted = []
            for i in range(start, min(n, start + batch)):
                amount = Decimal(1000 + (i * 7919) % 9_000_000) / 100
                name = NAMES[i % len(NAMES)]
                summary = f"回款 PAY-{i:09d} {name}"
                v = Voucher(
                    key=f"payment_received:PaymentObj:b{i:09d}",
                    book="001",
                    date=dt.date(2026, 11, 1 + i % 30),
                    group="收",
                    summary=summary,
                    lines=(
                        VoucherLine(account="1002.01", side="debit", amount=amount, memo=summary),
                        VoucherLine(
                            account="1122",
                            side="credit",
                            amount=amount,
                            dims=(("customer", f"CUST{i % 20 + 1:04d}"),),
                            memo=summary,
                        ),
                    ),
                    sources=(
                        SourceRef(
                            system="crm",
                            stream="PaymentObj",
                            record_id=f"b{i:09d}",
                            name=f"PAY-{i:09d}",
                            amount=amount,
                        ),
                    ),
                    mapping=mapping,
                )
                store.insert_voucher(
                    key=v.key,
                    revision=v.revision,
                    mapping=mapping.name,
                    kind="voucher",
                    record_ids=[f"b{i:09d}"],
                    source=("crm", "PaymentObj", f"b{i:09d}"),
                    payload=v.model_dump_json(),
                    total=str(v.total),
                    voucher_date=v.date.isoformat(),
                )
                posted.append(v.external_ref)
            store.mark_sending(posted)
            store.mark_posted([(ref, str(k), f"收-{start + k + 1}", False) for k, ref in enumerate(posted)])
    store.close()
    config = folder / "config.yaml"
    config.write_text(
        "state: {url: 'sqlite:///state.db'}\n"
        "sources:\n  crm: {type: files, path: data}\n"
        "destination: {type: ledger, path: ledger.db}\n"
        f"mappings: [{json.dumps(str(ROOT / 'mappings/fxiaoke-kingdee/payment_received.yaml'))}]\n",
        encoding="utf-8",
    )
    (folder / "data").mkdir(exist_ok=True)
    return config


def one(config: str, fmt: str, out: str) -> None:
    """One report in this process (a child of the benchmark): prints its peak memory as JSON."""
    from sync.cli import main as crmsync

    started = time.perf_counter()
    try:
        crmsync(["report", "vouchers", "-c", config, "--period", "2026-11", "--format", fmt, "-o", out])
    except SystemExit as exc:
        if exc.code not in (0, None):
            raise
    seconds = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"seconds": seconds, "peak_mb": peak}))


def report(config: Path, fmt: str) -> dict[str, float]:
    out = config.parent / "out"
    shutil.rmtree(out, ignore_errors=True)
    done = subprocess.run(
        [sys.executable, "-m", "bench.report_bench", "--one", str(config), fmt, str(out)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"report --format {fmt} failed:\n{done.stderr[-3000:]}")
    figures: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    figures["mb"] = sum(p.stat().st_size for p in out.iterdir()) / 1e6
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--vouchers", type=int, default=200_000)
    parser.add_argument("--formats", nargs="+", default=["html", "csv", "json", "xlsx"])
    parser.add_argument("--one", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        one(*args.one)
        return
    folder = Path(tempfile.mkdtemp(prefix="crmsync-report-bench-"))
    try:
        t = time.perf_counter()
        config = build_state(folder, args.vouchers)
        print(
            f"state of {args.vouchers:,} posted vouchers written in {time.perf_counter() - t:.1f} s",
            flush=True,
        )
        for fmt in args.formats:
            r = report(config, fmt)
            verdict = "OK" if r["peak_mb"] <= 300 else "OVER the 300 MB target"
            print(
                f"  {fmt:<5}: {r['seconds']:6.1f} s, peak RSS {r['peak_mb']:6.0f} MB ({verdict}), "
                f"output {r['mb']:7.1f} MB",
                flush=True,
            )
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
