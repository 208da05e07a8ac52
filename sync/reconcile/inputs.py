"""The adapter: both sides of reconciliation read from the sources config.yaml names.

Sources run in-process exactly as the engine runs them (``sync.engine.build`` and
``sync.engine.reading``), as a full read without stored cursors: reconciliation looks at
everything the bank files and the CRM hold, not just what is new since the last sync. A
source that fails (a refused statement file) does not stop the report; its errors are
returned and shown, and nothing of the refused file is in the inputs.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable
from typing import Any

from sync.banking import BANK_FORMATS as FORMATS
from sync.banking import BankTransaction
from sync.config import AppConfig
from sync.crm_source import crm_source_name
from sync.dates import date_from_epoch_ms, parse_date
from sync.errors import ConfigurationError
from sync.money import MoneyError, parse_amount
from sync.reconcile.config import CrmFields, ReconcileConfig
from sync.reconcile.model import CrmOrder, CrmPayment

__all__ = ["Inputs", "crm_from_records", "load_inputs"]

log = logging.getLogger("crmsync.reconcile")


class Inputs:
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
    from sync.engine.build import build_sources
    from sync.engine.reading import read_records

    handle = build_sources(config, {name})[name]
    available = [s.name for s in handle.source.streams(handle.config)]
    streams = [s for s in available if wanted is None or s in set(wanted)]
    if not streams:
        return []
    return read_records(name, handle, streams, errors)


def _day(value: Any, field: str) -> dt.date:
    if isinstance(value, int) or (isinstance(value, str) and value.isdigit() and len(value) > 10):
        return date_from_epoch_ms(value, field=field)
    return parse_date(value, field=field)


def crm_from_records(
    records: Iterable[tuple[str, dict[str, Any]]], f: CrmFields
) -> tuple[list[CrmPayment], list[CrmOrder], list[str]]:
    """CRM payments and orders from raw records; a record that cannot be read is reported, not fatal."""
    payments: dict[str, CrmPayment] = {}
    orders: dict[str, CrmOrder] = {}
    problems: list[str] = []
    for stream, rec in records:
        if rec.get(f.voided_field) in f.voided_values or rec.get("is_deleted") is True:
            continue
        rid = str(rec.get(f.id) or "")
        try:
            if stream == f.payment_stream:
                order_id = rec.get(f.payment_order_id) or ""
                order_no = rec.get(f.payment_order_number) or ""
                payments[rid] = CrmPayment(
                    id=rid,
                    number=str(rec.get(f.payment_number) or ""),
                    amount=parse_amount(rec.get(f.payment_amount), field=f.payment_amount),
                    date=_day(rec.get(f.payment_date), f.payment_date),
                    customer=str(rec.get(f.payment_customer) or ""),
                    order_ids=(str(order_id),) if order_id else (),
                    order_numbers=(str(order_no),) if order_no else (),
                    payer_account=str(rec.get(f.payment_payer_account) or "")
                    if f.payment_payer_account
                    else "",
                )
            elif stream == f.order_stream:
                orders[rid] = CrmOrder(
                    id=rid,
                    number=str(rec.get(f.order_number) or ""),
                    amount=parse_amount(rec.get(f.order_amount), field=f.order_amount),
                    date=_day(rec.get(f.order_date), f.order_date),
                    customer=str(rec.get(f.order_customer) or ""),
                )
        except (MoneyError, ValueError) as exc:
            problems.append(f"{stream} {rid}: {exc}")
    return list(payments.values()), list(orders.values()), problems


def load_inputs(config: AppConfig, rc: ReconcileConfig) -> Inputs:
    """Every bank/platform line of the bank sources and every CRM payment and order."""
    out = Inputs()
    out.bank_sources = _bank_source_names(config, rc)
    for name in out.bank_sources:
        for _, rec in _read_all(config, name, None, out.errors):
            txn = BankTransaction.from_record(rec)
            out.bank.setdefault(txn.id, txn)
    out.crm_source = _crm_source_name(config, rc)
    wanted = (rc.crm_fields.payment_stream, rc.crm_fields.order_stream)
    payments, orders, problems = crm_from_records(
        _read_all(config, out.crm_source, wanted, out.errors), rc.crm_fields
    )
    out.payments, out.orders = payments, orders
    out.errors.extend(problems)
    return out
