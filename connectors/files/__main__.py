"""``python -m connectors.files spec|check|discover|read --config … [--catalog …] [--state …]``."""

from __future__ import annotations

import sys

from airbyte_cdk.entrypoint import launch

from connectors.files.source import SourceFiles


def main() -> None:
    launch(SourceFiles(sweep_markers=False), sys.argv[1:])  # no crmsync-only rows downstream


if __name__ == "__main__":
    main()
