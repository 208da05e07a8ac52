"""A fault-injecting wrapper around any destination (the embedded ledger in our tests).

It makes the failures real ERPs make, with a seeded random generator:

- ``transient``: the ERP refuses the whole call before doing anything (HTTP 503 / 429 with
  Retry-After): a ``TransientError``, nothing written;
- ``unknown_after_commit``: per voucher, the ERP committed it but the answer is lost
  (a read timeout after the write): ``Outcome.UNKNOWN``;
- ``lost_response``: per call, the ERP committed the whole batch and the response never
  arrived: every voucher ``UNKNOWN``;
- ``lookup_transient``: the look-up itself times out (``TransientError``); ``lookup_faults``
  says which look-ups: ``all``, or ``after_send`` (only those resolving an unknown outcome,
  so the look-up before the first send still answers);
- ``kill_at``: SIGKILL this very process at its n-th destination operation, at a point
  chosen by the seed: before the ERP call, or after the ERP committed but before crmsync
  heard the answer. This is how the crash test lands kills inside the dangerous window.

It is never in the shipped registry: ``python -m tests.fakes.faulty_destination <crmsync
args>`` registers ``type: faulty`` and then runs the real ``crmsync`` command line.
``CRMSYNC_FAULT_RUN`` (an attempt number) and ``CRMSYNC_FAULT_KILL_AT`` vary the seed and
the kill point per process.
"""

from __future__ import annotations

import os
import random
import signal
import time
from collections.abc import Sequence
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from sync.connector import BuildContext
from sync.destination import CheckReport, Destination, ErpRef, PostResult
from sync.errors import TransientError

__all__ = ["Config", "FaultyDestination", "build", "main"]


class Config(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: str = Field("faulty", pattern="^faulty$")
    inner: dict[str, Any] = Field(description="the real destination's section (type: ledger, …)")
    seed: int = 0
    transient: float = Field(0.0, ge=0, le=1)
    retry_after: float | None = None
    unknown_after_commit: float = Field(0.0, ge=0, le=1)
    lost_response: float = Field(0.0, ge=0, le=1)
    lookup_transient: float = Field(0.0, ge=0, le=1)
    lookup_faults: Literal["all", "after_send"] = "all"
    delay_ms: int = Field(0, ge=0, description="sleep in each call, so external kills can land inside it")
    kill_at: int | None = Field(
        None, ge=1, description="SIGKILL at the n-th operation (or CRMSYNC_FAULT_KILL_AT)"
    )


class FaultyDestination:
    def __init__(self, inner: Destination, config: Config) -> None:
        self.inner = inner
        self.cfg = config
        self.type_name = f"faulty({inner.type_name})"
        self.batch_size = inner.batch_size
        run = int(os.environ.get("CRMSYNC_FAULT_RUN", "0"))
        self.rng = random.Random(config.seed * 1_000_003 + run)
        env_kill = os.environ.get("CRMSYNC_FAULT_KILL_AT")
        self.kill_at = int(env_kill) if env_kill else config.kill_at
        self.ops = 0
        #: counts, for in-process tests
        self.calls = {"post": 0, "lookup": 0, "transient": 0, "unknown": 0, "lost": 0}

    # -- faults ---------------------------------------------------------------------------

    def _op(self, where: str) -> None:
        """Count one operation point; die here if this is the chosen one."""
        self.ops += 1
        if self.kill_at is not None and self.ops == self.kill_at:
            os.kill(os.getpid(), signal.SIGKILL)
            time.sleep(10)  # never reached

    def _delay(self) -> None:
        if self.cfg.delay_ms:
            time.sleep(self.cfg.delay_ms / 1000)

    # -- Destination ----------------------------------------------------------------------

    def check(self, vouchers: Sequence[Any] = ()) -> CheckReport:
        return self.inner.check(vouchers)

    def render(self, voucher: Any) -> Any:
        return self.inner.render(voucher)

    def post(self, batch: Sequence[Any]) -> list[PostResult]:
        self.calls["post"] += 1
        self._delay()
        self._op("before post")
        if self.rng.random() < self.cfg.transient:
            self.calls["transient"] += 1
            raise TransientError("HTTP 503 Service Unavailable (injected)", retry_after=self.cfg.retry_after)
        results = self.inner.post(batch)
        self._op("after the ERP committed, before the answer")
        if self.rng.random() < self.cfg.lost_response:
            self.calls["lost"] += 1
            return [PostResult.unknown(r.external_ref, "read timeout after send (injected)") for r in results]
        out = []
        for r in results:
            if self.rng.random() < self.cfg.unknown_after_commit:
                self.calls["unknown"] += 1
                out.append(PostResult.unknown(r.external_ref, "connection reset after send (injected)"))
            else:
                out.append(r)
        return out

    def lookup(self, external_refs: Sequence[str], *, thorough: bool = False) -> dict[str, ErpRef]:
        self.calls["lookup"] += 1
        self._delay()
        self._op("lookup")
        faulty = thorough or self.cfg.lookup_faults == "all"
        if faulty and self.rng.random() < self.cfg.lookup_transient:
            raise TransientError("lookup timed out (injected)")
        return self.inner.lookup(external_refs, thorough=thorough)

    def close(self) -> None:
        self.inner.close()


def build(config: Config, ctx: BuildContext) -> FaultyDestination:
    from sync.config.registry import resolve

    module = resolve("destination", str(config.inner["type"]))
    inner = module.build(module.Config.model_validate(config.inner), ctx)
    return FaultyDestination(inner, config)


def register() -> None:
    """Make ``type: faulty`` known to this process's registry (tests only)."""
    from sync.config.registry import DESTINATIONS

    DESTINATIONS["faulty"] = "tests.fakes.faulty_destination"


def main() -> Any:
    register()
    from sync.cli import main as crmsync

    return crmsync()


if __name__ == "__main__":
    main()
