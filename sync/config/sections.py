"""The feature sections of config.yaml, each validated by its feature's own model.

``reports``, ``reconcile``, ``reminders``, ``writeback``, ``audit`` and ``console`` are free-form in
``AppConfig`` (so config.yaml stays loadable by a crmsync that lacks a feature); each is
validated where it is used, and all at once by ``crmsync validate``, which walks
``SECTIONS``. Every problem is located by file, line and column, with a fix: the same
validator (``load_section``) serves the commands and ``validate``, so they can never disagree
about what a section may say. Models are named by import path, as connectors are in the
registry: this module stays below the features it validates.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from sync.config.loader import ConfigProblems
from sync.config.model import AppConfig
from sync.errors import ConfigurationError, Location
from sync.yamlfile import LoadedYaml, Problem, load_yaml, problems_from_validation

__all__ = ["SECTIONS", "Section", "config_problems", "load_section", "schedule_problems", "section_problems"]

M = TypeVar("M", bound=BaseModel)


@dataclass(frozen=True, slots=True)
class Section:
    """One feature section: its key, its model (``module:Class``), where the README explains it."""

    key: str
    model: str
    readme: str
    #: discriminator values of tagged unions inside it (never keys of the file)
    tags: tuple[str, ...] = ()

    def load_model(self) -> type[BaseModel]:
        module, _, name = self.model.partition(":")
        model: type[BaseModel] = getattr(importlib.import_module(module), name)
        return model


SECTIONS: tuple[Section, ...] = (
    Section("reports", "sync.reports.config:ReportsConfig", "README 'For finance users'"),
    Section("reconcile", "sync.reconcile.config:ReconcileConfig", "README 'Reconciliation (收款核销)'"),
    Section(
        "reminders",
        "sync.reports.reminders.config:RemindersConfig",
        "README 'For finance users'",
        tags=("email", "webhook"),
    ),
    Section("writeback", "sync.writeback.config:WritebackConfig", "README 'For finance users'"),
    Section("audit", "sync.state.audit:AuditConfig", "README 'Audit trail'"),
    Section("console", "sync.console.config:ConsoleConfig", "README 'Web console'"),
)


def _loaded(config_path: Path) -> LoadedYaml:
    try:
        return load_yaml(config_path)
    except ConfigurationError:
        return LoadedYaml(None, str(config_path))


def load_section(model: type[M], data: Any, section: str, config_path: Path, tags: tuple[str, ...] = ()) -> M:
    """The validated section; otherwise ``ConfigProblems`` naming every problem's file:line:column."""
    try:
        return model.model_validate(data or {})
    except ValidationError as exc:
        problems = problems_from_validation(exc, _loaded(config_path), model, prefix=(section,), tags=tags)
        raise ConfigProblems(problems) from None


def section_problems(config: AppConfig) -> list[Problem]:
    """Every problem of every feature section and of the schedule, all at once."""
    problems: list[Problem] = []
    for section in SECTIONS:
        model = section.load_model()
        try:
            load_section(model, getattr(config, section.key), section.key, config.config_path, section.tags)
        except ConfigProblems as exc:
            problems += [
                Problem(p.location, p.message, p.hint or f"see {section.readme}") for p in exc.problems
            ]
    return problems + schedule_problems(config)


def config_problems(config: AppConfig) -> None:
    """Raise ``ConfigProblems`` when ``section_problems`` finds any."""
    problems = section_problems(config)
    if problems:
        raise ConfigProblems(problems)


def _where(config: AppConfig, *loc: str) -> Location:
    return _loaded(config.config_path).locate(loc)


def schedule_problems(config: AppConfig) -> list[Problem]:
    if config.schedule is None:
        return []
    from croniter import croniter

    if croniter.is_valid(config.schedule):
        return []
    return [
        Problem(
            _where(config, "schedule"),
            f"schedule {config.schedule!r} is not a cron expression",
            'five fields: minute hour day month weekday, e.g. "0 2 * * *" (02:00 every day)',
        )
    ]
