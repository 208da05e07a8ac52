"""The html report renders in headless Chromium, and what it draws is not an empty page."""

from __future__ import annotations

from pathlib import Path

import pytest

from sync.reports.vouchers import voucher_report
from sync.tables.files import write_report
from tests.reports import chromium
from tests.reports.vgen import outbox

pytestmark = pytest.mark.skipif(
    not chromium.available(),
    reason="Chromium is not installed (/usr/bin/chromium); install Debian's `chromium` to run this test",
)


def test_the_report_renders_into_a_non_empty_screenshot(tmp_path: Path) -> None:
    items, quarantined = outbox(5, n=40)
    (page,) = write_report(voucher_report(items, quarantined, period="2026-11"), "html", "zh", tmp_path)
    shot = chromium.screenshot(page, tmp_path / "report.png")
    width, height, channels, pixels = chromium.png_pixels(shot)
    assert (width, height) == (1400, 1000)
    # a blank page is one colour (a PNG of a few KB, under 10 distinct byte values); a drawn
    # report has text, rules and shading
    assert len(set(pixels)) > 50
    assert shot.stat().st_size > 20_000
    row = width * channels + 1
    non_white_rows = sum(1 for y in range(height) if set(pixels[y * row + 1 : (y + 1) * row]) - {0, 255})
    assert non_white_rows > height // 4
