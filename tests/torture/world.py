"""The torture suite's world: a generated CRM tenant on the fake Fxiaoke, three fake ERPs, configs.

Every destination is a separate crmsync installation (its own config and state schema in the
private PostgreSQL server) reading the same CRM: fake Kingdee, fake S/4HANA and fake Business
One. The fakes run as threads of the test process so the checker can read what they store.
Nothing here knows how the engine works; it only sets the stage the way an admin would.
"""

from __future__ import annotations

import csv
import random
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.e2e.support import (
    B1_MAP,
    CANONICAL_ACCOUNTS,
    ERP_SECRETS,
    FAST_RETRIES,
    ROOT,
    S4_MAP,
    b1_destination,
    kingdee_destination,
    s4_destination,
    write_config,
)
from tests.fakes.fxiaoke import APP_ID, APP_SECRET, OPEN_USER_ID, PERMANENT_CODE, FakeFxiaoke
from tests.fakes.kingdee import FakeKingdee
from tests.fakes.sap_b1 import FakeB1
from tests.fakes.sap_s4 import FakeS4

__all__ = ["ACCOUNTS", "B1_MAP", "ENV", "S4_MAP", "STREAMS", "Destination", "World"]

MAPPINGS = ROOT / "mappings" / "fxiaoke-kingdee"
STREAMS = ("SalesOrderObj", "PaymentObj", "RefundObj")
MAPPING_FILES = ("sales_order_confirmed.yaml", "payment_received.yaml", "refund_paid.yaml")
ACCOUNTS = CANONICAL_ACCOUNTS
ENV = {
    "FXIAOKE_APP_SECRET": APP_SECRET,
    "FXIAOKE_PERMANENT_CODE": PERMANENT_CODE,
    **ERP_SECRETS,
    **FAST_RETRIES,
}
#: client timeout; every "answer after commit" fault holds the answer longer than this
CLIENT_TIMEOUT = 2.0
LATE_ANSWER = 2.6


@dataclass
class Destination:
    """One crmsync installation: its fake ERP, config file and state schema."""

    name: str
    fake: Any
    config: Path
    schema: str
    documents: Callable[[], int]
    faults: Callable[[], dict[str, int]]
    set_fault_rate: Callable[[float], None]
    procs: list[Any] = field(default_factory=list)


def split_records(total: int) -> dict[str, int]:
    """Orders, payments and refunds in the proportions of a real tenant (refunds are rarer)."""
    orders = total * 2 // 5
    refunds = total * 3 // 20
    return {"SalesOrderObj": orders, "PaymentObj": total - orders - refunds, "RefundObj": refunds}


class World:
    """Start everything; ``close`` stops the fakes."""

    def __init__(self, root: Path, pg_url: str, records: int, seed: int, fault_rate: float) -> None:
        self.root = root
        self.seed = seed
        self.rng = random.Random(seed)
        counts = {"AccountObj": max(20, records // 40), **split_records(records)}
        # a real (tight) per-endpoint limit: three installations reading at once get throttled
        self.crm = FakeFxiaoke(
            records=counts,
            seed=seed,
            rate_limit=(60, 2.0),
            token_rate_limit=(120, 60.0),
            hang_seconds=LATE_ANSWER,
        )
        self.crm.start()
        self.customers = {
            acc["_id"]: f"CUST{n:05d}" for n, acc in enumerate(self.crm.records("AccountObj"), 1)
        }
        self.mappings = self._mappings()
        codes = sorted(self.customers.values())
        kingdee = FakeKingdee(
            customers=codes,
            accounts={a: (("FFLEX6",) if a == "1122" else ()) for a in ACCOUNTS},
            fault_rate=fault_rate,
            seed=seed + 1,
            timeout_delay=LATE_ANSWER,
        ).start()
        s4 = FakeS4(
            accounts=[v for v in S4_MAP.values() if isinstance(v, str)],
            customers=codes,
            fault_rate=fault_rate,
            seed=seed + 2,
            hang_seconds=LATE_ANSWER,
        ).start()
        b1 = FakeB1(
            accounts=ACCOUNTS,
            customers=dict.fromkeys(codes, "1122"),
            fault_rate=fault_rate,
            seed=seed + 3,
            hang_seconds=LATE_ANSWER,
        ).start()
        self.destinations = [
            Destination(
                "kingdee",
                kingdee,
                self._config("kingdee", pg_url, self._kingdee(kingdee)),
                f"torture_{seed}_kingdee",
                lambda: len(kingdee.vouchers),
                lambda: dict(kingdee.injected),
                lambda rate: setattr(kingdee, "fault_rate", rate),
            ),
            Destination(
                "sap_s4",
                s4,
                self._config("sap_s4", pg_url, self._s4(s4)),
                f"torture_{seed}_sap_s4",
                lambda: len(s4.documents),
                lambda: dict(s4.faults_fired),
                lambda rate: setattr(s4, "fault_rate", rate),
            ),
            Destination(
                "sap_b1",
                b1,
                self._config("sap_b1", pg_url, self._b1(b1)),
                f"torture_{seed}_sap_b1",
                lambda: len(b1.entries),
                lambda: dict(b1.faults_fired),
                lambda rate: setattr(b1, "fault_rate", rate),
            ),
        ]

    def close(self) -> None:
        self.crm.close()
        for dest in self.destinations:
            dest.fake.stop()

    # -- setup -----------------------------------------------------------------------------

    def _mappings(self) -> Path:
        """The shipped mappings, with the customer lookup an admin keeps (CRM id -> ERP code)."""
        target = self.root / "mappings"
        shutil.copytree(MAPPINGS, target)
        with open(target / "lookups" / "customers.csv", "w", encoding="utf-8", newline="") as fh:
            writer = csv.writer(fh)
            writer.writerow(["crm_account_id", "erp_customer_code", "customer_name"])
            for acc in self.crm.records("AccountObj"):
                writer.writerow([acc["_id"], self.customers[acc["_id"]], acc["name"]])
        return target

    def _config(self, name: str, pg_url: str, destination: dict[str, Any]) -> Path:
        folder = self.root / name
        folder.mkdir()
        source = {
            "type": "fxiaoke",
            "base_url": self.crm.url,
            "app_id": APP_ID,
            "app_secret": "${FXIAOKE_APP_SECRET}",
            "permanent_code": "${FXIAOKE_PERMANENT_CODE}",
            "open_user_id": OPEN_USER_ID,
            "start_date": "2025-01-01",
            "streams": list(STREAMS),
            "page_size": 100,
            "requests_per_second": 40,
        }
        state_url = f"{pg_url}?schema=torture_{self.seed}_{name}"
        return write_config(
            folder / "config.yaml",
            state={"url": state_url, "lock_timeout_seconds": 30},
            sources={"crm": source},
            destination=destination,
            mappings=[str(self.mappings / m) for m in MAPPING_FILES],
        )

    @staticmethod
    def _kingdee(fake: FakeKingdee) -> dict[str, Any]:
        return kingdee_destination(
            fake, batch_size=25, submit=True, audit=True, timeout_seconds=CLIENT_TIMEOUT
        )

    @staticmethod
    def _s4(fake: FakeS4) -> dict[str, Any]:
        return s4_destination(
            fake,
            document_type={"default": "SA", "sales_order_confirmed": "DR", "payment_received": "DZ"},
            batch_size=25,
            timeout_seconds=CLIENT_TIMEOUT,
        )

    @staticmethod
    def _b1(fake: FakeB1) -> dict[str, Any]:
        return b1_destination(fake, batch_size=25, timeout_seconds=CLIENT_TIMEOUT)

    # -- the CRM between rounds -------------------------------------------------------------

    def change_crm(self, n: int) -> dict[str, int]:
        """``n`` seeded changes a sales team makes between two syncs; returns counts per kind."""
        done: dict[str, int] = {}
        amounts = {
            "SalesOrderObj": "order_amount",
            "PaymentObj": "payment_amount",
            "RefundObj": "refunded_amount",
        }
        accounts = list(self.customers)
        for _ in range(n):
            api = self.rng.choice(STREAMS)
            ids = self.crm.ids(api)
            rid = self.rng.choice(ids)
            record = self.crm.get(api, rid)
            roll = self.rng.random()
            if roll < 0.35:
                cents = self.rng.randint(1_00, 900_000_00)
                fields: dict[str, Any] = {amounts[api]: f"{cents // 100}.{cents % 100:02d}"}
                if api == "PaymentObj" and self.rng.random() < 0.3:
                    fields["payment_term"] = str(self.rng.randint(1, 4))  # the method changes too
                self.crm.edit(api, rid, **fields)
                kind = "edit_amount"
            elif roll < 0.6:
                self.crm.void(api, rid)
                kind = "void"
            elif roll < 0.7:
                self.crm.edit(api, rid, life_status="normal")
                kind = "unvoid" if record["life_status"] != "normal" else "touch"
            elif roll < 0.85:
                self.crm.edit(api, rid, remark=f"客户备注 {self.rng.randint(1, 999)}")
                kind = "edit_remark"
            else:
                account = self.rng.choice(accounts)
                self.crm.add(api, account_id=account, account_id__r=f"客户 {self.customers[account]}")
                kind = "new"
            done[kind] = done.get(kind, 0) + 1
        return done
