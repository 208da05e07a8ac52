"""A 回款 of 0.00 is skipped by rule ("zero amount") or quarantined on request; a negative one is
quarantined naming the line and the field, unless the line allows it."""

from __future__ import annotations

from pathlib import Path

from sync.mapping import MappingSet
from tests.cli.test_validate import PAYMENT

ROOT = Path(__file__).resolve().parents[2]
PAYMENT_MAPPING = ROOT / "mappings" / "fxiaoke-kingdee" / "payment_received.yaml"


def _mappings(tmp_path: Path, *edits: tuple[str, str]) -> MappingSet:
    folder = tmp_path / "mappings"
    folder.mkdir()
    text = PAYMENT_MAPPING.read_text(encoding="utf-8")
    for old, new in edits:
        assert old in text
        text = text.replace(old, new)
    (folder / "payment_received.yaml").write_text(text, encoding="utf-8")
    (folder / "lookups").symlink_to(PAYMENT_MAPPING.parent / "lookups")
    return MappingSet.load([folder / "payment_received.yaml"], base_dir=tmp_path)


def test_a_zero_payment_is_skipped_by_rule_with_the_reason(tmp_path: Path) -> None:
    [result] = _mappings(tmp_path).map_record("crm", "PaymentObj", {**PAYMENT, "payment_amount": "0.00"})
    assert result.error is None and result.skipped and result.skip_reason == "zero amount"


def test_a_mapping_may_quarantine_zero_payments_instead(tmp_path: Path) -> None:
    ms = _mappings(tmp_path, ("source: crm\n", "source: crm\nzero_amount: quarantine\n"))
    [result] = ms.map_record("crm", "PaymentObj", {**PAYMENT, "payment_amount": "0.00"})
    assert result.error is not None
    assert "every line amount is zero" in result.error.render()
    assert "payment_received.yaml:" in result.error.render()


def test_a_negative_payment_is_quarantined_naming_the_line(tmp_path: Path) -> None:
    [result] = _mappings(tmp_path).map_record("crm", "PaymentObj", {**PAYMENT, "payment_amount": "-565.00"})
    assert result.error is not None
    text = result.error.render()
    assert "lines[0].debit: received is -565.00, a negative amount this line does not expect" in text
    assert "allow_negative: true" in text


def test_lines_that_allow_negative_amounts_book_them(tmp_path: Path) -> None:
    ms = _mappings(
        tmp_path,
        ("    debit: received\n", "    debit: received\n    allow_negative: true\n"),
        ("    credit: received\n", "    credit: received\n    allow_negative: true\n"),
    )
    [result] = ms.map_record("crm", "PaymentObj", {**PAYMENT, "payment_amount": "-565.00"})
    assert result.error is None, result.error and result.error.render()
    [voucher] = result.vouchers
    assert [str(ln.amount) for ln in voucher.lines] == ["-565.00", "-565.00"]
