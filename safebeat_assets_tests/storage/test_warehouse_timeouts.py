"""Warehouse connections cannot hang: server-side timeouts on every session, a client-side
deadline per statement, and failures that name the server (never its password). Against the
suite's real server; the frozen and killed server are in faults/test_warehouse_faults.py."""

import socket
import threading
import time

import psycopg2
import pytest
from psycopg2 import sql

from safebeat_assets.errors import WarehouseUnavailableError, is_transient
from safebeat_assets.storage.pg_timeouts import Timeouts, describe_dsn
from safebeat_assets.storage.warehouse import Warehouse
from safebeat_assets_tests.helpers import free_port

pytestmark = pytest.mark.timeout(60)


def test_sessions_carry_the_configured_timeouts(warehouse_url, warehouse_schema):
    timeouts = Timeouts(
        connect_seconds=4, statement_seconds=90, lock_seconds=7, idle_in_transaction_seconds=45
    )
    warehouse = Warehouse(warehouse_url, warehouse_schema, timeouts=timeouts)
    settings = dict(
        warehouse.query(
            "SELECT name, setting FROM pg_settings WHERE name IN ('statement_timeout', "
            "'lock_timeout', 'idle_in_transaction_session_timeout', 'TimeZone')"
        )
    )
    assert settings == {
        "statement_timeout": "90000",
        "lock_timeout": "7000",
        "idle_in_transaction_session_timeout": "45000",
        "TimeZone": "UTC",
    }
    # Idle in a transaction defaults to the statement timeout.
    assert Timeouts(statement_seconds=90).idle_seconds == 90


def test_the_server_is_named_without_its_password():
    assert describe_dsn("postgresql://safebeat:hunter2@db.internal:6432/warehouse") == (
        "db.internal:6432/warehouse"
    )
    assert describe_dsn("host=/run/pg user=safebeat password=hunter2 dbname=safebeat") == (
        "/run/pg:5432/safebeat"
    )


def test_a_statement_over_its_timeout_is_cancelled_by_the_server(warehouse_url, warehouse_schema):
    warehouse = Warehouse(warehouse_url, warehouse_schema, timeouts=Timeouts(statement_seconds=0.3))
    with pytest.raises(WarehouseUnavailableError) as raised:
        warehouse.query("SELECT pg_sleep(5)")
    assert str(raised.value) == (
        f"the warehouse at {warehouse.where} cancelled a statement that ran longer than its "
        "statement_timeout of 0.3 s: canceling statement due to statement timeout"
    )
    assert is_transient(raised.value)


def test_a_lock_not_granted_in_time_fails_with_the_lock_timeout(warehouse_url, warehouse_schema):
    warehouse = Warehouse(warehouse_url, warehouse_schema, timeouts=Timeouts(lock_seconds=0.3))
    warehouse.ensure_tables()
    holder = psycopg2.connect(warehouse_url)
    try:
        with holder.cursor() as cur:
            cur.execute(
                sql.SQL("LOCK TABLE {} IN ACCESS EXCLUSIVE MODE").format(
                    warehouse.table("dim_event")
                )
            )
        started = time.monotonic()
        with pytest.raises(WarehouseUnavailableError, match="lock_timeout 0.3 s") as raised:
            warehouse.fetch_one("SELECT count(*) FROM {t}", t="dim_event")
        assert time.monotonic() - started < 3
        assert "canceling statement due to lock timeout" in str(raised.value)
    finally:
        holder.rollback()
        holder.close()


def test_a_session_left_idle_in_a_transaction_is_ended(warehouse_url, warehouse_schema):
    warehouse = Warehouse(
        warehouse_url, warehouse_schema, timeouts=Timeouts(idle_in_transaction_seconds=0.3)
    )
    with warehouse.connect() as conn, conn.cursor() as cur:
        cur.execute("SELECT 1")  # opens a transaction
        time.sleep(1.0)
        with pytest.raises(WarehouseUnavailableError) as raised:
            cur.execute("SELECT 1")
    message = str(raised.value)
    assert message.startswith(f"the warehouse at {warehouse.where} closed the connection")
    # Whether libpq still reads the server's parting message depends on timing and versions.
    assert "idle-in-transaction timeout" in message or "closed the connection unexpectedly" in (
        message
    )


def test_the_client_cuts_a_statement_the_server_does_not_end(warehouse_url, warehouse_schema):
    # A server that ignores its statement timeout behaves, for the client, like a frozen one.
    timeouts = Timeouts(statement_seconds=0.5, grace_seconds=0.5)
    warehouse = Warehouse(warehouse_url, warehouse_schema, timeouts=timeouts)
    with warehouse.connect() as conn, conn.cursor() as cur:
        cur.execute("SET statement_timeout = 0")
        started = time.monotonic()
        with pytest.raises(WarehouseUnavailableError) as raised:
            cur.execute("SELECT pg_sleep(10)")
        waited = time.monotonic() - started
    assert 0.9 < waited < 3
    assert str(raised.value) == (
        f"the warehouse at {warehouse.where} did not answer within 1 s (statement_timeout "
        "0.5 s + 0.5 s grace): the server is frozen or unreachable, so the client closed the "
        "connection"
    )


def test_no_server_listening_is_a_transient_connection_failure():
    port = free_port()
    dsn = f"postgresql://safebeat:hunter2@127.0.0.1:{port}/safebeat"
    warehouse = Warehouse(dsn, timeouts=Timeouts(connect_seconds=2))
    with pytest.raises(WarehouseUnavailableError) as raised:
        warehouse.query("SELECT 1")
    message = str(raised.value)
    assert message.startswith(
        f"could not connect to the warehouse at 127.0.0.1:{port}/safebeat within 2 s: "
    )
    assert "Connection refused" in message and "hunter2" not in message
    assert is_transient(raised.value)


def test_a_server_that_never_answers_the_handshake_times_out():
    # Accepted by the kernel (listen backlog), never answered: connect_timeout ends the wait.
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        port = listener.getsockname()[1]
        warehouse = Warehouse(
            f"postgresql://safebeat@127.0.0.1:{port}/safebeat",
            timeouts=Timeouts(connect_seconds=2),
        )
        started = time.monotonic()
        with pytest.raises(WarehouseUnavailableError, match="within 2 s: .*timeout expired"):
            warehouse.query("SELECT 1")
        assert time.monotonic() - started < 5


def test_the_watchdog_leaves_statements_that_finish_alone(warehouse_url, warehouse_schema):
    warehouse = Warehouse(
        warehouse_url, warehouse_schema, timeouts=Timeouts(statement_seconds=1, grace_seconds=1)
    )
    results = []

    def work() -> None:
        for _ in range(20):
            results.append(warehouse.query("SELECT pg_sleep(0.01), 1")[0][1])

    threads = [threading.Thread(target=work) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == [1] * 60
