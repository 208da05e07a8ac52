"""A reversal is dated in the original's period while it is open (``reversal_date:
original_if_open``, the default), else on the first day of the first open period after it."""

from __future__ import annotations

from pathlib import Path

from tests.engine.tenant import crmsync, ledger_rows, make_setup, payments


def _edit_and_resync(tmp_path: Path, state_url: str, *, close_november: bool) -> list[dict[str, object]]:
    records = payments(3)
    setup = make_setup(tmp_path, state_url, records)
    assert crmsync("sync", "-c", str(setup.config)).exit_code == 0
    if close_november:  # month-end close after the first posting
        text = setup.config.read_text(encoding="utf-8")
        setup.config.write_text(
            text.replace('"dedupe": false', '"dedupe": false, "closed_periods": ["2026-11"]'),
            encoding="utf-8",
        )
    records[1] = {**records[1], "payment_amount": "1130.05"}
    setup.write_payments(records)
    crmsync("sync", "-c", str(setup.config))
    return [r for r in ledger_rows(setup.ledger) if str(r["external_ref"]).split("#")[0].endswith("~rev")]


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
