"""``python -m connectors.kingdee spec|check|write``: the Kingdee destination under the Airbyte
protocol. The glue is generic (sync/airbyte/destination.py); this file only names the type."""

from __future__ import annotations

import sys


def main() -> None:
    from sync.airbyte.destination import main

    main("kingdee", sys.argv[1:])


if __name__ == "__main__":
    main()
