"""Shared fixtures: a private PostgreSQL schema per test, and state URLs for both backends.

PostgreSQL is the server on 127.0.0.1:5432 (trust auth, database ``test``, user ``postgres``);
``CRMSYNC_TEST_PG`` overrides the libpq URL. Each test gets its own schema (unique name,
dropped afterwards) so tests run in parallel with other people's. When the server cannot be
reached the test is skipped, saying so.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

#: the CDK's standard tests (tests/connectors/*/test_standard.py) parametrize `scenario` here
pytest_plugins = ["airbyte_cdk.test.standard_tests.pytest_hooks"]

PG_URL = os.environ.get("CRMSYNC_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")

_pg_problem: list[str] = []


def _pg_unreachable() -> str:
    """'' when PostgreSQL answers, else why not (cached for the session)."""
    if _pg_problem:
        return _pg_problem[0]
    try:
        import psycopg

        with psycopg.connect(PG_URL, connect_timeout=3) as conn:
            conn.execute("SELECT 1")
        _pg_problem.append("")
    except Exception as exc:
        _pg_problem.append(
            f"PostgreSQL at {PG_URL} is not reachable ({type(exc).__name__}: {exc}".strip() + ")"
        )
    return _pg_problem[0]


#: the state key of the PostgreSQL tests (a PostgreSQL state has no key file; see sync.state.keyring)
PG_STATE_KEY = "q0p8hXG3bqkq3c0m3kqzj4Wv3xFt2YwQ5b1h9S6dR7E="


@pytest.fixture
def pg_schema(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, str]]:
    """(libpq URL, schema name) of a fresh schema that is dropped after the test.

    Sets ``CRMSYNC_STATE_KEY`` for the test (and the commands it starts), as an operator
    of a PostgreSQL state does on every machine."""
    problem = _pg_unreachable()
    if problem:
        pytest.skip(f"needs PostgreSQL: {problem}")
    import psycopg

    monkeypatch.setenv("CRMSYNC_STATE_KEY", PG_STATE_KEY)
    schema = f"t_{uuid.uuid4().hex[:16]}"
    yield PG_URL, schema
    with psycopg.connect(PG_URL, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


@pytest.fixture
def pg_state_url(pg_schema: tuple[str, str]) -> str:
    """A crmsync ``state.url`` pointing at a private schema."""
    url, schema = pg_schema
    return f"{url}?schema={schema}"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def state_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A state URL for each backend: the same test runs on SQLite and on PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'state.db'}"
    url: str = request.getfixturevalue("pg_state_url")
    return url
