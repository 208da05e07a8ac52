"""Each connector image runs as the platform runs it: ``docker run -i`` with a mounted config.

Sources run spec, check, discover and read; the destination runs spec, check and write. A
container that needs no network gets ``--network none``; one that talks to a fake on
127.0.0.1 gets ``--network host``. Built by ``make images``; ``make image-test`` runs this and
.ci/run runs it after ``make test``. Without a Docker daemon or the images, each test skips
and says why.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from tests.connectors.kingdee.airbyte_support import (
    ACCOUNTS,
    catalog,
    customer_codes,
    kingdee_config,
    positions,
    sample_messages,
    wire,
)
from tests.fakes.fxiaoke import FakeFxiaoke
from tests.fakes.kingdee import FakeKingdee

pytestmark = [pytest.mark.images, pytest.mark.timeout(900)]

REPO = Path(__file__).resolve().parents[2]
TAG = "0.1.0"
READ_RECORDS = 10_000
IMAGES = ("source-fxiaoke", "source-crmsync-files", "source-crmsync-bank", "destination-crmsync-kingdee")


def _docker_problem() -> str:
    if shutil.which("docker") is None:
        return "no docker CLI on PATH"
    probe = subprocess.run(["docker", "info"], capture_output=True, text=True, timeout=30, check=False)
    if probe.returncode != 0:
        return f"no Docker daemon answers ({probe.stderr.strip()[-200:]}); start dockerd"
    return ""


def _image(name: str) -> str:
    problem = _docker_problem()
    if problem:
        pytest.skip(problem)
    image = f"crmsync/{name}:{TAG}"
    found = subprocess.run(
        ["docker", "image", "inspect", image], capture_output=True, timeout=30, check=False
    )
    if found.returncode != 0:
        pytest.skip(f"image {image} is not built; run `make images`")
    return image


def _run(
    image: str,
    args: Sequence[str],
    *,
    mounts: dict[Path, str],
    network: str = "none",
    stdin: str = "",
) -> tuple[int, list[dict[str, Any]]]:
    argv = ["docker", "run", "--rm", "-i", "--network", network]
    for host, inside in mounts.items():
        argv += ["-v", f"{host}:{inside}:ro"]
    done = subprocess.run(
        [*argv, image, *args], input=stdin, capture_output=True, text=True, timeout=600, check=False
    )
    messages = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    return done.returncode, messages


def _of(messages: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [m for m in messages if m["type"] == kind]


def _folder(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    path.chmod(0o755)  # the connector runs as uid 1000
    return path


def _write_json(folder: Path, name: str, value: Any) -> None:
    (folder / name).write_text(json.dumps(value, ensure_ascii=False), encoding="utf-8")
    (folder / name).chmod(0o644)


def _source_round(
    image: str, conf: Path, mounts: dict[Path, str], streams: Sequence[str], network: str = "none"
) -> tuple[list[dict[str, Any]], float]:
    """spec, check, discover, then read; the messages of the read and its seconds."""
    mounts = {**mounts, conf: "/conf"}
    code, spec = _run(image, ["spec"], mounts=mounts, network=network)
    assert code == 0 and len(_of(spec, "SPEC")) == 1
    config = ["--config", "/conf/config.json"]
    code, check = _run(image, ["check", *config], mounts=mounts, network=network)
    assert _of(check, "CONNECTION_STATUS")[0]["connectionStatus"]["status"] == "SUCCEEDED", check
    code, discover = _run(image, ["discover", *config], mounts=mounts, network=network)
    names = {s["name"] for s in _of(discover, "CATALOG")[0]["catalog"]["streams"]}
    assert set(streams) <= names
    _write_json(conf, "catalog.json", catalog(streams))
    started = time.perf_counter()
    code, read = _run(
        image, ["read", *config, "--catalog", "/conf/catalog.json"], mounts=mounts, network=network
    )
    assert code == 0, read[-3:]
    return read, time.perf_counter() - started


def _payments(count: int) -> Iterator[str]:
    for n in range(count):
        yield (
            json.dumps(
                {
                    "_id": f"6561f0a2c3b4d5e6f7a8{n:06d}",
                    "name": f"PAY-20261103-{n:06d}",
                    "account_id": "5eddcb1124c81d0001a4a0aa",
                    "account_id__r": "上海明远信息科技有限公司",
                    "payment_amount": f"{1000 + n % 997}.{n % 100:02d}",
                    "payment_time": 1793635200000 + n * 1000,
                    "last_modified_time": 1793635200000 + n * 1000,
                    "life_status": "normal",
                },
                ensure_ascii=False,
            )
            + "\n"
        )


def test_the_files_source_image_reads_ten_thousand_records(tmp_path: Path) -> None:
    image = _image("source-crmsync-files")
    exports, conf = _folder(tmp_path / "exports"), _folder(tmp_path / "conf")
    with (exports / "PaymentObj.jsonl").open("w", encoding="utf-8") as fh:
        fh.writelines(_payments(READ_RECORDS))
    (exports / "PaymentObj.jsonl").chmod(0o644)
    _write_json(conf, "config.json", {"path": "/data"})
    read, seconds = _source_round(image, conf, {exports: "/data"}, ["PaymentObj"])
    assert len(_of(read, "RECORD")) == READ_RECORDS
    assert _of(read, "STATE")
    print(f"\nsource-crmsync-files image: `docker run … read` of {READ_RECORDS} records: {seconds:.1f} s")


def test_the_bank_source_image_reads_a_camt053_statement(tmp_path: Path) -> None:
    image = _image("source-crmsync-bank")
    conf = _folder(tmp_path / "conf")
    statements = REPO / "connectors/bank/integration_tests/statements"
    _write_json(conf, "config.json", {"format": "camt053", "path": "/statements/*.xml"})
    read, _ = _source_round(image, conf, {statements: "/statements"}, ["camt053"])
    entries = (statements / "camt053_v08.xml").read_text(encoding="utf-8").count("<Ntry>")
    assert len(_of(read, "RECORD")) == entries


def test_the_fxiaoke_source_image_reads_the_fake_over_the_host_network(tmp_path: Path) -> None:
    image = _image("source-fxiaoke")
    conf = _folder(tmp_path / "conf")
    with FakeFxiaoke(records=40, rate_limit=None) as fake:
        _write_json(conf, "config.json", fake.source_config(streams=["PaymentObj", "SalesOrderObj"]))
        read, _ = _source_round(image, conf, {}, ["PaymentObj", "SalesOrderObj"], network="host")
        tenant = len(fake.records("PaymentObj")) + len(fake.records("SalesOrderObj"))
    assert len(_of(read, "RECORD")) == tenant


def test_the_kingdee_destination_image_writes_and_acknowledges_each_state(tmp_path: Path) -> None:
    image = _image("destination-crmsync-kingdee")
    conf = _folder(tmp_path / "conf")
    mounts = {conf: "/conf", REPO / "mappings": "/mappings"}
    with FakeKingdee(accounts=ACCOUNTS, customers=customer_codes(), timeout_delay=1.0) as fake:
        config = {**kingdee_config(fake), "mappings": ["/mappings/fxiaoke-kingdee/*.yaml"]}
        _write_json(conf, "config.json", config)
        _write_json(conf, "catalog.json", catalog(["SalesOrderObj", "PaymentObj"]))
        code, check = _run(image, ["check", "--config", "/conf/config.json"], mounts=mounts, network="host")
        assert _of(check, "CONNECTION_STATUS")[0]["connectionStatus"]["status"] == "SUCCEEDED", check
        code, out = _run(
            image,
            ["write", "--config", "/conf/config.json", "--catalog", "/conf/catalog.json"],
            mounts=mounts,
            network="host",
            stdin=wire(sample_messages()),
        )
        assert code == 0, out[-3:]
        assert positions(out) == [3, 6, 4]
        assert len(fake.vouchers) == 10 and max(fake.refs().values()) == 1


def test_image_sizes_are_reported() -> None:
    _image("source-crmsync-files")
    for name in IMAGES:
        size = subprocess.run(
            ["docker", "image", "inspect", "--format", "{{.Size}}", f"crmsync/{name}:{TAG}"],
            capture_output=True,
            text=True,
            timeout=30,
            check=True,
        ).stdout.strip()
        assert int(size) > 0
        print(f"\ncrmsync/{name}:{TAG}: {int(size) / 1e6:.0f} MB")
