"""The chart of accounts (科目表): which accounts exist and what a line on each must carry.

Loaded from CSV (``code,name,direction,requires_dims``) so an IT admin can ship their own.
Sub-accounts use dotted codes (``2221.01.05``); a sub-account's parent must exist, and only
detail accounts (those without sub-accounts) take postings, as in Kingdee and SAP. The one
function :meth:`Chart.problem` says why a line cannot be posted; the ledger refuses with it
and ``crmsync validate`` reports it before anything is sent.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from sync.errors import ConfigurationError, Location

__all__ = ["DEFAULT_CHART_PATH", "Account", "Chart", "load_chart"]

#: 企业会计准则 first-level accounts plus the sub-accounts the ready mappings use.
DEFAULT_CHART_PATH: Final = Path(__file__).with_name("chart_cn.csv")

_COLUMNS: Final = ("code", "name", "direction", "requires_dims")
_DIRECTIONS: Final = frozenset({"debit", "credit"})


@dataclass(frozen=True, slots=True)
class Account:
    """One account. ``requires_dims`` includes those inherited from the parent account."""

    code: str
    name: str
    direction: str  # the normal balance side: debit (assets, costs) or credit (liabilities, income)
    requires_dims: tuple[str, ...] = ()
    parent: str | None = None


@dataclass(frozen=True)
class Chart:
    """A loaded chart: accounts by code, and which codes have sub-accounts."""

    accounts: Mapping[str, Account]
    source: str = ""
    _children: Mapping[str, tuple[str, ...]] = field(default_factory=dict, repr=False)

    def __contains__(self, code: object) -> bool:
        return code in self.accounts

    def __iter__(self) -> Iterator[Account]:
        return iter(self.accounts.values())

    def __len__(self) -> int:
        return len(self.accounts)

    def get(self, code: str) -> Account | None:
        return self.accounts.get(code)

    def children(self, code: str) -> tuple[str, ...]:
        return self._children.get(code, ())

    def full_name(self, code: str) -> str:
        """``应交税费-应交增值税-销项税额`` for ``2221.01.05``: the name finance reads."""
        names: list[str] = []
        current: str | None = code
        while current is not None and (acct := self.accounts.get(current)) is not None:
            names.append(acct.name)
            current = acct.parent
        return "-".join(reversed(names))

    def problem(self, code: str, dims: Mapping[str, str] | None = None) -> str | None:
        """Why a line on ``code`` with these dimensions cannot be posted, or None when it can."""
        acct = self.accounts.get(code)
        if acct is None:
            root = code.split(".", maxsplit=1)[0]
            near = sorted(c for c in self.accounts if c.split(".", maxsplit=1)[0] == root)
            hint = f"; accounts under {root}: {', '.join(near[:8])}" if near else ""
            return f"account {code} is not in the chart of accounts{hint}"
        kids = self._children.get(code)
        if kids:
            listed = ", ".join(f"{k} {self.accounts[k].name}" for k in kids[:6])
            return (
                f"account {code} {acct.name} has sub-accounts and takes no postings; "
                f"post to a detail account: {listed}"
            )
        given = dims or {}
        missing = [d for d in acct.requires_dims if not given.get(d)]
        if missing:
            return (
                f"account {code} {self.full_name(code)} requires the dimension "
                f"{', '.join(missing)} (辅助核算) on every line"
            )
        return None


def load_chart(path: str | Path = DEFAULT_CHART_PATH) -> Chart:
    """Read a chart CSV; every bad row is reported at once with its file and line."""
    p = Path(path)
    accounts: dict[str, Account] = {}
    problems: list[str] = []
    for where, cells in _rows(p):
        code, name, direction, dims = cells[:4]
        parent = code.rsplit(".", 1)[0] if "." in code else None
        if not code or not name:
            problems.append(f"{where}: code and name are required")
        elif code in accounts:
            problems.append(f"{where}: account {code} is listed twice")
        elif direction not in _DIRECTIONS:
            problems.append(f"{where}: direction {direction!r} must be debit or credit")
        elif parent is not None and parent not in accounts:
            problems.append(f"{where}: parent account {parent} of {code} must be listed above it")
        else:
            own = tuple(d.strip() for d in dims.split(";") if d.strip())
            inherited = accounts[parent].requires_dims if parent else ()
            accounts[code] = Account(code, name, direction, tuple(dict.fromkeys((*inherited, *own))), parent)
    if problems:
        raise ConfigurationError(
            "chart of accounts has errors:\n" + "\n".join(problems), hint="fix the listed rows"
        )
    children: dict[str, list[str]] = {}
    for acct in accounts.values():
        if acct.parent:
            children.setdefault(acct.parent, []).append(acct.code)
    return Chart(accounts, str(p), {k: tuple(v) for k, v in children.items()})


def _rows(p: Path) -> Iterator[tuple[Location, list[str]]]:
    """Non-blank data rows, padded to the four columns, with their location."""
    try:
        text = p.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise ConfigurationError(
            f"chart of accounts {p} does not exist",
            hint="set destination.chart to a CSV file, or remove it to use the shipped chart",
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigurationError(
            f"chart of accounts {p} cannot be read: {exc}", hint="save it as UTF-8 CSV"
        ) from None
    rows = list(csv.reader(text.splitlines()))
    if not rows or tuple(c.strip() for c in rows[0][: len(_COLUMNS)]) != _COLUMNS:
        raise ConfigurationError(
            f"header must be {','.join(_COLUMNS)}",
            location=Location(str(p), 1),
            hint="the first line names the columns",
        )
    for lineno, row in enumerate(rows[1:], start=2):
        if row and "".join(row).strip():
            yield Location(str(p), lineno), [c.strip() for c in row] + [""] * (len(_COLUMNS) - len(row))
