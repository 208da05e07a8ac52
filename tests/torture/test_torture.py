"""The torture suite: thousands of CRM records, three ERPs, faults everywhere, kills, a crashing state DB.

``make torture`` (not part of ``make test``). Sized by ``TORTURE_RECORDS`` (default 3000),
``TORTURE_KILLS`` (SIGKILLs of ``crmsync sync`` to land, default 30), ``TORTURE_PG_KILLS``
(crashes of the state store, default KILLS // 6, at least 2) and ``TORTURE_SEED``; the JSON summary goes to
``TORTURE_SUMMARY`` (default ``.crmsync/torture/summary.json``).

Each round the CRM changes (amount edits, voids, un-voids, payment-method changes, new
records), faults are queued at the fake Fxiaoke (throttling, expired tokens, 5xx, resets,
malformed pages) and three ``crmsync sync`` processes start, one per ERP (fake Kingdee,
S/4HANA, Business One — each answering a share of calls with lost sessions, 5xx, throttling
and answers that arrive after the client gave up although the document was saved). Seeded
choices SIGKILL some of them (after a random time, or after their ERP took a random number of
documents) and sometimes SIGKILL the private PostgreSQL that holds all three state stores,
restarting it a moment later. Once per ERP (from ``TORTURE_STATE_LOSSES`` rounds in, each
at its own round, after a run of that installation that settled) the whole state of that
installation is dropped, as a lost disk or a deleted file would, and the CRM stands still
until that installation has settled again: the new state must adopt, not repost, what the
ERP holds, under the same kills, faults and PostgreSQL crashes. (A record edited before the
new state has read it again is not covered: the new state cannot know the earlier revision
to reverse it; see the README, "What a lost state cannot know".) A run
that loses its state store must exit 2 with a message naming it; nothing may end in a
traceback. When enough kills have landed, the runs go on,
faults still on, until everything settled; then ``checker`` compares CRM, state and ERPs.
"""

from __future__ import annotations

import json
import os
import random
import signal
import statistics
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.engine.zygote import Zygote
from tests.torture.checker import check_destination, source_totals
from tests.torture.pgserver import PrivatePostgres, find_binaries
from tests.torture.world import ENV, STREAMS, Destination, World

pytestmark = [pytest.mark.torture, pytest.mark.timeout(3600)]

ROOT = Path(__file__).resolve().parents[2]
RECORDS = int(os.environ.get("TORTURE_RECORDS", "3000"))
KILLS = int(os.environ.get("TORTURE_KILLS", "30"))
PG_KILLS = int(os.environ.get("TORTURE_PG_KILLS", str(max(2, KILLS // 6))))
SEED = int(os.environ.get("TORTURE_SEED", "20261128"))
FAULT_RATE = float(os.environ.get("TORTURE_FAULT_RATE", "0.08"))
#: the round at which the first ERP's state is dropped; the next ERPs follow a round apart
STATE_LOSS_ROUND = int(os.environ.get("TORTURE_STATE_LOSSES", "3"))
SUMMARY = Path(os.environ.get("TORTURE_SUMMARY", str(ROOT / ".crmsync" / "torture" / "summary.json")))
CRM_FAULTS = ("throttle", "token_expired", "http_503", "http_500", "malformed", "reset", "not_json")
PRELOAD = (
    "psycopg",
    "sync.state.postgres",
    "connectors.fxiaoke.factory",
    "connectors.fxiaoke.source",
    "connectors.kingdee.factory",
    "connectors.sap.s4.factory",
    "connectors.sap.s4.destination",
    "connectors.sap.b1.factory",
    "connectors.sap.b1.destination",
)
RUN_DEADLINE = 600.0  # a run alive this long is hung: a finding, not a kill


@pytest.fixture(scope="module")
def private_pg() -> Iterator[PrivatePostgres]:
    bindir, problem = find_binaries()
    if problem:
        pytest.skip(f"the torture suite needs a private PostgreSQL server: {problem}")
    server = PrivatePostgres(bindir)
    try:
        server.start()
        yield server
    finally:
        server.close()


@dataclass
class Run:
    """One ``crmsync sync`` process."""

    dest: Destination
    pid: int
    out: Path
    err: Path
    started: float
    kill_at_time: float | None = None
    kill_at_docs: int | None = None
    pg_crashed: bool = False
    status: int | None = None
    seconds: float = 0.0


@dataclass
class Tally:
    rounds: int = 0
    runs: int = 0
    sync_kills: int = 0
    exit_codes: Counter[int] = field(default_factory=Counter)
    crm_changes: Counter[str] = field(default_factory=Counter)
    anomalies: list[str] = field(default_factory=list)
    durations: list[float] = field(default_factory=list)

    def typical(self) -> float:
        return statistics.median(self.durations[-9:]) if self.durations else 15.0


def _alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


class Torture:
    def __init__(self, world: World, pg: PrivatePostgres, zygote: Zygote, seed: int) -> None:
        self.world, self.pg, self.zygote = world, pg, zygote
        self.rng = random.Random(seed * 7 + 1)
        self.tally = Tally()

    # -- one round --------------------------------------------------------------------------

    def round(self, *, kills: bool) -> list[Run]:
        tally = self.tally
        tally.rounds += 1
        env = {**ENV, "CRMSYNC_FAULT_RUN": str(tally.rounds)}
        runs = []
        for dest in self.world.destinations:
            pid, out, err = self.zygote.start(["sync", "-c", str(dest.config), "--format", "json"], env)
            run = Run(dest, pid, out, err, time.monotonic())
            if kills and self.rng.random() < 0.7:
                if self.rng.random() < 0.5:
                    run.kill_at_docs = dest.documents() + self.rng.randint(1, 60)
                else:
                    run.kill_at_time = self.rng.uniform(0.3, tally.typical())
            runs.append(run)
        pg_at = pg_back = None
        if kills and self.pg.kills < PG_KILLS and self.rng.random() < 0.35:
            pg_at = self.rng.uniform(0.2, tally.typical())
            pg_back = pg_at + self.rng.uniform(0.05, 2.5)
        pg_killed_before = self.pg.kills
        self._watch(runs, pg_at, pg_back)
        print(
            f"round {tally.rounds}: exits {[r.status for r in runs]} in {max(r.seconds for r in runs):.1f}s"
            f"{', PostgreSQL killed' if self.pg.kills > pg_killed_before else ''}; "
            f"kills so far {tally.sync_kills} sync, {self.pg.kills} PostgreSQL",
            flush=True,
        )
        return runs

    def _watch(self, runs: list[Run], pg_at: float | None, pg_back: float | None) -> None:
        begun = time.monotonic()
        pending = list(runs)
        while pending or (pg_back is not None and pg_at is None):
            now = time.monotonic() - begun
            if pg_at is not None and now >= pg_at:
                self.pg.kill9()
                for run in pending:
                    run.pg_crashed = True
                pg_at = None
            if pg_at is None and pg_back is not None and now >= pg_back:
                self.pg.start()
                pg_back = None
            for run in list(pending):
                if not _alive(run.pid):
                    pending.remove(run)
                    self._finish(run)
                elif self._due(run):
                    os.kill(run.pid, signal.SIGKILL)
                elif time.monotonic() - run.started > RUN_DEADLINE:
                    self.tally.anomalies.append(f"{run.dest.name} run pid {run.pid} hung > {RUN_DEADLINE}s")
                    os.kill(run.pid, signal.SIGKILL)
            time.sleep(0.01)

    def _due(self, run: Run) -> bool:
        if run.kill_at_time is not None and time.monotonic() - run.started >= run.kill_at_time:
            return True
        return run.kill_at_docs is not None and run.dest.documents() >= run.kill_at_docs

    def _finish(self, run: Run) -> None:
        run.status = self.zygote.wait(run.pid)
        run.seconds = time.monotonic() - run.started
        tally = self.tally
        tally.runs += 1
        tally.exit_codes[run.status] += 1
        if run.status == -signal.SIGKILL:
            tally.sync_kills += 1
            return
        err = run.err.read_text(encoding="utf-8", errors="replace")
        if "Traceback" in err or run.status not in (0, 1, 2, 3):
            tally.anomalies.append(f"{run.dest.name} exit {run.status}: {err[-1500:]}")
        elif run.status == 2:
            if not run.pg_crashed:
                tally.anomalies.append(f"{run.dest.name} exit 2 without a state-store crash: {err[-800:]}")
            elif "state store" not in err:
                tally.anomalies.append(f"{run.dest.name} exit 2 without naming the state store: {err[-800:]}")
        elif not run.pg_crashed:
            tally.durations.append(run.seconds)

    # -- the CRM side --------------------------------------------------------------------------

    def queue_crm_faults(self) -> None:
        for _ in range(self.rng.randint(1, 3)):
            self.world.crm.inject(self.rng.choice(CRM_FAULTS), after=self.rng.randint(0, 40))

    def crm_faults(self) -> dict[str, int]:
        fired: Counter[str] = Counter()
        for req in list(self.world.crm.requests):
            if req.fault:
                fired[f"fxiaoke.{req.fault}"] += 1
            elif req.error_code in (30004, 14001):
                fired["fxiaoke.throttle_rate_limit"] += 1
        return dict(fired)

    # -- settling -------------------------------------------------------------------------------

    def unsettled(self, dest: Destination) -> int:
        import psycopg

        with psycopg.connect(self.pg.url) as conn:
            conn.execute(f'SET search_path TO "{dest.schema}"')
            row = conn.execute(
                "SELECT count(*) FROM outbox WHERE status IN ('pending', 'sending', 'failed')"
            ).fetchone()
        return int(row[0]) if row else -1

    def settle(self, rounds: int) -> bool:
        for _ in range(rounds):
            runs = self.round(kills=False)
            clean = all(r.status == 0 for r in runs)
            if clean and not any(self.unsettled(d) for d in self.world.destinations):
                return True
        return False


def _settled(torture: Torture, dest: Destination, last: dict[str, int | None]) -> bool:
    return last.get(dest.name) == 0 and not torture.unsettled(dest)


def _next_loss(
    torture: Torture, world: World, lost: list[str], last: dict[str, int | None]
) -> Destination | None:
    """The next installation to lose its state: one not lost yet whose last run settled."""
    for dest in world.destinations:
        if dest.name not in lost and _settled(torture, dest, last):
            return dest
    return None


def _drop_state(pg_url: str, schema: str) -> None:
    """Every table of one installation's state, gone (a lost disk, a deleted database)."""
    import psycopg

    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    print(f"state {schema} dropped", flush=True)


def _faults(world: World, torture: Torture) -> dict[str, int]:
    out = torture.crm_faults()
    for dest in world.destinations:
        out.update({f"{dest.name}.{k}": v for k, v in dest.faults().items()})
    return dict(sorted(out.items()))


def test_torture_source_state_and_three_erps_agree_after_faults_kills_and_state_db_crashes(
    tmp_path: Path, private_pg: PrivatePostgres
) -> None:
    started = time.monotonic()
    world = World(tmp_path, private_pg.url, RECORDS, SEED, FAULT_RATE)
    zygote = Zygote(tmp_path, preload=PRELOAD)
    torture = Torture(world, private_pg, zygote, SEED)
    tally = torture.tally
    lost: list[str] = []
    recovering: set[str] = set()  # lost their state and have not settled since: the CRM waits
    last: dict[str, int | None] = {}
    try:
        while tally.sync_kills < KILLS or private_pg.kills < PG_KILLS or len(lost) < len(world.destinations):
            assert tally.rounds < 40 + 4 * KILLS, f"only {tally.sync_kills} kills in {tally.rounds} rounds"
            loss = _next_loss(torture, world, lost, last) if tally.rounds >= STATE_LOSS_ROUND else None
            if loss is not None:  # the state is gone; the CRM is as its last, settled run saw it
                _drop_state(private_pg.url, loss.schema)
                lost.append(loss.name)
                recovering.add(loss.name)
            elif tally.rounds and not recovering:
                tally.crm_changes.update(world.change_crm(max(3, RECORDS // 150)))
            torture.queue_crm_faults()
            last = {r.dest.name: r.status for r in torture.round(kills=True)}
            recovering = {
                d.name for d in world.destinations if d.name in recovering and not _settled(torture, d, last)
            }
        settled = torture.settle(8)
        if not settled:  # faults off: what is left must go through now
            for dest in world.destinations:
                dest.set_fault_rate(0.0)
            world.crm.faults.clear()
            settled = torture.settle(3)
        records = {s: world.crm.records(s) for s in STREAMS}
        expected = source_totals(records, world.mappings / "lookups")
        findings = [
            check_destination(
                d.name, d.fake, private_pg.url, d.schema, records, expected, state_lost=d.name in lost
            )
            for d in world.destinations
        ]
        summary = _summary(world, torture, records, findings, settled, time.monotonic() - started)
    finally:
        zygote.close()
        world.close()
    _report(summary)
    assert tally.anomalies == [], "\n".join(tally.anomalies[:10])
    assert settled, summary["destinations"]
    for f in findings:
        assert f.problems == [], f.problems[:10]
        assert (f.duplicates, f.missing, f.totals_equal) == (0, 0, True)


def _summary(
    world: World,
    torture: Torture,
    records: dict[str, list[dict[str, Any]]],
    findings: list[Any],
    settled: bool,
    seconds: float,
) -> dict[str, Any]:
    tally = torture.tally
    return {
        "seed": SEED,
        "records": sum(len(r) for r in records.values()),
        "records_by_stream": {s: len(r) for s, r in records.items()},
        "records_normal": sum(1 for r in records.values() for x in r if x.get("life_status") == "normal"),
        "crm_changes": dict(tally.crm_changes),
        "rounds": tally.rounds,
        "sync_runs": tally.runs,
        "sync_kills": tally.sync_kills,
        "pg_kills": torture.pg.kills,
        "pg_starts": torture.pg.starts,
        "exit_codes": {str(k): v for k, v in sorted(tally.exit_codes.items())},
        "faults": _faults(world, torture),
        "faults_total": sum(_faults(world, torture).values()),
        "vouchers": {f.destination: f.vouchers_in_state for f in findings},
        "reversals": {f.destination: f.reversals_in_state for f in findings},
        "erp_documents": {f.destination: f.documents for f in findings},
        "duplicates": sum(f.duplicates for f in findings),
        "history_before_state_loss": {f.destination: f.history_before_loss for f in findings},
        "missing": sum(f.missing for f in findings),
        "totals_equal": all(f.totals_equal for f in findings),
        "settled": settled,
        "anomalies": tally.anomalies[:20],
        "destinations": {f.destination: f.as_dict() for f in findings},
        "seconds": round(seconds, 1),
    }


def _report(summary: dict[str, Any]) -> None:
    SUMMARY.parent.mkdir(parents=True, exist_ok=True)
    SUMMARY.write_text(json.dumps(summary, ensure_ascii=False, indent=2), encoding="utf-8")
    lines = [
        f"torture (seed {summary['seed']}): {summary['records']} records {summary['records_by_stream']}, "
        f"CRM changes {summary['crm_changes']}",
        f"  rounds {summary['rounds']}, sync runs {summary['sync_runs']}, "
        f"kills of sync {summary['sync_kills']}, kills of PostgreSQL {summary['pg_kills']}, "
        f"exit codes {summary['exit_codes']}",
        f"  faults injected {summary['faults_total']}: {summary['faults']}",
        f"  vouchers {summary['vouchers']}, reversals {summary['reversals']}, "
        f"ERP documents {summary['erp_documents']}",
        f"  duplicates {summary['duplicates']}, missing {summary['missing']}, "
        f"totals per account equal: {summary['totals_equal']}, {summary['seconds']} s -> {SUMMARY}",
    ]
    print("\n".join(lines))
