"""The CRM read model: the one way every feature outside a sync reads the CRM.

Reports, reminders, credit exposure, reconciliation and write-back all need the CRM's
accounts, orders, payments and refunds as values, not wire formats. ``fields`` says which fields
and which records count (one rule, the shipped mappings' rule); ``book`` turns records into
frozen values; ``source`` picks the CRM source and reads it in full. Two features that
counted payments differently would tell finance two different truths.
"""

from sync.crm.book import Account, Allocation, CrmBook, Order, Payment, Refund, load_book
from sync.crm.fields import CrmFields
from sync.crm.source import crm_source_name, read_book, read_source

__all__ = [
    "Account",
    "Allocation",
    "CrmBook",
    "CrmFields",
    "Order",
    "Payment",
    "Refund",
    "crm_source_name",
    "load_book",
    "read_book",
    "read_source",
]
