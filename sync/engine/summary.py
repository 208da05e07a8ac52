"""The closing summary of a run, and the rule by which its counts add up.

Every record read is counted exactly once, in the first of these that applies:

- ``quarantined``: some mapping could not map it (it is in the quarantine with the reason);
- ``skipped``: every mapping reading its stream excluded it by ``when:`` or it is voided at the
  source (whatever was posted for it earlier is reversed: see ``reversed``);
- ``already_posted``: its voucher (or its group's voucher) is unchanged and already posted;
- ``posted``: its voucher was posted in this run;
- ``awaiting_approval``: its voucher waits for ``crmsync approve`` (a mapping with
  ``approval: required``): held on purpose, so not a failure and not a reason to exit 1;
- ``failed``: its voucher is not posted at the end of this run: refused by the ERP (``failed``,
  see ``crmsync failures``) or still waiting after transient errors (posted by the next run).

So ``read = posted + already_posted + skipped + quarantined + awaiting_approval + failed``,
always. A record
with several vouchers is counted by its first. ``mapped`` = read - skipped - quarantined;
``reversed`` counts reversal vouchers posted in this run; ``vouchers_posted`` counts every
voucher posted (including reversals and vouchers left from earlier runs); ``vouchers_adopted``
counts those the ERP already held when the look-up before sending asked (their records count
as already posted).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

__all__ = ["RunSummary"]


@dataclass
class RunSummary:
    """What one run did, in counts that add up (see the module docstring)."""

    run_id: int = 0
    read: int = 0
    mapped: int = 0
    posted: int = 0
    already_posted: int = 0
    reversed: int = 0
    skipped: int = 0
    quarantined: int = 0
    failed: int = 0
    awaiting_approval: int = 0
    vouchers_posted: int = 0
    vouchers_failed: int = 0
    vouchers_pending: int = 0
    #: vouchers the ERP already held before their first send (a lost or restored state)
    vouchers_adopted: int = 0
    paused: bool = False
    source_errors: list[str] = field(default_factory=list)
    #: per-source, per-stream records read
    streams: dict[str, int] = field(default_factory=dict)
    #: mappings whose current version has not reached every stored record (sync.engine.staleness)
    stale_mappings: list[dict[str, Any]] = field(default_factory=list)
    #: one line per stale mapping, with the command to run
    stale_advice: list[str] = field(default_factory=list)
    status: str = "running"
    seconds: float = 0.0

    @property
    def adds_up(self) -> bool:
        done = self.posted + self.already_posted + self.skipped + self.quarantined
        return self.read == done + self.awaiting_approval + self.failed

    @property
    def exit_code(self) -> int:
        return 1 if (self.quarantined or self.failed or self.source_errors) else 0

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["exit_code"] = self.exit_code
        return data

    def lines(self) -> list[str]:
        """The closing summary as plain text lines."""
        out = [
            f"read {self.read}, mapped {self.mapped}, posted {self.posted}, already posted "
            f"{self.already_posted}, "
            f"reversed {self.reversed}, skipped by rule {self.skipped}, quarantined {self.quarantined}, "
            f"failed {self.failed}"
            + (f", awaiting approval {self.awaiting_approval}" if self.awaiting_approval else ""),
            f"vouchers posted in this run {self.vouchers_posted} (failed {self.vouchers_failed}, "
            f"waiting for the next run {self.vouchers_pending}); {self.seconds:.1f} s",
        ]
        if self.vouchers_adopted:
            out.append(
                f"{self.vouchers_adopted} vouchers were already in the ERP under their reference and "
                "were adopted, not sent again (`crmsync audit` lists them as `adopt`)"
            )
        if self.read == 0 and self.vouchers_posted == 0 and self.vouchers_adopted == 0:
            out.append("nothing new: every source is up to date and nothing is waiting to be posted")
        if self.awaiting_approval:
            out.append(
                f"{self.awaiting_approval} record(s) wait for approval: `crmsync approve --period P "
                "--mapping NAME` releases their vouchers for the next run"
            )
        if self.paused:
            out.append("posting is paused (crmsync resume); vouchers wait in the outbox")
        out += self.stale_advice
        out += [f"source error: {e}" for e in self.source_errors]
        if self.quarantined or self.failed:
            out.append("see `crmsync failures` for the reasons; `crmsync retry` after fixing them")
        return out
