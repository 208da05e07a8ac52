"""The account codes a mapping may use: read from a chart-of-accounts CSV.

Any CSV with a header row works: the codes come from the column named ``code`` (or
``account`` / ``number``), else the first column. Only the codes matter here; the ledger
reads the same file with its own, richer rules (direction, required dimensions).
"""

from __future__ import annotations

import csv
from pathlib import Path

from sync.errors import ConfigurationError

__all__ = ["read_account_codes"]

_CODE_COLUMNS = ("code", "account", "number", "FNumber")


def read_account_codes(path: Path) -> frozenset[str]:
    """Every account code in the chart; a missing or unreadable file is a configuration error."""
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            rows = list(csv.reader(handle))
    except FileNotFoundError:
        raise ConfigurationError(
            f"chart of accounts {path} does not exist",
            hint="fix chart_of_accounts in config.yaml (relative to the config file)",
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigurationError(
            f"chart of accounts {path} cannot be read: {exc}", hint="save it as a UTF-8 CSV with a header row"
        ) from None
    if not rows:
        raise ConfigurationError(
            f"chart of accounts {path} is empty", hint="add a header row and the accounts"
        )
    header = [h.strip() for h in rows[0]]
    column = next((header.index(c) for c in _CODE_COLUMNS if c in header), 0)
    return frozenset(r[column].strip() for r in rows[1:] if len(r) > column and r[column].strip())
