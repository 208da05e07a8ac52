"""Bills as the platforms serve them: Alipay downloads a ``.csv.zip`` (业务明细 and its 汇总),
WeChat Pay a gzip when asked for one. The bill inside is read as if it had been unpacked by
hand; anything else in an archive is named, never guessed at.

Bounded: an archive whose content would unpack beyond ``MAX_UNPACKED`` bytes (a zip bomb) is
refused before it is unpacked, and only one bill is taken from a zip.
"""

from __future__ import annotations

import gzip
import io
import zipfile

from sync.banking import StatementError

__all__ = ["MAX_UNPACKED", "unpack_bill"]

#: the largest bill an archive may unpack to (a month of a busy shop is tens of MB)
MAX_UNPACKED = 512 * 1024 * 1024
_ZIP = b"PK\x03\x04"
_GZIP = b"\x1f\x8b"


def unpack_bill(data: bytes, source: str) -> bytes:
    """The bill's bytes: ``data`` itself, or the one bill inside a zip or gzip archive."""
    if data.startswith(_GZIP):
        return _gunzip(data, source)
    if data.startswith(_ZIP):
        return _unzip(data, source)
    return data


def _gunzip(data: bytes, source: str) -> bytes:
    try:
        with gzip.GzipFile(fileobj=io.BytesIO(data)) as handle:
            out = handle.read(MAX_UNPACKED + 1)
    except (OSError, EOFError) as exc:
        raise StatementError(source, f"a damaged gzip archive ({exc}); nothing was booked from it") from None
    if len(out) > MAX_UNPACKED:
        raise StatementError(
            source, f"gzip archive unpacks beyond {MAX_UNPACKED // 2**20} MB: refused unread"
        )
    return out


def _unzip(data: bytes, source: str) -> bytes:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile as exc:
        raise StatementError(source, f"a damaged zip archive ({exc}); nothing was booked from it") from None
    with archive:
        members = [m for m in archive.infolist() if not m.is_dir() and m.filename.lower().endswith(".csv")]
        # Alipay's archive holds 业务明细 and 业务明细(汇总): the details are the bill
        bills = [m for m in members if "汇总" not in _name(m)] or members
        if len(bills) != 1:
            names = ", ".join(_name(m) for m in members) or "no .csv file"
            raise StatementError(
                source,
                f"zip archive holds {names}: expected one bill (业务明细); unpack it and keep the bill only",
            )
        (bill,) = bills
        if bill.file_size > MAX_UNPACKED:
            raise StatementError(source, f"{_name(bill)} unpacks to {bill.file_size} bytes: refused unread")
        try:
            return archive.read(bill)
        except (zipfile.BadZipFile, RuntimeError, OSError) as exc:  # RuntimeError: encrypted member
            raise StatementError(
                source, f"{_name(bill)} cannot be unpacked ({exc}); nothing was booked"
            ) from None


def _name(member: zipfile.ZipInfo) -> str:
    """Member names as Chinese Windows zips write them (GBK without the UTF-8 flag)."""
    if member.flag_bits & 0x800:
        return member.filename
    try:
        return member.filename.encode("cp437").decode("gbk")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return member.filename
