"""A reversal is dated in the original's period while it is open (``reversal_date:
original_if_open``, the default), else on the first day of the first open period after it."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

from tests.engine.tenant import crmsync, ledger_rows, make_setup, payments

EDITED = "1130.05"


def _edit_and_resync(tmp_path: Path, state_url: str, *, close_november: bool) -> list[dict[str, object]]:
    return [
        r
        for r in _edited(tmp_path, state_url, close_november)
        if str(r["external_ref"]).split("#")[0].endswith("~rev")
    ]


def _edited(tmp_path: Path, state_url: str, close_november: bool) -> list[dict[str, Any]]:
    """Three payments posted in November; then the second one's amount is edited in the CRM."""
    records = payments(3)
    setup = make_setup(tmp_path, state_url, records)
    assert crmsync("sync", "-c", str(setup.config)).exit_code == 0
    if close_november:  # month-end close after the first posting
        text = setup.config.read_text(encoding="utf-8")
        setup.config.write_text(
            text.replace('"dedupe": false', '"dedupe": false, "closed_periods": ["2026-11"]'),
            encoding="utf-8",
        )
    records[1] = {**records[1], "payment_amount": EDITED}
    setup.write_payments(records)
    assert crmsync("sync", "-c", str(setup.config)).exit_code == 0
    return ledger_rows(setup.ledger)


def _report(tmp_path: Path, period: str) -> dict[str, Any]:
    res = crmsync(
        "report",
        "vouchers",
        "-c",
        str(tmp_path / "config.yaml"),
        "--period",
        period,
        "--format",
        "json",
        "-o",
        "-",
    )
    assert res.exit_code == 0, res.stderr
    return json.loads(res.stdout[res.stdout.index("{") :])  # type: ignore[no-any-return]


def test_an_edit_in_an_open_period_shows_the_reversal_there_and_no_difference(
    tmp_path: Path, state_url: str
) -> None:
    _edited(tmp_path, state_url, close_november=False)
    report = _report(tmp_path, "2026-11")

    assert report["tables"]["differences"]["rows"] == []
    chains = [r["chain"] for r in report["tables"]["vouchers"]["rows"] if r["chain"]]
    assert any(c.startswith("冲销 reverses payment_received:PaymentObj:pay000001#") for c in chains)
    assert any(c.startswith("被冲销 reversed by payment_received:PaymentObj:pay000001~rev#") for c in chains)
    totals = report["tables"]["by_day"]["totals"]
    assert totals["read"] == totals["posted"]  # the CRM's current amounts, to the cent


def test_an_edit_of_a_closed_period_lands_in_the_first_open_one_and_the_differences_show_both_pieces(
    tmp_path: Path, state_url: str
) -> None:
    rows = _edited(tmp_path, state_url, close_november=True)
    edited = [r for r in rows if str(r["external_ref"]).startswith("payment_received:PaymentObj:pay000001")]
    assert sorted(r["period"] for r in edited) == ["2026-11", "2026-12", "2026-12"]  # original, reversal, new

    [december] = _report(tmp_path, "2026-12")["tables"]["differences"]["rows"]
    assert december["record_id"] == "pay000001" and Decimal(december["read"]) == Decimal(EDITED)
    assert "跨期" in december["reason"]
    pieces = december["pieces"].split("; ")
    assert [p.split(" ")[0] for p in pieces] == ["2026-11", "2026-12", "2026-12"]
    assert pieces[2].startswith("2026-12 +1,130.05 凭证")
    [november] = _report(tmp_path, "2026-11")["tables"]["differences"]["rows"]
    assert Decimal(november["difference"]) == -Decimal(december["difference"])  # the two periods net out
    assert _report(tmp_path, "all")["tables"]["differences"]["rows"] == []  # net across periods: exact


def test_a_reversal_in_an_open_period_is_dated_like_the_original(tmp_path: Path, state_url: str) -> None:
    [reversal] = _edit_and_resync(tmp_path, state_url, close_november=False)
    assert (reversal["date"], reversal["period"]) == ("2026-11-02", "2026-11")


def test_a_reversal_of_a_closed_period_goes_to_the_first_day_of_the_next_open_one(
    tmp_path: Path, state_url: str
) -> None:
    [reversal] = _edit_and_resync(tmp_path, state_url, close_november=True)
    assert (reversal["date"], reversal["period"]) == ("2026-12-01", "2026-12")


def test_each_reversal_date_policy() -> None:
    import datetime as dt

    from sync.engine.reversals import Planner
    from tests.state.test_store import voucher

    original = voucher()  # 2026-11-02, mapping payment_received
    today = dt.date(2027, 2, 14)
    closed = ("2026-11", "2026-12")

    def day(policy: str) -> dt.date:
        planner = Planner(None, None, today, dates={"payment_received": policy}, closed_periods=closed)  # type: ignore[arg-type]
        return planner.reversal_day(original)

    assert day("original_if_open") == dt.date(2027, 1, 1)  # two closed months skipped, never earlier
    assert day("original") == dt.date(2026, 11, 2)
    assert day("today") == today


def test_a_new_revision_in_a_closed_period_follows_its_reversal_unless_the_policy_keeps_the_date() -> None:
    import datetime as dt

    from sync.engine.reversals import Planner
    from tests.state.test_store import voucher

    edited = voucher()  # 2026-11-02
    today = dt.date(2027, 2, 14)

    def day(policy: str, closed: tuple[str, ...]) -> dt.date:
        planner = Planner(None, None, today, dates={"payment_received": policy}, closed_periods=closed)  # type: ignore[arg-type]
        return planner.revision_day(edited)

    assert day("original_if_open", ()) == dt.date(2026, 11, 2)  # open: its own date
    assert day("original_if_open", ("2026-11",)) == dt.date(2026, 12, 1)
    assert day("today", ("2026-11",)) == today
    assert day("original", ("2026-11",)) == dt.date(2026, 11, 2)  # the ERP refuses it until reopened
