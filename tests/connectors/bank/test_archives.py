"""Bills as the platforms serve them: Alipay's .csv.zip (业务明细 + 汇总), WeChat Pay's gzip."""

from __future__ import annotations

import gzip
import io
import zipfile
from pathlib import Path

import pytest

from connectors.bank import archives
from connectors.bank.files import parse_file
from sync.banking import StatementError


def _zip(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(zipfile.ZipInfo(name), data)  # UTF-8 names flagged by zipfile
    return path


def test_an_alipay_zip_is_read_as_its_bill(tmp_path: Path, fixtures: Path) -> None:
    bill = (fixtures / "alipay_trade_20261103.csv").read_bytes()
    summary = "#支付宝业务明细查询(汇总)\n".encode("gbk")
    path = _zip(
        tmp_path / "20881234567890120156_20261103.csv.zip",
        {
            "20881234567890120156_20261103_业务明细.csv": bill,
            "20881234567890120156_20261103_业务明细(汇总).csv": summary,
        },
    )
    plain = parse_file("alipay_bill", fixtures / "alipay_trade_20261103.csv")
    assert [t.id for t in parse_file("alipay_bill", path)] == [t.id for t in plain] and plain


def test_a_wechat_gzip_is_read_as_its_bill(tmp_path: Path, fixtures: Path) -> None:
    path = tmp_path / "wechat_all_20261103.csv.gz"
    path.write_bytes(gzip.compress((fixtures / "wechat_all_20261103.csv").read_bytes()))
    assert len(parse_file("wechat_bill", path)) == len(
        parse_file("wechat_bill", fixtures / "wechat_all_20261103.csv")
    )


def test_a_zip_of_two_bills_is_refused_naming_them(tmp_path: Path, fixtures: Path) -> None:
    bill = (fixtures / "alipay_trade_20261103.csv").read_bytes()
    path = _zip(tmp_path / "two.zip", {"a_业务明细.csv": bill, "b_业务明细.csv": bill})
    with pytest.raises(StatementError, match=r"two.zip: zip archive holds a_业务明细.csv, b_业务明细.csv"):
        parse_file("alipay_bill", path)


def test_a_damaged_gzip_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "cut.csv.gz"
    path.write_bytes(gzip.compress(b"x" * 10_000)[:40])
    with pytest.raises(StatementError, match=r"cut.csv.gz: a damaged gzip archive"):
        parse_file("wechat_bill", path)


def test_an_archive_that_unpacks_beyond_the_limit_is_refused_unread(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(archives, "MAX_UNPACKED", 1024 * 1024)
    path = tmp_path / "bomb.csv.gz"
    buffer = io.BytesIO()
    with gzip.GzipFile(fileobj=buffer, mode="wb") as handle:
        handle.write(b"0" * (2 * 1024 * 1024))
    path.write_bytes(buffer.getvalue())
    with pytest.raises(StatementError, match=r"bomb.csv.gz: gzip archive unpacks beyond 1 MB"):
        parse_file("wechat_bill", path)
