"""Regenerate docs/report.png: the voucher report of the sample tenant, as headless Chromium draws it.

    .venv/bin/python docs/report_png.py        # needs /usr/bin/chromium (Debian package `chromium`)

Syncs examples/crm into a throw-away embedded ledger, writes the html report, screenshots it.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from click.testing import CliRunner

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from sync.cli import cli  # noqa: E402
from tests.reports import chromium  # noqa: E402

CONFIG = """
state: {{url: "sqlite:///state.db"}}
sources:
  crm: {{type: files, path: "{repo}/examples/crm"}}
destination: {{type: ledger, path: ledger.db}}
mappings: ["{repo}/mappings/fxiaoke-kingdee/*.yaml"]
reports:
  link_template: "https://www.fxiaoke.com/XV/UI/Home#crm/detail/=/{{stream}}/{{record_id}}"
"""


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        (folder / "config.yaml").write_text(CONFIG.format(repo=REPO), encoding="utf-8")
        runner = CliRunner()
        runner.invoke(cli, ["sync", "-c", str(folder / "config.yaml")])
        result = runner.invoke(
            cli,
            [
                "report",
                "vouchers",
                "-c",
                str(folder / "config.yaml"),
                "--format",
                "html",
                "--output",
                str(folder / "report.html"),
            ],
        )
        if result.exit_code:
            raise SystemExit(result.output)
        out = REPO / "docs" / "report.png"
        chromium.screenshot(folder / "report.html", out, width=1280, height=900)
        print(f"wrote {out}")


if __name__ == "__main__":
    main()
