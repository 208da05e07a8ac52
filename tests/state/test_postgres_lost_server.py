"""A PostgreSQL state store whose server goes away mid-run: a clear StateError, never a traceback.

Found by the torture suite (tests/torture/): when the server was killed during a run, the
run's ``finally`` released the advisory lock on the dead connection and the raw
``psycopg.OperationalError`` escaped as a traceback instead of exit 2 with the store named.
The server's side of a crash is played here by ``pg_terminate_backend`` on the shared server.
"""

from __future__ import annotations

import pytest

from sync.errors import StateError
from sync.state import open_state
from sync.state.postgres import PostgresStore
from tests.conftest import PG_URL

pytestmark = pytest.mark.postgres


def _terminate(store: PostgresStore) -> None:
    import psycopg

    with psycopg.connect(PG_URL, autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", (store._conn.info.backend_pid,))


def test_losing_the_server_mid_transaction_is_a_state_error_naming_the_store(pg_state_url: str) -> None:
    store = open_state(pg_state_url)
    assert isinstance(store, PostgresStore)
    store.acquire_lock(0)
    _terminate(store)
    with pytest.raises(StateError) as info, store.transaction():
        store.set_cursor("crm", "PaymentObj", {"last_modified_time": 1780243200000})
    assert "state store postgresql://" in info.value.message and info.value.exit_code == 2
    store.release_lock()  # the lock died with the session: nothing to release, nothing raised
    store.close()
    with open_state(pg_state_url) as again:
        again.acquire_lock(0)  # free at once for the next run
        again.release_lock()


def test_taking_the_lock_on_a_lost_connection_is_a_state_error(pg_state_url: str) -> None:
    store = open_state(pg_state_url)
    _terminate(store)
    with pytest.raises(StateError, match="state store postgresql://"):
        store.acquire_lock(0)
    store.close()
