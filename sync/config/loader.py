"""Load config.yaml: parse with positions, expand ${ENV}, validate, report every problem at once."""

from __future__ import annotations

import glob
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from sync.config.model import AppConfig
from sync.errors import ConfigurationError
from sync.secrets import expand_env
from sync.yamlfile import LoadedYaml, Problem, load_yaml, problems_from_validation

__all__ = ["ConfigProblems", "load_config", "mapping_files"]


class ConfigProblems(ConfigurationError):
    """Several located problems at once (exit code 2)."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))

    def render(self) -> str:
        return self.message


def load_config(path: str | Path) -> AppConfig:
    """The validated configuration; every problem found is reported in one error."""
    config_path = Path(path)
    loaded = load_yaml(config_path)
    if not isinstance(loaded.data, dict):
        raise ConfigProblems(
            [
                Problem(
                    loaded.locate(()),
                    "config must be a mapping of keys (state, sources, destination, mappings)",
                )
            ]
        )
    secrets_file = loaded.data.get("secrets_file")
    secrets_path = None
    if isinstance(secrets_file, str):
        secrets_path = Path(secrets_file)
        if not secrets_path.is_absolute():
            secrets_path = config_path.parent / secrets_path
    problems: list[Problem] = []
    data = _expand(loaded.data, (), loaded, secrets_path, problems)
    try:
        config = AppConfig.model_validate(data)
    except ValidationError as exc:
        problems.extend(problems_from_validation(exc, loaded, AppConfig))
        raise ConfigProblems(problems) from None
    if problems:
        raise ConfigProblems(problems)
    config.base_dir = config_path.resolve().parent
    config.config_path = config_path.resolve()
    return config


def _expand(
    value: Any, loc: tuple[str | int, ...], loaded: LoadedYaml, secrets: Path | None, problems: list[Problem]
) -> Any:
    if isinstance(value, dict):
        return {k: _expand(v, (*loc, k), loaded, secrets, problems) for k, v in value.items()}
    if isinstance(value, list):
        return [_expand(v, (*loc, i), loaded, secrets, problems) for i, v in enumerate(value)]
    if isinstance(value, str) and "${" in value:
        where = loaded.locate(loc)
        try:
            return expand_env(value, where=".".join(map(str, loc)), secrets_file=secrets)
        except ConfigurationError as exc:
            problems.append(Problem(where, exc.message, exc.hint))
            return value
    return value


def mapping_files(config: AppConfig) -> list[Path]:
    """Every mapping file the config's globs name, sorted, each once."""
    found: list[Path] = []
    for pattern in config.mappings:
        full = str(config.resolve_path(pattern))
        matches = sorted(glob.glob(full, recursive=True))
        if not matches:
            raise ConfigurationError(
                f"{config.config_path}: mappings pattern {pattern!r} matches no file",
                hint="check the glob; relative paths resolve against the config file's folder",
            )
        found.extend(Path(m) for m in matches if Path(m).suffix in {".yaml", ".yml"})
    unique = list(dict.fromkeys(p.resolve() for p in found))
    return [p for p in unique if p.name != "schema.json"]
