"""IDoc file destination: one ACC_DOCUMENT04 file per voucher, written once, atomically.

A file is first written under a dot-name ``.ACC_DOCUMENT_<ref>.xml.tmp`` (importers pick up
``*.xml`` only), flushed to disk, then *linked* to its final name: ``link`` fails if the name
exists, so two runs can never both create it and a half-written file is never visible. A
receipt in crmsync's work folder remembers each file, because the importer usually moves
files away: lookup = the file is still in the folder, in the importer's ``archive`` folder
(when configured), or its receipt exists. With the state and the work folder lost, the drop
folder and the archive are what is left to say a file was written.
"""

from __future__ import annotations

import datetime as dt
import errno
import os
import re
import secrets
from collections.abc import Callable, Sequence
from pathlib import Path

from connectors.sap.common import mapping_problems, sap_lines, sap_ref
from connectors.sap.idoc.config import Config
from connectors.sap.idoc.render import Partners, idoc_xml
from sync.connector import BuildContext
from sync.destination import CheckReport, ErpRef, PostResult, short_ref
from sync.errors import DestinationUnavailable, PermanentError
from sync.model import Voucher

__all__ = ["IdocDestination", "file_name"]

_SAFE = re.compile(r"[^A-Za-z0-9_-]")


def file_name(external_ref: str) -> str:
    """``ACC_DOCUMENT_<16-character key>.xml``: the key, safe for any file system."""
    return f"ACC_DOCUMENT_{_SAFE.sub('_', short_ref(external_ref, 16))}.xml"


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class IdocDestination:
    """Drops ACC_DOCUMENT IDoc-XML files for SAP's file port (or middleware) to import."""

    type_name = "sap_idoc"
    batch_size = 50

    def __init__(
        self, config: Config, ctx: BuildContext, *, clock: Callable[[], dt.datetime] = _utcnow
    ) -> None:
        self.config = config
        self.folder = ctx.resolve(config.path)
        self.receipts = ctx.resolve(ctx.work_dir) / "sap_idoc" / ctx.name
        self.archive = ctx.resolve(config.archive) if config.archive else None
        self.partners = Partners(
            receiver_port=config.receiver_port,
            receiver_partner=config.receiver_partner,
            receiver_partner_type=config.receiver_partner_type,
            sender_port=config.sender_port,
            sender_partner=config.sender_partner,
            sender_partner_type=config.sender_partner_type,
        )
        self._clock = clock

    def render(self, voucher: Voucher) -> str:
        ref = voucher.external_ref
        return idoc_xml(
            reference=sap_ref(voucher),
            archive_key=ref if len(ref) <= 70 else short_ref(ref, 70),
            company_code=self.config.company_code,
            header_text=voucher.summary,
            posting_date=voucher.date,
            lines=sap_lines(voucher, self.config.account_map),
            created=self._clock(),
            partners=self.partners,
        )

    def _receipt(self, name: str) -> Path:
        return self.receipts / (name + ".sent")

    def _exists(self, name: str) -> bool:
        archived = self.archive is not None and (self.archive / name).exists()
        return (self.folder / name).exists() or archived or self._receipt(name).exists()

    def post(self, batch: Sequence[Voucher]) -> list[PostResult]:
        if not self.folder.is_dir():
            raise DestinationUnavailable(
                f"IDoc drop folder {self.folder} does not exist",
                hint="create it (or mount it) or fix `path` in the destination section",
            )
        return [self._post_one(voucher) for voucher in batch]

    def _post_one(self, voucher: Voucher) -> PostResult:
        ref = voucher.external_ref
        name = file_name(ref)
        erp = ErpRef(name, sap_ref(voucher))
        if self._exists(name):
            return PostResult.posted(ref, erp)
        try:
            text = self.render(voucher)
        except PermanentError as exc:
            return PostResult.permanent(ref, exc.message)
        try:
            created = self._write_once(name, text.encode("utf-8"))
        except OSError as exc:
            if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS, errno.ENOENT):
                raise DestinationUnavailable(
                    f"cannot write to IDoc drop folder {self.folder}: {exc.strerror}",
                    hint="give the crmsync user write access to the folder",
                ) from None
            return PostResult.transient(ref, f"cannot write {name}: {exc.strerror}")
        # ``created`` False: another run won the race; the file is there once either way.
        del created
        self._remember(name)
        return PostResult.posted(ref, erp)

    def _write_once(self, name: str, data: bytes) -> bool:
        """Write atomically under ``name``; False when it already exists (never overwritten)."""
        tmp = self.folder / f".{name}.{os.getpid()}-{secrets.token_hex(4)}.tmp"
        try:
            with open(tmp, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            try:
                os.link(tmp, self.folder / name)
            except FileExistsError:
                return False
            self._fsync_dir(self.folder)
            return True
        finally:
            tmp.unlink(missing_ok=True)

    @staticmethod
    def _fsync_dir(folder: Path) -> None:
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)

    def _remember(self, name: str) -> None:
        self.receipts.mkdir(parents=True, exist_ok=True)
        self._receipt(name).write_text(f"{self.folder / name}\n", encoding="utf-8")

    def lookup(self, external_refs: Sequence[str], *, thorough: bool = False) -> dict[str, ErpRef]:
        found = {}
        for ref in external_refs:
            name = file_name(ref)
            if self._exists(name):
                found[ref] = ErpRef(name, short_ref(ref, 16))
        return found

    def check(self, vouchers: Sequence[Voucher] = ()) -> CheckReport:
        if not self.folder.is_dir():
            raise DestinationUnavailable(
                f"IDoc drop folder {self.folder} does not exist",
                hint="create it (or mount it) or fix `path` in the destination section",
            )
        if not os.access(self.folder, os.W_OK):
            raise DestinationUnavailable(f"IDoc drop folder {self.folder} is not writable")
        problems = mapping_problems(vouchers, self.config.account_map)
        return CheckReport(
            ok=not problems,
            problems=tuple(problems),
            warnings=("accounts and customers are checked by SAP when it imports the IDoc",),
            details=(f"drop folder {self.folder}", f"receipts {self.receipts}"),
        )

    def close(self) -> None:
        return None
