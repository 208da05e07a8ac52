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

import difflib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from sync.config.loader import ConfigProblems
from sync.errors import ConfigurationError
from sync.reports.crm import CrmFields
from sync.yamlfile import LoadedYaml, Problem, load_yaml

__all__ = ["ReportsConfig", "load_section"]


class ReportsConfig(BaseModel):
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

    def fields(self) -> CrmFields:
        return CrmFields(
            order_amount=self.order_amount_field,
            order_due_date=self.due_date_field,
            payment_terms_days=self.payment_terms_days,
            payment_amount=self.payment_amount_field,
            payment_method=self.payment_method_field,
            credit_limit=self.credit_limit_field,
            statuses=tuple(self.statuses),
            method_labels=tuple(sorted(self.payment_methods.items())),
            employee_names=tuple(sorted(self.employees.items())),
        )


def load_section(
    model: type[BaseModel], data: Any, section: str, config_path: Path, tags: tuple[str, ...] = ()
) -> Any:
    """Validate one free-form section of config.yaml; every problem located by file, line, column.

    ``tags`` are discriminator values (channel types) pydantic puts into error locations;
    they are no keys of the file, so they are dropped before locating.
    """
    try:
        return model.model_validate(data or {})
    except ValidationError as exc:
        try:
            loaded = load_yaml(config_path)
        except ConfigurationError:
            loaded = LoadedYaml(None, str(config_path))
        problems = []
        for err in exc.errors(include_url=False):
            loc = (section, *(p for p in err["loc"] if p not in tags))
            where = loaded.locate(loc)
            if err["type"] == "extra_forbidden":
                problems.append(
                    Problem(
                        where,
                        f"unknown key {loc[-1]!r} in {'.'.join(map(str, loc[:-1]))}",
                        _did_you_mean(str(loc[-1]), err["loc"], tags),
                    )
                )
            else:
                problems.append(Problem(where, f"{'.'.join(map(str, loc))}: {err['msg']}"))
        raise ConfigProblems(problems) from None


def _did_you_mean(bad: str, loc: tuple[int | str, ...], tags: tuple[str, ...]) -> str:
    """A guess from the fields of the channel type named in the location (the common typo case)."""
    from sync.reports.reminders.config import EmailChannel, WebhookChannel

    models: dict[str, type[BaseModel]] = {"email": EmailChannel, "webhook": WebhookChannel}
    known: list[str] = []
    for part in loc:
        if part in tags and part in models:
            known = list(models[str(part)].model_fields)
    guess = difflib.get_close_matches(bad, known, n=1, cutoff=0.6)
    return f"did you mean {guess[0]!r}?" if guess else "remove it, or check the spelling in the README"
