"""One rendering stack for every table crmsync shows: text, csv, json, xlsx and html.

A ``Report`` is a title and a list of ``Table``s; cells hold Python values (Decimal for
money, ``date`` for dates) and each renderer decides how a ``Kind`` looks. The finance
reports, reconciliation and the operator commands all build these, so an amount reads the
same on a terminal, in a csv and in Excel.
"""

from sync.tables.model import Cell, Column, Kind, Lang, Report, Table, plain_table

__all__ = ["Cell", "Column", "Kind", "Lang", "Report", "Table", "plain_table"]
