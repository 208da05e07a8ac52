"""Statement files picked up from a glob, each read once (by content hash), each all-or-nothing.

The stream has one slice per file plus a closing slice. A file whose hash is already in
the stream state is skipped, whatever its name; a file that fails (hostile, malformed,
balances not adding up) yields nothing and is not remembered, so a corrected download
is read next time. The other files still go through; after the last one the stream
fails with every bad file named, so the run ends in error instead of passing quietly.
"""

from __future__ import annotations

import glob
import hashlib
import logging
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from connectors.bank.archives import unpack_bill
from connectors.bank.stream import bank_stream_base
from sync.banking import BankTransaction, StatementError
from sync.connector import airbyte_error
from sync.errors import PermanentError

__all__ = ["PARSERS", "parse_file", "statement_files"]

log = logging.getLogger(__name__)

#: (file content, its name, book interim reports) -> its transactions
Parser = Callable[[bytes, str, bool], list[BankTransaction]]


def _camt(expect: str) -> Parser:
    def parse(data: bytes, source: str, book_interim: bool) -> list[BankTransaction]:
        from connectors.bank.camt import parse_camt

        statements = parse_camt(data, source, expect, book_interim=book_interim)
        for s in statements:
            if s.not_booked:
                log.info(
                    "%s: report %s is a camt.052 interim report: its %d booked entries are not booked here "
                    "(the end-of-day camt.053 books them; book_interim: true books them from the report)",
                    source,
                    s.id,
                    s.not_booked,
                )
        return [t for s in statements for t in s.transactions]

    return parse


def _mt940(data: bytes, source: str, book_interim: bool) -> list[BankTransaction]:
    from connectors.bank.mt940 import parse_mt940

    statements = parse_mt940(data, source, book_interim=book_interim)
    for s in statements:
        if s.not_booked:
            log.info(
                "%s: %s is an MT942 interim report: its %d lines are not booked (the end-of-day "
                "statement books them; book_interim: true books them from the report)",
                source,
                s.reference or "a statement",
                s.not_booked,
            )
    return [t for s in statements for t in s.transactions]


def _alipay(data: bytes, source: str, book_interim: bool) -> list[BankTransaction]:
    from connectors.bank.bills import parse_alipay_bill

    return parse_alipay_bill(data, source)


def _wechat(data: bytes, source: str, book_interim: bool) -> list[BankTransaction]:
    from connectors.bank.bills import parse_wechat_bill

    return parse_wechat_bill(data, source)


PARSERS: dict[str, Parser] = {
    "camt052": _camt("052"),
    "camt053": _camt("053"),
    "camt054": _camt("054"),
    "mt940": _mt940,
    "alipay_bill": _alipay,
    "wechat_bill": _wechat,
}


def statement_files(pattern: str) -> list[Path]:
    """The files a glob names, sorted so statements are read in a stable order."""
    return sorted(Path(p) for p in glob.glob(pattern, recursive=True) if Path(p).is_file())


def parse_file(
    fmt: str, path: Path, account: str | None = None, *, book_interim: bool = False
) -> list[BankTransaction]:
    """All transactions of one file, or StatementError naming it; nothing partial."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise StatementError(str(path), f"cannot be read: {exc.strerror}") from None
    if fmt in {"alipay_bill", "wechat_bill"}:
        data = unpack_bill(data, str(path))  # .csv.zip (Alipay), gzip (WeChat Pay)
    txns = PARSERS[fmt](data, str(path), book_interim)
    if account and fmt in {"alipay_bill", "wechat_bill"}:
        txns = [replace(t, account=account) for t in txns]
    return txns


def _read_one(  # noqa: PLR0917 - one file's reading, every part named
    fmt: str,
    path: Path,
    seen: dict[str, str],
    errors: list[str],
    account: str | None = None,
    book_interim: bool = False,
) -> Iterator[dict[str, Any]]:
    """Records of one file, all or nothing; remembers its hash only when it was read whole."""
    try:
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError as exc:
        errors.append(f"{path}: cannot be read: {exc.strerror}")
        return
    if digest in seen:
        log.info("%s: already read (same content as %s), skipped", path, seen[digest])
        return
    try:
        txns = parse_file(fmt, path, account, book_interim=book_interim)
    except StatementError as exc:
        log.error("%s", exc)
        errors.append(str(exc))
        return
    for txn in txns:
        yield txn.to_record()
    seen[digest] = path.name


def make_file_stream(fmt: str, pattern: str, account: str | None = None, book_interim: bool = False) -> Any:
    """The airbyte-cdk stream for one file format (built lazily: airbyte_cdk costs 1.3 s to import)."""
    from airbyte_cdk.models import SyncMode

    class FileStatementStream(bank_stream_base()):  # type: ignore[misc]
        def __init__(self) -> None:
            super().__init__()
            self._errors: list[str] = []

        @property
        def name(self) -> str:
            return fmt

        def clean_state(self, value: Mapping[str, Any] | None) -> dict[str, Any]:
            return {"files": dict((value or {}).get("files") or {})}

        def slices(self) -> Iterable[Mapping[str, Any] | None]:
            for path in statement_files(pattern):
                yield {"file": str(path)}
            yield {"final": True}

        def read_records(
            self,
            sync_mode: SyncMode,
            cursor_field: Any = None,
            stream_slice: Mapping[str, Any] | None = None,
            stream_state: Mapping[str, Any] | None = None,
        ) -> Iterable[Mapping[str, Any]]:
            if not stream_slice:
                return
            if stream_slice.get("final"):
                if self._errors:
                    errors, self._errors = self._errors, []
                    refused = PermanentError(
                        f"{len(errors)} statement file(s) refused, nothing booked from them:\n  "
                        + "\n  ".join(errors),
                        hint="fix or re-download the named files; files already read are not read again",
                    )
                    raise airbyte_error(refused, f"stream {fmt}")
                return
            yield from _read_one(
                fmt, Path(stream_slice["file"]), self._state["files"], self._errors, account, book_interim
            )

    return FileStatementStream()
