"""``crmsync validate``: every problem in the config and the mappings, reported at once.

Config sections (each connector's own model, and every feature section in
``sync.config.sections.SECTIONS`` plus ``schedule``), the chart of accounts, every mapping file
and the sources the mappings name are all checked before anything is reported, so one run
shows the whole list as ``path:line:column: message`` plus the fix. When the sources can be
read (sample files, a reachable CRM) the records are mapped too and each failing record is
listed; ``--no-records`` skips that and never imports airbyte_cdk.
"""

from __future__ import annotations

import sys
from typing import Any

import click
from pydantic import ValidationError

from sync.cli.common import config_option, echo_json, format_option, run_command, setup_logging
from sync.config import AppConfig
from sync.errors import ConfigurationError, Location
from sync.yamlfile import Problem, load_yaml, problems_from_validation

__all__ = ["collect_problems", "validate"]


def _section_problems(config: AppConfig) -> list[Problem]:
    """Each source's and the destination's section, validated by the connector's own Config."""
    from sync.config.registry import resolve

    loaded = load_yaml(config.config_path)
    sections: list[tuple[str, tuple[str, ...], Any]] = [
        ("source", ("sources", name), section) for name, section in config.sources.items()
    ]
    sections.append(("destination", ("destination",), config.destination))
    problems: list[Problem] = []
    for kind, loc, section in sections:
        try:
            module = resolve(kind, section.type, loaded.locate((*loc, "type")))
            module.Config.model_validate(section.model_dump())
        except ConfigurationError as exc:
            problems.append(Problem(exc.location or loaded.locate(loc), exc.message, exc.hint))
        except ValidationError as exc:
            problems.extend(problems_from_validation(exc, loaded, module.Config, prefix=loc))
    return problems


def collect_problems(config: AppConfig) -> tuple[list[Problem], Any, str]:
    """All located problems, the compiled mappings (None when they have problems), the chart used."""
    from sync.config.loader import ConfigProblems
    from sync.config.sections import section_problems
    from sync.engine.build import load_mapping_set
    from sync.engine.dryrun import chart_accounts

    problems = _section_problems(config) + section_problems(config)
    accounts: frozenset[str] | None = None
    chart = ""
    try:
        accounts, chart = chart_accounts(config)
    except ConfigurationError as exc:
        problems.append(Problem(exc.location or Location(str(config.config_path)), exc.message, exc.hint))
    mappings = None
    try:
        mappings = load_mapping_set(config, accounts)
    except ConfigProblems as exc:
        problems.extend(exc.problems)
    except ConfigurationError as exc:
        problems.append(Problem(exc.location or Location(str(config.config_path)), exc.message, exc.hint))
    if mappings is not None:
        for m in mappings.mappings:
            if m.source not in config.sources:
                problems.append(
                    Problem(
                        Location(m.file, m.line),
                        f"mapping {m.name!r} reads source {m.source!r}, which config.yaml does not define",
                        f"define it under sources:, or use one of: {', '.join(sorted(config.sources))}",
                    )
                )
    return problems, mappings, chart


@click.command("validate")
@config_option
@click.option(
    "--records/--no-records",
    default=True,
    show_default=True,
    help="Also read the sources' records and map them (nothing is stored or posted).",
)
@format_option("text", "json")
@run_command
def validate(config_path: str, records: bool, fmt: str) -> None:
    """Check the config and every mapping; report all problems at once.

    \b
    Exit codes: 0 clean, 2 any problem in the config or the mappings,
    1 config and mappings are clean but some records fail to map.
    """
    from sync.config import load_config
    from sync.config.loader import ConfigProblems

    setup_logging()
    config = load_config(config_path)
    problems, mappings, chart = collect_problems(config)
    if problems:
        if fmt == "json":
            echo_json(
                {
                    "ok": False,
                    "problems": [
                        {"where": str(p.location), "message": p.message, "fix": p.hint} for p in problems
                    ],
                }
            )
            sys.exit(2)
        raise ConfigProblems(problems)
    trial = None
    if records:
        from sync.engine.dryrun import chart_rules, trial_map

        trial = trial_map(config, mappings, check=chart_rules(config))
    names = ", ".join(m.name for m in mappings.mappings)
    if fmt == "json":
        echo_json(
            {
                "ok": trial is None or trial.ok,
                "problems": [],
                "mappings": [m.name for m in mappings.mappings],
                "chart_of_accounts": chart or None,
                "records": None if trial is None else dict(trial.counts),
                "failed": [] if trial is None else [f.as_dict() for f in trial.failures],
                "source_errors": [] if trial is None else trial.source_errors,
            }
        )
    else:
        click.echo(f"{config.config_path}: ok")
        click.echo(f"mappings: {len(mappings.mappings)} ok ({names})")
        click.echo(
            f"chart of accounts: {chart}"
            if chart
            else "chart of accounts: none configured (set chart_of_accounts to check account codes)"
        )
        if trial is not None:
            for f in trial.failures:
                click.echo(f.text())
            for e in trial.source_errors:
                click.echo(f"source error: {e}")
            click.echo(f"records: {trial.count_line()}")
    if trial is not None and not trial.ok:
        sys.exit(1)
