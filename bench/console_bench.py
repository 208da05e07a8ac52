"""The web console's voucher list over a big outbox: first page and filtered pages, p50/p95.

Fills a state store with N payment vouchers (default 1,000,000) through the state store's own
API (insert, then mark sending and posted with an ERP number, as the poster does), 90 % posted
across twelve periods, 10 % pending; fills the console's search facts (timed: what ``crmsync
serve`` does once in the background), then serves the console with uvicorn on loopback and
asks over HTTP, logged in as a viewer, like a browser would:

- the first page (no filter), a period + status page, a customer page, an amount range, a
  search by ERP number, by CRM record id, and by text in a name (a scan), each REPEAT times.

    .venv/bin/python -m bench.console_bench                       # 1,000,000 on SQLite
    .venv/bin/python -m bench.console_bench --vouchers 100000
    CRMSYNC_STATE_KEY=… .venv/bin/python -m bench.console_bench --state postgresql://postgres@127.0.0.1:5432/test

Target: p95 under 200 ms for the first page and a filtered page, SQLite and PostgreSQL.
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import statistics
import tempfile
import threading
import time
import uuid
from decimal import Decimal
from pathlib import Path
from typing import Any

import requests
import uvicorn

from sync.config import load_config
from sync.console import facts
from sync.console.app import create_app
from sync.console.config import ConsoleConfig
from sync.console.users import add_user
from sync.engine.build import open_store
from sync.model import MappingRef, SourceRef, Voucher, VoucherLine

PASSWORD = "bench-password-长一点"
CUSTOMERS = [f"CUST{n:04d}" for n in range(1, 401)]
BANKS = ["1002.01", "1012.01", "1012.02", "1001"]


def _voucher(i: int, rng: random.Random) -> tuple[Voucher, str]:
    day = dt.date(2026, 1 + i % 12, 1 + (i // 12) % 28)
    cents = rng.randint(100, 99_999_999)
    amount = Decimal(cents) / 100
    customer = CUSTOMERS[i % len(CUSTOMERS)]
    name = f"2026{day:%m%d}-{i:07d}"
    ref = MappingRef(name="payment_received", file="mappings/payment_received.yaml", line=5, version="bench")
    voucher = Voucher(
        key=f"payment_received:PaymentObj:p{i:08d}",
        book="001",
        date=day,
        group="收",
        summary=f"回款 {name} 上海明远信息科技有限公司",
        lines=(
            VoucherLine(account=BANKS[i % 4], side="debit", amount=amount),
            VoucherLine(account="1122", side="credit", amount=amount, dims=(("customer", customer),)),
        ),
        sources=(
            SourceRef(system="crm", stream="PaymentObj", record_id=f"p{i:08d}", name=name, amount=amount),
        ),
        mapping=ref,
    )
    return voucher, str(amount)


def fill(config_path: Path, n: int, batch: int = 2000) -> float:
    """N vouchers into the outbox; returns seconds taken."""
    rng = random.Random(18)
    started = time.perf_counter()
    with open_store(load_config(config_path)) as store:
        for first in range(0, n, batch):
            refs = []
            with store.transaction():
                for i in range(first, min(n, first + batch)):
                    voucher, total = _voucher(i, rng)
                    store.insert_voucher(
                        key=voucher.key,
                        revision=voucher.revision,
                        mapping="payment_received",
                        kind="voucher",
                        record_ids=[voucher.sources[0].record_id],
                        source=("crm", "PaymentObj", voucher.sources[0].record_id),
                        payload=voucher.model_dump_json(),
                        total=total,
                        voucher_date=voucher.date.isoformat(),
                    )
                    if i % 10:
                        refs.append((f"{voucher.key}#{voucher.revision}", i))
                store.mark_sending([r for r, _ in refs])
                store.mark_posted([(r, str(100_000 + i), f"收-{i + 1}", False) for r, i in refs])
            if first and first % 100_000 == 0:
                store.refresh_statistics()  # PostgreSQL plans a growing table as empty until told
                print(f"  {first:,} vouchers written ({time.perf_counter() - started:.0f} s)", flush=True)
    return time.perf_counter() - started


def _serve(config_path: Path) -> tuple[str, uvicorn.Server, threading.Thread]:
    """uvicorn binding its own socket, as ``crmsync serve`` does (port 0: a free one)."""
    app = create_app(load_config(config_path), ConsoleConfig(), fill_facts=False)
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_config=None, access_log=False, lifespan="on")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    return f"http://127.0.0.1:{port}", server, thread


def _timed(session: requests.Session, url: str, params: dict[str, str], repeat: int) -> dict[str, Any]:
    times, total = [], 0
    for _ in range(repeat):
        started = time.perf_counter()
        r = session.get(url, params=params)
        times.append((time.perf_counter() - started) * 1000)
        r.raise_for_status()
        total = r.json()["total"]
    times.sort()
    return {
        "p50": statistics.median(times),
        "p95": times[max(0, int(len(times) * 0.95) - 1)],
        "total": total,
    }


def _vacuum(url: str) -> None:
    """What autovacuum does within minutes of a big insert (PostgreSQL 13+ vacuums on inserts
    too): the visibility map it sets lets counts read the indexes alone."""
    import psycopg

    schema = url.rsplit("schema=", 1)[1]
    started = time.perf_counter()
    with psycopg.connect(url.split("?", maxsplit=1)[0], autocommit=True) as conn:
        for (table,) in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = %s", (schema,)):
            conn.execute(f'VACUUM (ANALYZE) "{schema}"."{table}"')
    print(f"  VACUUM (ANALYZE), as autovacuum does after a big insert: {time.perf_counter() - started:.0f} s")


def run(state: str | None, n: int, repeat: int, keep: bool = False) -> None:
    with tempfile.TemporaryDirectory(prefix="crmsync-console-bench-") as tmp:
        root = Path(tmp)
        url = state or f"sqlite:///{root / 'state.db'}"
        if url.startswith("postgres") and "schema=" not in url:
            url += ("&" if "?" in url else "?") + f"schema=bench_{uuid.uuid4().hex[:8]}"
        config = root / "config.yaml"
        config.write_text(
            f'state: {{url: "{url}"}}\nsources: {{crm: {{type: files, path: data, streams: [PaymentObj]}}}}\n'
            f'destination: {{type: ledger, path: "{root / "ledger.db"}"}}\nmappings: ["none/*.yaml"]\n',
            encoding="utf-8",
        )
        backend = "PostgreSQL" if url.startswith("postgres") else "SQLite"
        print(f"{backend}: {n:,} vouchers")
        print(f"  outbox filled in {fill(config, n):.0f} s")
        with open_store(load_config(config)) as store:
            add_user(store, "viewer", "viewer", PASSWORD)
            started = time.perf_counter()
            added = facts.catch_up(store, "customer")
            print(
                f"  search facts of {added:,} vouchers in {time.perf_counter() - started:.1f} s "
                "(once, when crmsync serve starts)"
            )
            store.refresh_statistics()
        if url.startswith("postgres"):
            _vacuum(url)
        base, server, thread = _serve(config)
        try:
            session = requests.Session()
            session.post(
                f"{base}/login", data={"username": "viewer", "password": PASSWORD}
            ).raise_for_status()
            cases = {
                "first page": {},
                "period + status": {"period": "2026-06", "status": "posted"},
                "period + status, page 40": {"period": "2026-06", "status": "posted", "page": "40"},
                "customer": {"customer": "CUST0123"},
                "amount range": {"amount_min": "1000", "amount_max": "1100"},
                "ERP number": {"q": f"收-{n // 2 + 2}"},
                "CRM record id": {"q": f"p{n // 3:08d}"},
                "text in a name (scan)": {"q": "0611-"},
            }
            print(f"  {'query':<28}{'p50 ms':>10}{'p95 ms':>10}{'found':>12}")
            for label, params in cases.items():
                got = _timed(session, f"{base}/api/vouchers", params, repeat)
                print(f"  {label:<28}{got['p50']:>10.1f}{got['p95']:>10.1f}{got['total']:>12,}")
        finally:
            server.should_exit = True
            thread.join(10)
            if keep:
                print(f"  kept: {url}")
                input("  press Enter to drop it ")
            if url.startswith("postgres"):
                import psycopg

                schema = url.rsplit("schema=", 1)[1]
                with psycopg.connect(url.split("?")[0], autocommit=True) as conn:
                    conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--vouchers", type=int, default=1_000_000)
    parser.add_argument("--state", help="a postgresql:// URL (default: a SQLite file)")
    parser.add_argument("--repeat", type=int, default=40)
    parser.add_argument("--keep", action="store_true", help="keep the store until Enter (to look at plans)")
    args = parser.parse_args()
    run(args.state, args.vouchers, args.repeat, args.keep)


if __name__ == "__main__":
    main()
