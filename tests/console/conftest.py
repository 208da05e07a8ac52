"""One stage (SQLite) and one console for the module's read-mostly tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.console.stage import Served, Stage, build_stage, serve


@pytest.fixture(scope="module")
def stage(tmp_path_factory: pytest.TempPathFactory) -> Stage:
    root: Path = tmp_path_factory.mktemp("console")
    return build_stage(root, f"sqlite:///{root / 'state.db'}")


@pytest.fixture(scope="module")
def console(stage: Stage) -> Iterator[Served]:
    with serve(stage.config) as served:
        yield served
