"""The ``reports:`` section of config.yaml, validated with located errors like every section.

Example::

    reports:
      language: zh                  # zh | en: column titles
      crm_source: crm               # source with the CRM objects (default: first files/fxiaoke one)
      link_template: "https://www.fxiaoke.com/XV/UI/Home#crm/detail/=/{stream}/{record_id}"
      payment_methods: {"1": 银行转账, "2": 支付宝}   # option value -> label (回款方式)
      employees: {"1000": 张伟}     # employee id -> name, when records carry no owner__r
      payment_terms_days: 30        # due date = order date + this, unless due_date_field is set
      due_date_field: due_date__c   # a date field of SalesOrderObj holding the due date
      credit_limit_field: credit_limit__c   # AccountObj field with the credit limit
      credit_limits_csv: limits.csv         # or a file: account_id|account,credit_limit
      aging_basis: order            # order (days since the order date) | due (days past due)
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from sync.crm import CrmFields

__all__ = ["ReportsConfig"]


class ReportsConfig(BaseModel):
    """The ``reports:`` section: language, links, labels and the CRM fields the reports read."""

    model_config = ConfigDict(extra="forbid")

    language: Literal["zh", "en"] = "zh"
    crm_source: str | None = Field(None, description="name of the CRM source in `sources:`")
    link_template: str | dict[str, str] | None = Field(
        None, description="CRM page URL with {system} {stream} {record_id} {name}; or one per stream"
    )
    output: str = Field(".crmsync/reports", description="default folder for report files")
    payment_methods: dict[str, str] = Field(
        default_factory=dict, description="回款方式 option value -> label"
    )
    employees: dict[str, str] = Field(default_factory=dict, description="CRM employee id -> name (负责人)")
    payment_terms_days: int = Field(30, ge=0, le=3650)
    due_date_field: str = ""
    credit_limit_field: str = ""
    credit_limits_csv: str | None = None
    aging_basis: Literal["order", "due"] = "order"
    order_amount_field: str = "order_amount"
    payment_amount_field: str = "payment_amount"
    payment_method_field: str = "payment_term"
    statuses: list[str] = Field(
        default_factory=lambda: ["normal"], min_length=1, description="life_status values that count"
    )
    receivable_account: str = Field(
        "1122", description="the receivable account (应收账款) the aging is tied to, with its sub-accounts"
    )
    customer_dimension: str = Field("customer", description="the voucher dimension holding the customer")
    customer_lookup: str = Field(
        "customers", description="the mappings' lookup from CRM account id to ERP customer code"
    )
    held_statuses: list[str] = Field(
        default_factory=lambda: ["in_change"],
        description="life_status values of a change awaiting approval (变更中): the version that "
        "counted before stands, as the shipped mappings' hold_when",
    )

    def fields(self) -> CrmFields:
        return CrmFields(
            order_amount=self.order_amount_field,
            order_due_date=self.due_date_field,
            payment_terms_days=self.payment_terms_days,
            payment_amount=self.payment_amount_field,
            payment_method=self.payment_method_field,
            credit_limit=self.credit_limit_field,
            statuses=tuple(self.statuses),
            held_statuses=tuple(self.held_statuses),
            method_labels=tuple(sorted(self.payment_methods.items())),
            employee_names=tuple(sorted(self.employees.items())),
        )
