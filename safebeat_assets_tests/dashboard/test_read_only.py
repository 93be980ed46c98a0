"""The dashboard cannot change the warehouse: its sessions are read-only whatever the role, and
on the embedded default it reads as the read-only role `safebeat_reader`, which the server
itself stops from writing."""

from __future__ import annotations

from dataclasses import replace

import psycopg2
import pytest
from psycopg2 import errors

from safebeat_assets.dashboard import cache
from safebeat_assets.dashboard.source import DataSource
from safebeat_assets.storage.roles import READER_ROLE, grant_read_only

WRITES = {
    "CREATE": "CREATE TABLE {schema}.dashboard_was_here (x int)",
    # Named columns: with PostGIS, `SELECT *` would also write the generated `geom` column,
    # which the server refuses for that reason before it gets to the read-only check.
    "INSERT": (
        "INSERT INTO {schema}.dim_event (event_id, event_name) "
        "SELECT event_id + 1000000000, event_name FROM {schema}.dim_event LIMIT 1"
    ),
    "UPDATE": "UPDATE {schema}.fact_911_calls SET priority_numeric = 0",
    "DELETE": "DELETE FROM {schema}.fact_911_calls",
}


def refused(conn, statement: str) -> type[Exception] | None:
    """The error class the server answered a write with, or None if it went through (on an
    autocommit connection: each statement stands alone)."""
    try:
        with conn.cursor() as cur:
            cur.execute(statement)
    except (errors.ReadOnlySqlTransaction, errors.InsufficientPrivilege) as exc:
        return type(exc)
    return None


def calls_in(conn, schema: str) -> int:
    with conn.cursor() as cur:
        cur.execute(f'SELECT count(*) FROM "{schema}".fact_911_calls')
        return cur.fetchone()[0]


def test_dashboard_sessions_refuse_writes_even_as_the_owner(dashboard):
    """With SAFEBEAT_WAREHOUSE_URL the dashboard uses that DSN as given (here the pipeline's own
    role, which owns the schema): its sessions still refuse every write."""
    src = cache.source()
    schema = dashboard.settings.warehouse_schema
    assert src.schema == schema
    conn = src.connect()
    try:
        assert calls_in(conn, schema) > 0
        for kind, statement in WRITES.items():
            answer = refused(conn, statement.format(schema=f'"{schema}"'))
            assert answer is errors.ReadOnlySqlTransaction, f"{kind} was not refused: {answer}"
    finally:
        conn.close()
    with pytest.raises(errors.ReadOnlySqlTransaction):
        src.frame("DELETE FROM {events} RETURNING event_id", events="dim_event")


def test_the_reader_role_cannot_write(dashboard, warehouse_server):
    """The role itself is read-only, not only the sessions: a plain connection as the reader
    (no read-only session option) may SELECT and nothing else. On the embedded default this is
    the DSN `DataSource.from_settings` builds (`source.local_reader_dsn`); on a server the
    tests do not own, the reader is reached by SET ROLE where the test role is a member."""
    schema = dashboard.settings.warehouse_schema
    if warehouse_server.embedded_data_dir is not None:
        embedded = replace(
            dashboard.settings,
            data_dir=warehouse_server.embedded_data_dir,
            warehouse_url_env=None,  # the embedded default: no DSN given
        )
        assert embedded.uses_embedded_warehouse
        src = DataSource.from_settings(embedded)
        assert psycopg2.extensions.parse_dsn(src.dsn)["user"] == READER_ROLE
        conn = psycopg2.connect(src.dsn)
    else:
        conn = psycopg2.connect(warehouse_server.url)
        if not _may_become_reader(conn):
            conn.close()
            pytest.skip(f"the test server has no {READER_ROLE} role the test role may SET ROLE to")
        grant_read_only(conn, schema, READER_ROLE)
        with conn.cursor() as cur:
            cur.execute(f"SET ROLE {READER_ROLE}")
        conn.commit()
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT current_user")
            assert cur.fetchone()[0] == READER_ROLE
        assert calls_in(conn, schema) > 0
        for kind, statement in WRITES.items():
            answer = refused(conn, statement.format(schema=f'"{schema}"'))
            assert answer is errors.InsufficientPrivilege, f"{kind} was not refused: {answer}"
    finally:
        conn.close()


def _may_become_reader(conn) -> bool:
    """CI's server has the reader role with the test role as a member (.ci/start-postgres.sh)."""
    with conn.cursor() as cur:
        cur.execute(
            "SELECT pg_has_role(current_user, oid, 'MEMBER') FROM pg_roles WHERE rolname = %s",
            (READER_ROLE,),
        )
        found = cur.fetchone()
    conn.commit()
    return bool(found and found[0])
