"""The adapter: both sides of reconciliation read from the sources config.yaml names.

Sources are read in full through the CRM read model's reader (``sync.crm.read_source``):
reconciliation looks at everything the bank files and the CRM hold, not just what is new
since the last sync, and counts CRM records by the read model's one rule. A
source that fails (a refused statement file) does not stop the report; its errors are
returned and shown, and nothing of the refused file is in the inputs.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from sync.banking import BANK_FORMATS as FORMATS
from sync.banking import BankTransaction
from sync.config import AppConfig
from sync.crm import CrmBook, CrmFields, load_book, read_book, read_source
from sync.crm.source import crm_source_name
from sync.errors import ConfigurationError
from sync.reconcile.config import ReconcileConfig
from sync.reconcile.model import CrmOrder, CrmPayment

__all__ = ["Inputs", "crm_from_records", "load_inputs"]

log = logging.getLogger("crmsync.reconcile")


class Inputs:
    """Both sides of one reconciliation, read in full: bank lines by id, CRM payments and orders."""

    def __init__(self) -> None:
        self.bank: dict[str, BankTransaction] = {}
        self.payments: list[CrmPayment] = []
        self.orders: list[CrmOrder] = []
        self.errors: list[str] = []
        self.bank_sources: list[str] = []
        self.crm_source = ""


def _bank_source_names(config: AppConfig, rc: ReconcileConfig) -> list[str]:
    names = rc.bank_sources or [n for n, s in config.sources.items() if s.type in FORMATS]
    for name in names:
        section = config.sources.get(name)
        if section is None:
            raise ConfigurationError(
                f"{config.config_path}: reconcile.bank_sources names {name!r}, not a source",
                hint=f"sources are: {', '.join(sorted(config.sources))}",
            )
        if section.type not in FORMATS:
            raise ConfigurationError(
                f"{config.config_path}: reconcile.bank_sources: {name!r} is a {section.type} "
                "source, not a bank or platform source",
                hint=f"bank/platform types: {', '.join(FORMATS)}",
            )
    if not names:
        raise ConfigurationError(
            f"{config.config_path}: no bank or platform source to reconcile",
            hint=f"add a source of type {', '.join(FORMATS)} and list it in reconcile.bank_sources",
        )
    return names


def _crm_source_name(config: AppConfig, rc: ReconcileConfig) -> str:
    return crm_source_name(config, rc.crm_source, "reconcile", "to reconcile against")


def _read_all(
    config: AppConfig, name: str, wanted: Iterable[str] | None, errors: list[str]
) -> Iterable[tuple[str, dict[str, Any]]]:
    return read_source(config, name, None if wanted is None else list(wanted), errors)[1]


def crm_from_records(
    records: Iterable[tuple[str, dict[str, Any]]], f: CrmFields
) -> tuple[list[CrmPayment], list[CrmOrder], list[str]]:
    """CRM payments and orders through the read model (its loader and its counting rule);
    a record that cannot be read is reported, not fatal."""
    return _matching_types(load_book(records, f))


def _matching_types(book: CrmBook) -> tuple[list[CrmPayment], list[CrmOrder], list[str]]:
    payments = [
        CrmPayment(
            id=p.id,
            number=p.name,
            amount=p.amount,
            date=p.date,
            customer=p.account_name,
            order_ids=(p.order_id,) if p.order_id else (),
            order_numbers=(p.order_number,) if p.order_number else (),
            payer_account=p.payer_account,
        )
        for p in book.payments.values()
    ]
    orders = [
        CrmOrder(id=o.id, number=o.name, amount=o.amount, date=o.date, customer=o.account_name)
        for o in book.orders.values()
    ]
    return payments, orders, book.problems


def crm_fields(config: AppConfig, rc: ReconcileConfig) -> CrmFields:
    """The read model's fields for reconciliation: its own keys, the reports' statuses by default."""
    statuses = config.reports.get("statuses") if isinstance(config.reports, dict) else None
    return rc.crm_fields.fields(tuple(statuses) if isinstance(statuses, list) and statuses else ("normal",))


def load_inputs(config: AppConfig, rc: ReconcileConfig) -> Inputs:
    """Every bank/platform line of the bank sources and every CRM payment and order."""
    out = Inputs()
    out.bank_sources = _bank_source_names(config, rc)
    for name in out.bank_sources:
        for _, rec in _read_all(config, name, None, out.errors):
            txn = BankTransaction.from_record(rec)
            out.bank.setdefault(txn.id, txn)
    out.crm_source = _crm_source_name(config, rc)
    fields = crm_fields(config, rc)
    wanted = [fields.payment_stream, fields.order_stream]
    _, book = read_book(config, out.crm_source, wanted, fields, out.errors)
    payments, orders, problems = _matching_types(book)
    out.payments, out.orders = payments, orders
    out.errors.extend(problems)
    return out
