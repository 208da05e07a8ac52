"""Audit-trail benchmark: what one entry costs the poster, and how fast ``audit verify`` walks.

Appends N entries in batches of 50 per transaction (as the poster does: one entry per posted
voucher, in the transaction that marks it posted), then verifies the whole chain.

    .venv/bin/python -m bench.audit_bench                  # 20,000 entries on SQLite
    .venv/bin/python -m bench.audit_bench --n 100000 --state postgresql://postgres@127.0.0.1:5432/test
"""

from __future__ import annotations

import argparse
import tempfile
import time
import uuid
from pathlib import Path

from sync.state import audit, open_state


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--n", type=int, default=20_000)
    parser.add_argument("--state", help="postgresql://… base URL (default: SQLite in a temp folder)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        schema = f"bench_audit_{uuid.uuid4().hex[:8]}"
        url = f"{args.state}?schema={schema}" if args.state else f"sqlite:///{Path(tmp) / 'state.db'}"
        store = open_state(url)
        try:
            started = time.perf_counter()
            for batch in range(0, args.n, 50):
                with store.transaction():
                    for i in range(batch, min(batch + 50, args.n)):
                        audit.record(
                            store,
                            audit.Action.POST,
                            f"payment:pay{i:07d}#r1",
                            {"erp_id": str(100000 + i), "erp_number": f"收-{i}", "total": "1130.00"},
                            run_id=1,
                        )
            append = time.perf_counter() - started
            started = time.perf_counter()
            checked, _, problem = audit.verify(store)
            walk = time.perf_counter() - started
        finally:
            if args.state:
                store._execute(f'DROP SCHEMA "{schema}" CASCADE')
            store.close()
    assert problem is None and checked == args.n
    print(f"backend: {'postgresql' if args.state else 'sqlite'}  entries: {args.n}")
    print(f"append: {args.n / append:,.0f} entries/s ({append / args.n * 1e6:,.0f} µs per posted voucher)")
    print(f"verify: {args.n / walk:,.0f} entries/s ({walk:.2f} s)")


if __name__ == "__main__":
    main()
