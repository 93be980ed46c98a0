"""Warehouse faults, for real: a server killed or frozen in the middle of the fact table's COPY,
a session terminated by an administrator, and loads that would destroy data (an empty or
truncated export, a permit that ends before it starts).

The kill and freeze tests start a throwaway PostgreSQL of their own (`warehouse_server`); the
others use the suite's server (CI's, or the embedded one).
"""

import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import dagster as dg
import pandas as pd
import psycopg2
import pytest
from psycopg2.extensions import make_dsn

import safebeat_assets.storage.warehouse as warehouse_module
from safebeat_assets.defs.partitions import RANGE_END_TAG, RANGE_START_TAG, monthly_partitions
from safebeat_assets.errors import DestructiveChangeError, WarehouseUnavailableError, is_transient
from safebeat_assets.guards import ALLOW_SHRINK_TAG
from safebeat_assets.storage.tables import DIM_EVENT, FACT_911_CALLS
from safebeat_assets.storage.warehouse import Warehouse, WarehouseAuditError
from safebeat_assets.storage.warehouse_io import WarehouseIOManager, WarehouseResource
from safebeat_assets_tests.faults.warehouse_server import (
    PIPELINE_PASSWORD,
    ThrowawayServer,
    fact_rows,
    fingerprint,
)
from safebeat_assets_tests.storage.test_warehouse_io_manager import EVENTS, events

pytestmark = [
    pytest.mark.timeout(120),  # a hang is a failure here, not a stuck CI run
    pytest.mark.filterwarnings("ignore::dagster.BetaWarning"),
]

MONTHS = monthly_partitions("2025-01-01")
SEP, NOV = "2025-09-01", "2025-11-01"
FAULT_ROWS = 30_000  # about 6 MB of binary COPY: the fault strikes well inside it
STRIKE_AFTER_BYTES = 2_000_000


@pytest.fixture(scope="module")
def server() -> Iterator[ThrowawayServer]:
    """A PostgreSQL of this module's own, on a free loopback port, with a non-superuser role."""
    throwaway = ThrowawayServer()
    try:
        throwaway.start()
        throwaway.create_pipeline_role()
        yield throwaway
    finally:
        throwaway.remove()


@contextmanager
def during_copy(monkeypatch, strike: Callable[[], None]) -> Iterator[dict]:
    """Run `strike` once, after the client has sent STRIKE_AFTER_BYTES of a COPY's data."""
    read = warehouse_module._CopyStream.read
    state: dict = {"sent": 0}

    def read_then_strike(stream, size=-1):
        piece = read(stream, size)
        state["sent"] += len(piece)
        if state["sent"] > STRIKE_AFTER_BYTES and "struck_at" not in state:
            strike()
            state["struck_at"] = time.monotonic()
        return piece

    monkeypatch.setattr(warehouse_module._CopyStream, "read", read_then_strike)
    yield state
    monkeypatch.setattr(warehouse_module._CopyStream, "read", read)


def chain_text(error: BaseException) -> str:
    texts, current = [], error
    while current is not None:
        texts.append(f"{current!r} {current}")
        current = current.__cause__ or current.__context__
    return "\n".join(texts)


def old_and_new_load(rows: int = FAULT_ROWS) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The last good load, and the next one: every old row changed, 1,000 new rows."""
    both = fact_rows(rows + 1_000, first_month=SEP, months=3, seed=1)
    return both.iloc[:rows], both.assign(final_problem_description="re-coded")


def test_fault1_sigkill_during_the_fact_copy_keeps_the_last_good_load(server, monkeypatch):
    warehouse = Warehouse(server.dsn(), "fault1", spatial=False)
    previous, new = old_and_new_load()
    warehouse.replace_table(FACT_911_CALLS, previous)
    before = fingerprint(warehouse, FACT_911_CALLS)
    seen: dict = {}

    def kill() -> None:
        seen["copying"] = server.backends("COPY %staging_fact_911_calls%")
        server.kill()

    started = time.monotonic()
    with (
        during_copy(monkeypatch, kill) as copy,
        pytest.raises(WarehouseUnavailableError) as raised,
    ):
        warehouse.replace_table(FACT_911_CALLS, new)
    seen["failed_after_kill_s"] = time.monotonic() - copy["struck_at"]
    seen["write_s"] = time.monotonic() - started
    assert len(seen["copying"]) == 1, "the server was killed while it ran the COPY"
    message = str(raised.value)
    assert message.startswith(
        f"the warehouse at {server.where} closed the connection (server terminated or restarted"
    ), message
    assert "server closed the connection unexpectedly" in message  # libpq's own words
    assert PIPELINE_PASSWORD not in chain_text(raised.value)
    assert is_transient(raised.value)
    assert seen["failed_after_kill_s"] < 5

    restarted = time.monotonic()
    server.start()  # crash recovery
    seen["restart_s"] = time.monotonic() - restarted
    assert fingerprint(warehouse, FACT_911_CALLS) == before

    # The retry: exactly a clean load's rows, nothing lost, nothing doubled.
    stats = warehouse.replace_table(FACT_911_CALLS, new)
    assert (stats.inserted, stats.updated, stats.deleted) == (1_000, FAULT_ROWS, 0)
    clean = Warehouse(server.dsn(), "fault1_clean", spatial=False)
    clean.replace_table(FACT_911_CALLS, new)
    assert fingerprint(warehouse, FACT_911_CALLS) == fingerprint(clean, FACT_911_CALLS)
    assert fingerprint(warehouse, FACT_911_CALLS)[0] == FAULT_ROWS + 1_000
    print(f"fault 1 timings: {seen | {'copying': len(seen['copying'])}}")


def run(
    io_manager: WarehouseIOManager,
    name: str,
    frame: pd.DataFrame,
    monthly: bool = False,
    tags: dict[str, str] | None = None,
):
    """Materialize an asset named like a warehouse table that returns `frame`."""
    extra = (
        {"partitions_def": MONTHS, "backfill_policy": dg.BackfillPolicy.single_run()}
        if monthly
        else {}
    )

    @dg.asset(name=name, **extra)
    def _produce():
        return frame.copy()

    run_tags = {RANGE_START_TAG: SEP, RANGE_END_TAG: NOV} if monthly else {}
    return dg.materialize(
        [_produce],
        resources={"io_manager": io_manager},
        instance=dg.DagsterInstance.ephemeral(),
        tags={**run_tags, **(tags or {})},
    )


def monthly(frame: pd.DataFrame) -> pd.DataFrame:
    """Fact rows in the partition convention (keyed by their month)."""
    return frame.assign(partition_key=frame["response_date"].dt.strftime("%Y-%m-01"))


def test_fault6_frozen_server_fails_the_step_within_the_deadline(server, monkeypatch):
    statement_timeout, grace = 3.0, 2.0
    resource = WarehouseResource(
        url=server.dsn(),
        schema_name="fault6",
        connect_timeout_seconds=2,
        statement_timeout_seconds=statement_timeout,
        lock_timeout_seconds=2,
        client_grace_seconds=grace,
    )
    io_manager = WarehouseIOManager(warehouse=resource)
    warehouse = Warehouse(server.dsn(), "fault6", spatial=False)
    previous, new = old_and_new_load()
    assert run(io_manager, "fact_911_calls", monthly(previous), monthly=True).success
    before = fingerprint(warehouse, FACT_911_CALLS)

    try:
        with (
            during_copy(monkeypatch, server.freeze) as copy,
            pytest.raises(WarehouseUnavailableError) as raised,
        ):
            run(io_manager, "fact_911_calls", monthly(new), monthly=True)
        waited = time.monotonic() - copy["struck_at"]
    finally:
        server.thaw()
    message = str(raised.value)
    assert message == (
        f"the warehouse at {server.where} did not answer within 5 s (statement_timeout 3 s + "
        "2 s grace): the server is frozen or unreachable, so the client closed the connection"
    )
    assert is_transient(raised.value)
    # The deadline counts from the COPY's start, which came before the freeze.
    assert waited <= statement_timeout + grace + 1.0
    print(f"fault 6: the step failed {waited:.2f} s after the server froze")

    assert fingerprint(warehouse, FACT_911_CALLS) == before
    assert run(io_manager, "fact_911_calls", monthly(new), monthly=True).success
    assert fingerprint(warehouse, FACT_911_CALLS)[0] == FAULT_ROWS + 1_000


def test_a_terminated_session_is_reported_with_the_servers_message(
    warehouse_url, warehouse_schema, monkeypatch
):
    # Its own application_name finds this test's session among everyone else's.
    application = f"safebeat-fault-{uuid.uuid4().hex[:8]}"
    warehouse = Warehouse(
        make_dsn(warehouse_url, application_name=application), warehouse_schema, spatial=False
    )
    previous, new = old_and_new_load()
    warehouse.replace_table(FACT_911_CALLS, previous)
    before = fingerprint(warehouse, FACT_911_CALLS)
    terminated: list[bool] = []

    def terminate() -> None:
        admin = psycopg2.connect(warehouse_url)
        admin.autocommit = True
        with admin.cursor() as cur:
            cur.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE application_name = %s AND query LIKE 'COPY %%'",
                (application,),
            )
            terminated.extend(row[0] for row in cur.fetchall())
        admin.close()
        time.sleep(0.2)  # the backend exits before the client sends more

    with (
        during_copy(monkeypatch, terminate),
        pytest.raises(WarehouseUnavailableError) as raised,
    ):
        warehouse.replace_table(FACT_911_CALLS, new)
    assert terminated == [True]
    message = str(raised.value)
    assert f"the warehouse at {warehouse.where} closed the connection" in message
    assert "terminating connection due to administrator command" in message, message
    assert "connection already closed" not in message
    assert is_transient(raised.value)
    assert fingerprint(warehouse, FACT_911_CALLS) == before


# --- no destructive success -------------------------------------------------------------------


@pytest.fixture
def io_manager(warehouse_url, warehouse_schema) -> WarehouseIOManager:
    return WarehouseIOManager(
        warehouse=WarehouseResource(url=warehouse_url, schema_name=warehouse_schema)
    )


@pytest.fixture
def loaded(io_manager, warehouse) -> pd.DataFrame:
    """A good fact load: 400 calls in each of September, October and November 2025."""
    facts = monthly(fact_rows(1_200, first_month=SEP, months=3))
    assert run(io_manager, "fact_911_calls", facts, monthly=True).success
    return facts


def refused(io_manager, frame, tags=None) -> dg.Failure:
    with pytest.raises(dg.Failure) as raised:
        run(io_manager, "fact_911_calls", frame, monthly=True, tags=tags)
    assert not raised.value.allow_retries, "a refused load is not retried"
    return raised.value


def test_a_header_only_fact_export_is_refused_and_deletes_nothing(io_manager, warehouse, loaded):
    before = fingerprint(warehouse, FACT_911_CALLS)
    failure = refused(io_manager, loaded.iloc[:0])
    assert isinstance(failure.__cause__, DestructiveChangeError)
    assert str(failure.__cause__) == (
        f"warehouse table {warehouse.schema}.fact_911_calls at {warehouse.where}, months "
        "2025-09 to 2025-11: refusing a load that removes too many rows compared with the last "
        "good load; nothing was changed. 2025-09: 400 -> 0 rows (100% removed; the bound is 20% "
        "per month); 2025-10: 400 -> 0 rows (100% removed; the bound is 20% per month); "
        "2025-11: 400 -> 0 rows (100% removed; the bound is 20% per month); overall: 1,200 -> 0 "
        "rows (100% removed; the bound is 5%). If this is intended, re-run with the run tag "
        "safebeat/allow-shrink=true."
    )
    assert fingerprint(warehouse, FACT_911_CALLS) == before


def test_a_half_truncated_fact_export_is_refused(io_manager, warehouse, loaded):
    before = fingerprint(warehouse, FACT_911_CALLS)
    failure = refused(io_manager, loaded.iloc[:600])
    assert "2025-10: 400 -> 200 rows (50% removed; the bound is 20% per month)" in str(failure)
    assert "overall: 1,200 -> 600 rows (50% removed; the bound is 5%)" in str(failure)
    assert fingerprint(warehouse, FACT_911_CALLS) == before


def test_the_override_tag_accepts_a_deliberate_shrink(io_manager, warehouse, loaded):
    half = loaded.iloc[:600]
    result = run(io_manager, "fact_911_calls", half, monthly=True, tags={ALLOW_SHRINK_TAG: "true"})
    assert result.success
    meta = result.asset_materializations_for_node("fact_911_calls")[0].metadata
    assert meta["rows_deleted"].value == 600
    assert "2025-09: 400 -> 200 rows" in meta["removal_bounds_overridden"].value
    assert fingerprint(warehouse, FACT_911_CALLS)[0] == 600


def test_a_correction_within_the_bounds_is_accepted_and_a_larger_one_refused(
    io_manager, warehouse, loaded
):
    october = loaded.index[1::3]  # rows are dealt to the months in turn
    # 50 of October's 400 calls (12%; 4% of all): a correction.
    corrected = loaded.drop(october[:50])
    assert run(io_manager, "fact_911_calls", corrected, monthly=True).success
    assert fingerprint(warehouse, FACT_911_CALLS)[0] == 1_150
    # 100 more (29% of October's 350) is not.
    failure = refused(io_manager, corrected.drop(october[50:150]))
    assert "2025-10: 350 -> 250 rows (29% removed; the bound is 20% per month)" in str(failure)
    assert "2025-09:" not in str(failure)
    assert fingerprint(warehouse, FACT_911_CALLS)[0] == 1_150


def test_a_permit_that_ends_before_it_starts_never_lands_in_dim_event(io_manager, warehouse):
    assert run(io_manager, "dim_event", EVENTS).success
    before = fingerprint(warehouse, DIM_EVENT)
    bad = events((11, "Marathon", "2025-02-16"), (12, "ACL Fest", "2025-10-03"))
    bad.loc[bad["event_id"] == 12, "end_date"] = pd.Timestamp("2025-09-30")
    with pytest.raises(dg.Failure) as raised:
        run(io_manager, "dim_event", bad)
    assert not raised.value.allow_retries
    assert isinstance(raised.value.__cause__, WarehouseAuditError)
    assert str(raised.value.__cause__) == (
        f"warehouse table {warehouse.schema}.dim_event at {warehouse.where}: audit 'event does "
        "not end before it starts' failed for 1 of 2 staged row(s) (e.g. event_id=12). Nothing "
        "was written: the table keeps its previous contents."
    )
    assert fingerprint(warehouse, DIM_EVENT) == before


def test_the_first_load_is_audited_too(warehouse):
    bad = events((11, "Marathon", "2025-02-16"))
    bad["end_date"] = pd.Timestamp("2025-02-15")
    with pytest.raises(WarehouseAuditError, match="event does not end before it starts"):
        warehouse.replace_table(DIM_EVENT, bad)
    assert fingerprint(warehouse, DIM_EVENT)[0] == 0
