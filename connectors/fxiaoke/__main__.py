"""``python -m connectors.fxiaoke spec|check|discover|read --config … [--catalog …] [--state …]``."""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> None:
    from airbyte_cdk.entrypoint import launch

    from connectors.fxiaoke.source import SourceFxiaoke

    launch(SourceFxiaoke(), sys.argv[1:] if argv is None else argv)


if __name__ == "__main__":
    main()
