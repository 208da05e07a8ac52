"""Fxiaoke read throughput: the connector against a bare ``requests`` loop over the same pages.

Run: ``.venv/bin/python -m bench.fxiaoke_bench [--records N] [--rounds R]``. The fake gateway
runs as its own process (``python -m tests.fakes.fxiaoke``, throttling off) serving N
PaymentObj records. In the same run, alternating, we time:

- ``bare``: one ``requests.Session``, the token call, then keyset pages
  (``last_modified_time GTE t``, sorted, limit 100) decoded with ``response.json()``: the floor
  set by HTTP and JSON alone;
- ``connector``: ``SourceFxiaoke().read()`` in-process, as ``crmsync sync`` runs it (client,
  pacing at an unreachable rate, error classification, page checks, dedupe, CDK messages and
  per-page STATE);
- ``airbyte``: the same through ``AirbyteEntrypoint`` with every message serialised to JSON,
  as ``python -m connectors.fxiaoke read`` prints it.

The best round of each is reported in records/second; the target is connector within 2x of bare.
"""

from __future__ import annotations

import argparse
import json
import logging
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import requests

ROOT = Path(__file__).resolve().parents[1]
STREAM = "PaymentObj"


def start_fake(records: int) -> tuple[subprocess.Popen[str], dict[str, Any]]:
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.fakes.fxiaoke",
            "--records",
            str(records),
            "--objects",
            STREAM,
            "--no-throttle",
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    info = json.loads(process.stdout.readline())
    return process, info


def config_of(info: dict[str, Any]) -> dict[str, Any]:
    return {
        "base_url": info["url"],
        "app_id": info["app_id"],
        "app_secret": info["app_secret"],
        "permanent_code": info["permanent_code"],
        "open_user_id": info["open_user_id"],
        "start_date": "2025-01-01",
        "streams": [STREAM],
        "requests_per_second": 1_000_000,
    }


def bare(info: dict[str, Any]) -> int:
    """The same pages with nothing but requests and json."""
    session = requests.Session()
    url = info["url"]
    token = session.post(
        f"{url}/cgi/corpAccessToken/get/V2",
        json={
            "appId": info["app_id"],
            "appSecret": info["app_secret"],
            "permanentCode": info["permanent_code"],
        },
        timeout=30,
    ).json()
    seen: set[str] = set()
    bound = 1_735_660_800_000
    while True:
        body = {
            "corpAccessToken": token["corpAccessToken"],
            "corpId": token["corpId"],
            "currentOpenUserId": info["open_user_id"],
            "data": {
                "dataObjectApiName": STREAM,
                "find_explicit_total_num": False,
                "search_query_info": {
                    "limit": 100,
                    "offset": 0,
                    "filters": [
                        {"field_name": "last_modified_time", "field_values": [str(bound)], "operator": "GTE"}
                    ],
                    "orders": [
                        {"fieldName": "last_modified_time", "isAsc": True},
                        {"fieldName": "_id", "isAsc": True},
                    ],
                },
            },
        }
        rows = session.post(f"{url}/cgi/crm/v2/data/query", json=body, timeout=30).json()["data"]["dataList"]
        for row in rows:
            seen.add(row["_id"])
        if len(rows) < 100:
            return len(seen)
        bound = rows[-1]["last_modified_time"]


def connector(info: dict[str, Any]) -> int:
    from airbyte_cdk.models import SyncMode, Type
    from airbyte_cdk.test.catalog_builder import CatalogBuilder

    from connectors.fxiaoke.source import SourceFxiaoke

    catalog = CatalogBuilder().with_stream(STREAM, SyncMode.incremental).build()
    logger = logging.getLogger("bench.fxiaoke")
    return sum(
        1 for m in SourceFxiaoke().read(logger, config_of(info), catalog, None) if m.type == Type.RECORD
    )


def airbyte(info: dict[str, Any]) -> int:
    import tempfile

    from airbyte_cdk.entrypoint import AirbyteEntrypoint
    from airbyte_cdk.models import ConfiguredAirbyteCatalogSerializer, SyncMode
    from airbyte_cdk.test.catalog_builder import CatalogBuilder

    from connectors.fxiaoke.source import SourceFxiaoke

    catalog = CatalogBuilder().with_stream(STREAM, SyncMode.incremental).build()
    with tempfile.TemporaryDirectory() as tmp:
        config_path, catalog_path = Path(tmp, "config.json"), Path(tmp, "catalog.json")
        config_path.write_text(json.dumps(config_of(info)))
        catalog_path.write_text(json.dumps(ConfiguredAirbyteCatalogSerializer.dump(catalog)))
        entrypoint = AirbyteEntrypoint(SourceFxiaoke())
        args = entrypoint.parse_args(["read", "--config", str(config_path), "--catalog", str(catalog_path)])
        return sum(1 for line in entrypoint.run(args) if line.startswith('{"type":"RECORD"'))


def timed(fn: Callable[[dict[str, Any]], int], info: dict[str, Any]) -> tuple[float, int]:
    start = time.perf_counter()
    count = fn(info)
    return time.perf_counter() - start, count


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args(argv)
    logging.getLogger("airbyte").setLevel(logging.WARNING)
    import airbyte_cdk.entrypoint  # noqa: F401 - import cost is not part of the read figures

    process, info = start_fake(args.records)
    best: dict[str, float] = {}
    try:
        for _ in range(args.rounds):
            for name, fn in (("bare", bare), ("connector", connector), ("airbyte", airbyte)):
                seconds, count = timed(fn, info)
                if count != args.records:
                    raise SystemExit(f"{name}: read {count} records, expected {args.records}")
                best[name] = min(best.get(name, seconds), seconds)
    finally:
        process.terminate()
        process.wait(timeout=10)
    print(f"fxiaoke read, {args.records:,} {STREAM} records, pages of 100, fake gateway in its own process")
    for name in ("bare", "connector", "airbyte"):
        print(f"  {name:<10} {args.records / best[name]:>10,.0f} records/s  ({best[name]:.2f} s)")
    print(f"  connector / bare time ratio: {best['connector'] / best['bare']:.2f}x (target <= 2x)")
    print(f"  airbyte   / bare time ratio: {best['airbyte'] / best['bare']:.2f}x")


if __name__ == "__main__":
    main()
