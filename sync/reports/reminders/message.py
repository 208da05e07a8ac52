"""One reminder per customer with overdue orders: its identity, its figures, its text.

A reminder's identity is the customer plus a fingerprint of what is overdue (each order
and its open amount), so an unchanged list is "the same reminder" and is not re-sent within
the interval, while a new overdue order or a part payment makes a new one. Days overdue are
not in the fingerprint: they change every day without changing what is owed.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any

from jinja2.sandbox import SandboxedEnvironment

from sync.crm import CrmBook
from sync.errors import ConfigurationError
from sync.money import ZERO, format_amount
from sync.reports.receivables import OpenItem, receivables
from sync.reports.reminders.config import DunningLevel
from sync.tables.model import Lang

__all__ = ["DEFAULT_TEMPLATES", "Reminder", "build_reminders", "render_text"]

DEFAULT_TEMPLATES: dict[str, tuple[str, str]] = {
    "zh": (
        "【{{ level_label }}】{{ customer }} 逾期未收 {{ due }} 元（截至 {{ as_of }}）",
        "{{ customer }} 截至 {{ as_of }} 有 {{ items|length }} 笔订单逾期未收，合计 {{ total }} 元：\n"
        "{% for i in items %}- {{ i.order }}（下单 {{ i.order_date }}，到期 {{ i.due }}，"
        "逾期 {{ i.overdue_days }} 天）"
        "：未收 {{ i.open }} 元，负责人 {{ i.owner }}\n{% endfor %}"
        "{% if has_unapplied %}\n另有未核销回款 {{ unapplied }} 元（已收到、尚未对应到订单），"
        "抵扣后仍需回款 {{ due }} 元；请财务核销。\n{% endif %}"
        "\n请跟进回款。本提醒由 crmsync 自动发送。\n",
    ),
    "en": (
        "[{{ level_label }}] {{ customer }} owes {{ due }} CNY past due (as of {{ as_of }})",
        "As of {{ as_of }}, {{ customer }} has {{ items|length }} overdue order(s), "
        "{{ total }} CNY in total:\n"
        "{% for i in items %}- {{ i.order }} (ordered {{ i.order_date }}, due {{ i.due }}, "
        "{{ i.overdue_days }} days overdue): {{ i.open }} CNY open, owner {{ i.owner }}\n{% endfor %}"
        "{% if has_unapplied %}\nThe customer also has {{ unapplied }} CNY of unapplied cash (received, "
        "not yet applied to an order): {{ due }} CNY remain to be paid; finance should apply it.\n"
        "{% endif %}"
        "\nPlease follow up. Sent automatically by crmsync.\n",
    ),
}

_ENV = SandboxedEnvironment(autoescape=False, keep_trailing_newline=True)


@dataclass(frozen=True, slots=True)
class Reminder:
    """One customer's overdue orders as one message; its fingerprint says whether it was sent already."""

    account_id: str
    account_name: str
    as_of: dt.date
    items: tuple[OpenItem, ...]
    #: the customer's money received and not applied to any order (an advance, an overpayment)
    unapplied: Decimal = ZERO
    #: the dunning level reached (reminders.levels), None without a ladder
    level: DunningLevel | None = None

    @property
    def total(self) -> Decimal:
        """What the overdue orders still owe."""
        return sum((i.open for i in self.items), ZERO)

    @property
    def due(self) -> Decimal:
        """What the customer still has to pay: the overdue total less its unapplied cash."""
        return self.total - max(self.unapplied, ZERO)

    @property
    def fingerprint(self) -> str:
        text = "|".join(
            f"{i.order.id}={format_amount(i.open)}" for i in sorted(self.items, key=lambda i: i.order.id)
        )
        if self.unapplied > ZERO:  # new cash on account is a new reminder (and none: the same as ever)
            text += f"|unapplied={format_amount(self.unapplied)}"
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    @property
    def id(self) -> str:
        """Customer and fingerprint, and the level: a customer moving up the ladder is reminded again."""
        base = f"{self.account_id}:{self.fingerprint}"
        return f"{base}:{self.level.name}" if self.level is not None else base

    @property
    def oldest_overdue_days(self) -> int:
        return max((i.overdue_days for i in self.items), default=0)

    def context(self) -> dict[str, Any]:
        """What templates see: plain strings, amounts with thousands separators and cents."""
        return {
            "customer": self.account_name,
            "customer_id": self.account_id,
            "level": self.level.name if self.level else "",
            "level_label": self.level.label_zh if self.level else "催款提醒",
            "level_label_en": self.level.label_en if self.level else "Overdue",
            "as_of": self.as_of.isoformat(),
            "total": f"{self.total:,.2f}",
            "unapplied": f"{max(self.unapplied, ZERO):,.2f}",
            "has_unapplied": self.unapplied > ZERO,
            "due": f"{self.due:,.2f}",
            "items": [
                {
                    "order": i.order.name,
                    "order_id": i.order.id,
                    "order_date": i.order.date.isoformat(),
                    "due": i.order.due.isoformat(),
                    "overdue_days": i.overdue_days,
                    "open": f"{i.open:,.2f}",
                    "amount": f"{i.order.amount:,.2f}",
                    "owner": i.order.owner or "-",
                }
                for i in self.items
            ],
        }

    def payload(self) -> dict[str, Any]:
        """The machine-readable body of a generic webhook: amounts as decimal strings."""
        return {
            "event": "crmsync.overdue_reminder",
            "id": self.id,
            "level": self.level.name if self.level else None,
            "as_of": self.as_of.isoformat(),
            "customer": {"id": self.account_id, "name": self.account_name},
            "currency": "CNY",
            "total": format_amount(self.total),
            "unapplied": format_amount(max(self.unapplied, ZERO)),
            "due": format_amount(self.due),
            "items": [
                {
                    "order_id": i.order.id,
                    "order": i.order.name,
                    "order_date": i.order.date.isoformat(),
                    "due": i.order.due.isoformat(),
                    "overdue_days": i.overdue_days,
                    "amount": format_amount(i.order.amount),
                    "open": format_amount(i.open),
                    "owner": i.order.owner,
                }
                for i in self.items
            ],
        }


def build_reminders(
    book: CrmBook,
    as_of: dt.date,
    *,
    min_overdue_days: int = 1,
    min_amount: Decimal = Decimal("0.01"),
    levels: Sequence[DunningLevel] = (),
) -> list[Reminder]:
    """One reminder per customer whose orders at least ``min_overdue_days`` past due, less the
    customer's unapplied cash (an advance not yet matched to the order), come to ``min_amount``
    or more; customers by name. A customer whose advance covers the overdue orders is not
    chased: finance has to apply the cash, not the customer to pay again."""
    rec = receivables(book, as_of)
    per: dict[str, list[OpenItem]] = defaultdict(list)
    for item in rec.items:
        if item.overdue and item.overdue_days >= min_overdue_days:
            per[item.order.account_id].append(item)
    reminders = []
    for aid, items in per.items():
        items.sort(key=lambda i: (-i.overdue_days, i.order.name))
        reminder = Reminder(
            aid, items[0].order.account_name, as_of, tuple(items), rec.unapplied.get(aid, ZERO)
        )
        if levels:
            reached = [lv for lv in levels if lv.min_overdue_days <= reminder.oldest_overdue_days]
            if not reached:
                continue  # not yet late enough for the first step of the ladder
            reminder = replace(reminder, level=reached[-1])
        if reminder.due >= min_amount:
            reminders.append(reminder)
    return sorted(reminders, key=lambda r: (r.account_name, r.account_id))


def render_text(
    reminder: Reminder, lang: Lang, subject: str | None = None, body: str | None = None
) -> tuple[str, str]:
    """(subject, body) from the channel's templates or the defaults in its language."""
    default_subject, default_body = DEFAULT_TEMPLATES[lang]
    if reminder.level is not None:  # a level's own words come first
        subject = reminder.level.subject or subject
        body = reminder.level.body or body
    ctx = reminder.context()
    if lang == "en":
        ctx["level_label"] = ctx["level_label_en"]
    try:
        return (
            _ENV.from_string(subject or default_subject).render(ctx).strip(),
            _ENV.from_string(body or default_body).render(ctx),
        )
    except Exception as exc:  # template errors of every jinja kind: a configuration problem
        raise ConfigurationError(
            f"reminders: template cannot be rendered: {exc}",
            hint="fix the channel's subject/body template (jinja syntax)",
        ) from None
