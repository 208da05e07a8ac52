"""Run inside a venv that has PyAirbyte: install each connector from ``pip_url`` and use it.

``python drive.py PLAN.json`` reads a plan written by test_pyairbyte.py (the fakes' configs,
the project's pip_url, an install root) and prints one JSON line per step with what PyAirbyte
saw. It imports nothing of crmsync: PyAirbyte installs the project into a connector venv of
its own, exactly as for a user, and runs the console script it finds there.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import airbyte as ab


def _report(**fields: Any) -> None:
    print(json.dumps(fields, ensure_ascii=False), flush=True)


def read_source(plan: dict[str, Any], name: str, config: dict[str, Any], streams: list[str]) -> Any:
    source = ab.get_source(
        name, config=config, pip_url=plan["pip_url"], install_root=Path(plan["install_root"]), streams=streams
    )
    source.check()
    cache = ab.new_local_cache(cache_name=name.replace("-", "_"), cache_dir=Path(plan["cache_dir"]) / name)
    first = source.read(cache=cache)
    counts = {stream: len(list(first[stream])) for stream in streams}
    second = source.read(cache=cache)  # incremental: the state of the first read is resumed
    _report(
        step="read",
        connector=name,
        records=counts,
        second_read=second.processed_records,
    )
    return source


def main(plan_path: str) -> None:
    plan = json.loads(Path(plan_path).read_text(encoding="utf-8"))
    for entry in plan["sources"]:
        read_source(plan, entry["name"], entry["config"], entry["streams"])
    dest_plan = plan["destination"]
    files = ab.get_source(
        "source-crmsync-files",
        config=dest_plan["source_config"],
        pip_url=plan["pip_url"],
        install_root=Path(plan["install_root"]),
        streams=dest_plan["streams"],
    )
    destination = ab.get_destination(
        dest_plan["name"],
        config=dest_plan["config"],
        pip_url=plan["pip_url"],
        install_root=Path(plan["install_root"]),
    )
    destination.check()
    result = destination.write(files, cache=False)
    _report(step="write", connector=dest_plan["name"], processed=result.processed_records)


if __name__ == "__main__":
    main(sys.argv[1])
