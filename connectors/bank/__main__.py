"""Standalone Airbyte source: ``python -m connectors.bank spec|check|discover|read --config …``."""

from __future__ import annotations

import sys


def main() -> None:
    from airbyte_cdk.entrypoint import launch

    from connectors.bank.source import BankSource

    launch(BankSource(), sys.argv[1:])


if __name__ == "__main__":
    main()
