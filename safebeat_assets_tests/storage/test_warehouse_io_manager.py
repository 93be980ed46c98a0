"""WarehouseIOManager in isolation: toy assets named like real tables, materialized into a fresh
schema of a real PostgreSQL and checked with SQL."""

import dagster as dg
import pandas as pd
import pytest
from psycopg2 import sql

from safebeat_assets.defs.partitions import RANGE_END_TAG, RANGE_START_TAG, monthly_partitions
from safebeat_assets.storage.lake import COLUMNS_METADATA_KEY
from safebeat_assets.storage.tables import DIM_EVENT, FACT_911_CALLS
from safebeat_assets.storage.warehouse import Warehouse, WarehouseSchemaError
from safebeat_assets.storage.warehouse_io import WarehouseIOManager, WarehouseResource
from safebeat_assets.transform import to_dim_event
from safebeat_assets_tests.storage.test_warehouse import fact_frame
from safebeat_assets_tests.transform.test_linkage_and_facts import events_frame

pytestmark = pytest.mark.filterwarnings("ignore::dagster.BetaWarning")

MONTHS = monthly_partitions("2025-01-01")
OCT, NOV = "2025-10-01", "2025-11-01"


@pytest.fixture
def io_manager(warehouse_url, warehouse_schema) -> WarehouseIOManager:
    return WarehouseIOManager(
        warehouse=WarehouseResource(url=warehouse_url, schema_name=warehouse_schema)
    )


@pytest.fixture
def wh(warehouse_url, warehouse_schema) -> Warehouse:
    return Warehouse(warehouse_url, warehouse_schema)


def run(io_manager, assets, selection=None, partition_key=None, months=None):
    tags = {RANGE_START_TAG: months[0], RANGE_END_TAG: months[1]} if months else None
    return dg.materialize(
        assets,
        selection=selection,
        resources={"io_manager": io_manager},
        instance=dg.DagsterInstance.ephemeral(),
        partition_key=partition_key,
        tags=tags,
    )


def producer(name: str, frame: pd.DataFrame, partitioned: bool = False):
    extra = (
        {"partitions_def": MONTHS, "backfill_policy": dg.BackfillPolicy.single_run()}
        if partitioned
        else {}
    )

    @dg.asset(name=name, **extra)
    def _produce():
        return frame.copy()

    return _produce


def meta_of(result, name: str) -> dict:
    return result.asset_materializations_for_node(name)[0].metadata


def changes(meta: dict) -> tuple[int, int, int]:
    return tuple(meta[f"rows_{kind}"].value for kind in ("inserted", "updated", "deleted"))


def rows(wh: Warehouse, table: str, columns: str = "*") -> list[tuple]:
    # `columns` are this module's own SQL expressions.
    return wh.query(
        sql.SQL("SELECT {} FROM {} ORDER BY 1, 2").format(sql.SQL(columns), wh.table(table))
    )


def events(*rows: tuple[int, str, str]) -> pd.DataFrame:
    """dim_event rows from (event_id, name, start date)."""
    return to_dim_event(
        events_frame(
            [{"event_id": i, "event_name": n, "start_date": d, "end_date": d} for i, n, d in rows]
        )
    )


EVENTS = events((11, "Marathon", "2025-02-16"), (12, "ACL Fest", "2025-10-03"))


def test_dim_event_is_written_idempotently_and_read_by_columns(io_manager, wh, warehouse_schema):
    first = run(io_manager, [producer("dim_event", EVENTS)])
    assert rows(wh, "dim_event", "event_id, event_name, start_date::text, has_alcohol") == [
        (11, "Marathon", "2025-02-16", True),
        (12, "ACL Fest", "2025-10-03", True),
    ]
    meta = meta_of(first, "dim_event")
    assert changes(meta) == (2, 0, 0)
    assert meta["dagster/table_name"].value == f"{warehouse_schema}.dim_event"
    assert meta["dagster/row_count"].value == 2
    columns = meta["dagster/column_schema"].schema.columns
    assert [c.name for c in columns] == DIM_EVENT.column_names
    assert {c.name: c.description for c in columns} == {
        c.name: c.description for c in DIM_EVENT.columns
    }
    snapshot = rows(wh, "dim_event")

    again = run(io_manager, [producer("dim_event", EVENTS)])
    assert changes(meta_of(again, "dim_event")) == (0, 0, 0)
    assert rows(wh, "dim_event") == snapshot

    renamed = events((12, "ACL Festival", "2025-10-03"), (13, "SXSW", "2025-03-07"))
    changed = run(io_manager, [producer("dim_event", renamed)])
    assert changes(meta_of(changed, "dim_event")) == (1, 1, 1)
    assert rows(wh, "dim_event", "event_id, event_name") == [(12, "ACL Festival"), (13, "SXSW")]

    seen: dict = {}

    @dg.asset(ins={"dim_event": dg.AssetIn(metadata={COLUMNS_METADATA_KEY: ["event_name"]})})
    def names(dim_event) -> None:
        seen["names"] = dim_event

    @dg.asset
    def whole(dim_event) -> None:
        seen["whole"] = dim_event

    run(io_manager, [producer("dim_event", renamed), names, whole], selection=["names", "whole"])
    assert list(seen["names"].columns) == ["event_name"]
    assert seen["names"]["event_name"].tolist() == ["ACL Festival", "SXSW"]
    assert list(seen["whole"].columns) == DIM_EVENT.column_names
    assert seen["whole"]["event_id"].tolist() == [12, 13]


def test_unknown_table_is_an_error(io_manager, wh):
    with pytest.raises(dg.DagsterInvariantViolationError, match="no warehouse table .* toy_table"):
        run(io_manager, [producer("toy_table", EVENTS)])
    assert not wh.has_table("dim_event")


def calls(frame: pd.DataFrame) -> pd.DataFrame:
    """fact_911_calls rows in the partition convention (keyed by their local month)."""
    return frame.assign(partition_key=frame["response_date"].dt.strftime("%Y-%m-01"))


# No geo_id: the rows need no dim_geo parent. Two calls on Oct 31, one on Nov 2 (local).
FACTS = calls(fact_frame(geo_ids=(None, None, None)))
KEY_COLUMNS = "incident_number, response_date::text"


def test_monthly_fact_replaces_only_the_runs_months(io_manager, wh):
    first = run(io_manager, [producer("fact_911_calls", FACTS, True)], months=(OCT, NOV))
    assert rows(wh, "fact_911_calls", KEY_COLUMNS) == [
        (253041786, "2025-10-31"),
        (253041790, "2025-10-31"),
        (253061001, "2025-11-02"),
    ]
    stored_columns = {
        r[0]
        for r in wh.query(
            "SELECT column_name FROM information_schema.columns "
            "WHERE table_schema = %s AND table_name = 'fact_911_calls'",
            (wh.schema,),
        )
    }
    assert "partition_key" not in stored_columns
    meta = meta_of(first, "fact_911_calls")
    assert changes(meta) == (3, 0, 0)
    assert meta["dagster/row_count"].value == 3
    assert [c.name for c in meta["dagster/column_schema"].schema.columns] == (
        FACT_911_CALLS.column_names
    )
    october = rows(wh, "fact_911_calls")[:2]

    # November re-run with another call: November's old row goes, October's stay as they were.
    november = FACTS.iloc[[2]].assign(incident_number=253061002)
    second = run(io_manager, [producer("fact_911_calls", november, True)], partition_key=NOV)
    assert changes(meta_of(second, "fact_911_calls")) == (1, 0, 1)
    assert rows(wh, "fact_911_calls")[:2] == october
    assert rows(wh, "fact_911_calls", KEY_COLUMNS)[2:] == [(253061002, "2025-11-02")]
    snapshot = rows(wh, "fact_911_calls")

    again = run(io_manager, [producer("fact_911_calls", november, True)], partition_key=NOV)
    assert changes(meta_of(again, "fact_911_calls")) == (0, 0, 0)
    assert rows(wh, "fact_911_calls") == snapshot

    # An October run without rows empties October only.
    empty = run(io_manager, [producer("fact_911_calls", FACTS.iloc[:0], True)], partition_key=OCT)
    assert changes(meta_of(empty, "fact_911_calls")) == (0, 0, 2)
    assert rows(wh, "fact_911_calls") == snapshot[2:]


@pytest.mark.parametrize(
    ("frame", "error", "message"),
    [
        (
            FACTS.drop(columns=["partition_key"]),
            dg.DagsterInvariantViolationError,
            "must return a 'partition_key' column",
        ),
        (FACTS, dg.DagsterInvariantViolationError, r"outside this run: \['2025-11-01'\]"),
        # Labelled October, dated November: the row would land outside the replaced slice. A
        # data error is a Failure that the step's retry policy does not retry.
        (
            FACTS.assign(partition_key=OCT),
            dg.Failure,
            r"WarehouseSchemaError: 1 row\(s\) for fact_911_calls fall outside the partition slice",
        ),
    ],
    ids=["missing-key-column", "month-outside-run", "date-outside-slice"],
)
def test_partition_convention_violations_leave_the_table_alone(
    io_manager, wh, frame, error, message
):
    run(io_manager, [producer("fact_911_calls", FACTS.iloc[:2], True)], partition_key=OCT)
    before = rows(wh, "fact_911_calls")
    with pytest.raises(error, match=message) as raised:
        run(io_manager, [producer("fact_911_calls", frame, True)], partition_key=OCT)
    if isinstance(raised.value, dg.Failure):
        assert not raised.value.allow_retries
        assert isinstance(raised.value.__cause__, WarehouseSchemaError)
    assert rows(wh, "fact_911_calls") == before


def test_a_monthly_consumer_loads_only_its_months(io_manager, wh):
    seen: dict[str, pd.DataFrame] = {}

    @dg.asset(
        partitions_def=MONTHS,
        backfill_policy=dg.BackfillPolicy.single_run(),
        ins={"fact_911_calls": dg.AssetIn(metadata={COLUMNS_METADATA_KEY: ["incident_number"]})},
    )
    def monthly_reader(context: dg.AssetExecutionContext, fact_911_calls) -> None:
        seen[context.partition_key_range.start] = fact_911_calls

    @dg.asset(ins={"fact_911_calls": dg.AssetIn()})
    def whole_reader(fact_911_calls) -> None:
        seen["all"] = fact_911_calls

    fact = producer("fact_911_calls", FACTS, True)
    run(io_manager, [fact], months=(OCT, NOV))
    assets = [fact, monthly_reader, whole_reader]
    run(io_manager, assets, selection=["monthly_reader"], partition_key=NOV)
    run(io_manager, assets, selection=["whole_reader"])
    assert seen[NOV]["incident_number"].tolist() == [253061001]
    assert sorted(seen["all"]["incident_number"]) == [253041786, 253041790, 253061001]
