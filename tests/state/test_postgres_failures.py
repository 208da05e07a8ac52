"""A PostgreSQL state store that fails tells its cause and fix: a lost connection (a restart,
a failover, an administrator ending it), a refused one, an unknown database."""

from __future__ import annotations

import psycopg
import pytest

from sync.errors import StateError
from sync.state.postgres import PostgresStore
from tests.conftest import PG_URL


def test_a_connection_the_server_ends_is_told_as_lost_with_nothing_lost(pg_schema: tuple[str, str]) -> None:
    url, schema = pg_schema
    store = PostgresStore(f"{url}?schema={schema}")
    try:
        pid = store._conn.info.backend_pid
        with psycopg.connect(PG_URL, autocommit=True) as admin:
            admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
        with pytest.raises(StateError) as caught:
            store.count_status("posted")
    finally:
        store.close()
    message = str(caught.value)
    assert "connection to PostgreSQL was lost" in message
    assert "run the command again" in caught.value.hint and "nothing was lost" in caught.value.hint


def test_a_refused_connection_names_the_port_to_check() -> None:
    with pytest.raises(StateError) as caught:
        PostgresStore("postgresql://postgres@127.0.0.1:9/test?schema=crmsync", connect_timeout=3)
    assert "refused the connection" in str(caught.value)
    assert "pg_isready" in caught.value.hint


def test_an_unknown_database_says_to_create_it(pg_schema: tuple[str, str]) -> None:
    base = PG_URL.rsplit("/", 1)[0]
    with pytest.raises(StateError) as caught:
        PostgresStore(f"{base}/no_such_database_19?schema=crmsync", connect_timeout=3)
    assert "does not exist" in str(caught.value) and "createdb" in caught.value.hint
