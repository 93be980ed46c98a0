"""The warehouse client against a real PostgreSQL: DDL, bulk idempotent writes, atomicity, reads."""

import datetime as dt

import pandas as pd
import psycopg2
import pytest
from psycopg2 import sql

from safebeat_assets.errors import DestructiveChangeError
from safebeat_assets.guards import ALLOW_SHRINK_TAG, RemovalBounds
from safebeat_assets.storage.tables import DIM_GEO, FACT_911_CALLS, TABLES
from safebeat_assets.storage.warehouse import (
    Warehouse,
    WarehouseAuditError,
    WarehouseSchemaError,
    set_aside_foreign_keys,
)


def geo_frame(ids=("484530412002", "484530412001")) -> pd.DataFrame:
    n = len(ids)
    return pd.DataFrame(
        {
            "geo_id": list(ids),
            "state_fp": ["48"] * n,
            "county_fp": ["453"] * n,
            "county_name": ["Travis"] * n,
            "tract_ce": ["041200"] * n,
            "block_group_ce": [i[-1] for i in ids],
            "name": [f"Block Group {i[-1]}" for i in ids],
            "latitude_centroid": [30.30 + 0.01 * k for k in range(n)],
            "longitude_centroid": [-97.70] * n,
            "area_sq_km": [1.5] * n,
            "water_sq_km": [0.0] * n,
            "boundary_wkt": [None] * n,
        }
    )


def fact_frame(geo_ids=("484530412002", None, "484530412001")) -> pd.DataFrame:
    n = len(geo_ids)
    local = pd.to_datetime(
        ["2025-10-31 23:59:47", "2025-10-31 23:59:15", "2025-11-02 01:30:00"][:n]
    ).tz_localize("America/Chicago", ambiguous=[True] * n)
    return pd.DataFrame(
        {
            "incident_number": [253041790, 253041786, 253061001][:n],
            "response_datetime": local,
            "response_date": local.tz_localize(None).normalize(),
            "response_year": local.year,
            "response_month": local.month,
            "response_hour": local.hour,
            "response_day_of_week": local.strftime("%a"),
            "day_of_week_index": local.dayofweek,
            "is_weekend": local.dayofweek >= 5,
            "time_of_day": ["Evening", "Evening", "Night"][:n],
            "geo_id": list(geo_ids),
            "reported_geo_id": ["484530412002", "484539999999", "484530412001"][:n],
            "latitude_centroid": [30.3, None, 30.31][:n],
            "longitude_centroid": [-97.7, None, -97.7][:n],
            "priority_level": ["Priority 2"] * n,
            "priority_numeric": pd.array([2, None, 0][:n], dtype="Int64"),
            "initial_problem_category": ["Alarms"] * n,
            "final_problem_category": ["Alarms"] * n,
            "final_problem_description": ["False Burglar Alarm"] * n,
            "call_disposition_description": ["False Alarm"] * n,
            "sector": ["Frank", "George", "Adam"][:n],
            "council_district": pd.array([2, 9, 1][:n], dtype="Int64"),
            "response_time": pd.array([853, 7953, None][:n], dtype="Int64"),
            "unit_time_on_scene": pd.array([304, 704, 10][:n], dtype="Int64"),
            "number_of_units_arrived": pd.array([1, 2, 1][:n], dtype="Int64"),
            "is_mental_health": pd.array([False, False, True][:n], dtype="boolean"),
            "report_written": pd.array([False, None, True][:n], dtype="boolean"),
            "is_duplicate_incident_number": [False] * n,
        }
    )


def table_rows(warehouse: Warehouse, table: str) -> list[tuple]:
    return warehouse.query(sql.SQL("SELECT * FROM {} ORDER BY 1, 2").format(warehouse.table(table)))


def test_creates_typed_tables_with_keys_and_indexes(warehouse):
    warehouse.ensure_tables()
    with warehouse.connect() as conn, conn.cursor() as cur:
        cur.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = %s",
            (warehouse.schema,),
        )
        assert {r[0] for r in cur.fetchall()} == set(TABLES)
        cur.execute(
            "SELECT conname, contype FROM pg_constraint c JOIN pg_namespace n "
            "ON n.oid = c.connamespace WHERE n.nspname = %s",
            (warehouse.schema,),
        )
        constraints = dict(cur.fetchall())
        cur.execute("SELECT indexname FROM pg_indexes WHERE schemaname = %s", (warehouse.schema,))
        indexes = {r[0] for r in cur.fetchall()}
    assert constraints["fact_911_calls_pkey"] == "p"
    assert constraints["fact_911_calls_geo_id_fkey"] == "f"
    assert constraints["fact_event_incidents_incident_number_response_datetime_fkey"] == "f"
    assert {
        "fact_911_calls_response_date_idx",
        "fact_911_calls_geo_id_idx",
        "fact_911_calls_reported_geo_id_idx",
    } <= indexes
    warehouse.ensure_tables()  # idempotent


def test_replace_is_idempotent_and_touches_only_changed_rows(warehouse):
    first = warehouse.replace_table(DIM_GEO, geo_frame())
    assert (first.inserted, first.updated, first.deleted) == (2, 0, 0)
    again = warehouse.replace_table(DIM_GEO, geo_frame())
    assert again.rows_written == 0
    snapshot = table_rows(warehouse, "dim_geo")

    changed = geo_frame()
    changed.loc[0, "area_sq_km"] = 9.0
    stats = warehouse.replace_table(DIM_GEO, changed)
    assert (stats.inserted, stats.updated, stats.deleted) == (0, 1, 0)
    warehouse.replace_table(DIM_GEO, geo_frame())
    assert table_rows(warehouse, "dim_geo") == snapshot


def test_vanished_parent_rows_null_or_cascade_their_children(warehouse):
    warehouse.replace_table(DIM_GEO, geo_frame())
    warehouse.replace_table(FACT_911_CALLS, fact_frame())
    stats = warehouse.replace_table(DIM_GEO, geo_frame(ids=("484530412002",)))
    assert stats.deleted == 1
    fact = warehouse.read_table(FACT_911_CALLS)
    # The call in the vanished block group becomes unmatched instead of blocking the load.
    assert fact["geo_id"].isna().sum() == 2


def test_failed_write_leaves_previous_contents(warehouse):
    warehouse.replace_table(DIM_GEO, geo_frame())
    before = table_rows(warehouse, "dim_geo")
    broken = geo_frame(ids=("484530412002", "484530412003"))
    broken.loc[1, "latitude_centroid"] = None  # NOT NULL column
    with pytest.raises(
        WarehouseAuditError,
        match=r"dim_geo .*audit 'latitude_centroid is not null' failed for 1 of 2 staged "
        r"row\(s\) \(e\.g\. frame row 1\)\. Nothing was written",
    ):
        warehouse.replace_table(DIM_GEO, broken)
    assert table_rows(warehouse, "dim_geo") == before
    # A constraint the audits do not cover still rolls the write back.
    negative = geo_frame()
    negative.loc[0, "area_sq_km"] = -1.0
    with pytest.raises(WarehouseAuditError, match="audit 'areas are not negative' failed for 1"):
        warehouse.replace_table(DIM_GEO, negative)
    assert table_rows(warehouse, "dim_geo") == before


def test_frame_must_match_the_spec(warehouse):
    frame = geo_frame().drop(columns=["area_sq_km"]).assign(extra=1)
    with pytest.raises(WarehouseSchemaError, match=r"missing columns \['area_sq_km'\].*extra"):
        warehouse.replace_table(DIM_GEO, frame)


def test_foreign_key_violation_rolls_back(warehouse):
    warehouse.replace_table(DIM_GEO, geo_frame())
    orphan = fact_frame(geo_ids=("484539999999", None, None))
    with pytest.raises(psycopg2.errors.ForeignKeyViolation):
        warehouse.replace_table(FACT_911_CALLS, orphan)
    assert warehouse.read_table(FACT_911_CALLS).empty


def test_read_round_trips_types_and_local_time(warehouse):
    warehouse.replace_table(DIM_GEO, geo_frame())
    original = fact_frame()
    warehouse.replace_table(FACT_911_CALLS, original)
    back = (
        warehouse.read_table(FACT_911_CALLS).sort_values("incident_number").reset_index(drop=True)
    )
    expected = original.sort_values("incident_number").reset_index(drop=True)
    assert str(back["response_datetime"].dt.tz) == "America/Chicago"
    assert (back["response_datetime"] == expected["response_datetime"]).all()
    # sorted by incident number: 253041786 (unknown priority), 253041790, 253061001
    assert back["priority_numeric"].isna().tolist() == [True, False, False]
    assert back["priority_numeric"].dropna().tolist() == [2, 0]
    assert back["report_written"].isna().tolist() == [True, False, False]
    assert back["response_date"].dt.strftime("%Y-%m-%d").tolist() == [
        "2025-10-31",
        "2025-10-31",
        "2025-11-02",
    ]
    subset = warehouse.read_table(FACT_911_CALLS, ["incident_number", "geo_id"])
    assert list(subset.columns) == ["incident_number", "geo_id"]


def test_incompatible_existing_column_type_is_reported(warehouse):
    warehouse.ensure_tables()
    with warehouse.connect() as conn, conn.cursor() as cur:
        cur.execute(
            sql.SQL("ALTER TABLE {} ALTER COLUMN area_sq_km TYPE text").format(
                warehouse.table("dim_geo")
            )
        )
        conn.commit()
    with pytest.raises(WarehouseSchemaError, match="area_sq_km"):
        warehouse.ensure_tables()


def test_without_postgis_tables_have_no_geometry_but_views_exist(warehouse_url, warehouse_schema):
    plain = Warehouse(warehouse_url, warehouse_schema, spatial=False)
    plain.ensure_schema_objects()
    plain.replace_table(DIM_GEO, geo_frame())
    columns = {
        r[0]
        for r in plain.query(
            "SELECT column_name FROM information_schema.columns WHERE table_schema = %s",
            (warehouse_schema,),
        )
    }
    assert not columns & {"geom", "boundary", "centroid"}
    views = {
        r[0]
        for r in plain.query(
            "SELECT table_name FROM information_schema.views WHERE table_schema = %s",
            (warehouse_schema,),
        )
    }
    assert views == {"v_risk_heatmap", "v_event_incident_summary"}
    functions = plain.query(
        "SELECT count(*) FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace "
        "WHERE n.nspname = %s AND p.proname = 'get_nearby_incidents'",
        (warehouse_schema,),
    )
    assert functions == [(0,)]


def table_structure(warehouse: Warehouse, table: str) -> tuple[set, set]:
    """Constraints of the schema's tables (the table's keys and every foreign key, including
    those pointing at it from other tables) and the table's indexes."""
    with warehouse.connect() as conn, conn.cursor() as cur:
        cur.execute(
            "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(c.oid), convalidated "
            "FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace "
            "WHERE n.nspname = %s",
            (warehouse.schema,),
        )
        constraints = set(cur.fetchall())
        cur.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = %s AND tablename = %s",
            (warehouse.schema, table),
        )
        return constraints, set(cur.fetchall())


def test_first_load_rebuilds_indexes_and_foreign_keys(warehouse, monkeypatch):
    import safebeat_assets.storage.warehouse as warehouse_module

    monkeypatch.setattr(warehouse_module, "COPY_BATCH_ROWS", 1)  # one CSV chunk per row
    warehouse.replace_table(DIM_GEO, geo_frame())
    warehouse.ensure_tables()
    structure = table_structure(warehouse, "fact_911_calls")
    stats = warehouse.replace_table(FACT_911_CALLS, fact_frame())
    assert stats.inserted == 3
    assert table_structure(warehouse, "fact_911_calls") == structure
    assert len(warehouse.read_table(FACT_911_CALLS)) == 3
    # The rebuilt foreign key is enforced again.
    with (
        pytest.raises(psycopg2.errors.ForeignKeyViolation),
        warehouse.connect() as conn,
        conn.cursor() as cur,
    ):
        cur.execute(
            sql.SQL("UPDATE {} SET geo_id = %s").format(warehouse.table("fact_911_calls")),
            ("484539999999",),
        )
        conn.commit()


def test_failed_first_load_keeps_the_empty_table_and_its_structure(warehouse):
    warehouse.replace_table(DIM_GEO, geo_frame())
    warehouse.ensure_tables()
    structure = table_structure(warehouse, "fact_911_calls")
    broken = fact_frame()
    broken.loc[2, "incident_number"] = broken.loc[0, "incident_number"]
    broken.loc[2, "response_datetime"] = broken.loc[0, "response_datetime"]
    with pytest.raises(
        WarehouseAuditError,
        match=r"fact_911_calls .*audit 'key is unique' failed for 1 of 3 staged row\(s\) "
        r"\(e\.g\. incident_number=253041790, response_datetime=",
    ):
        warehouse.replace_table(FACT_911_CALLS, broken)
    assert warehouse.read_table(FACT_911_CALLS).empty
    assert table_structure(warehouse, "fact_911_calls") == structure


@pytest.mark.parametrize("set_aside_from", [1, 10**9], ids=["foreign-keys-set-aside", "kept"])
def test_new_months_are_appended_with_the_table_structure_and_checks_intact(
    warehouse, monkeypatch, set_aside_from
):
    """A slice the table holds no rows of (a cold backfill's later runs) is a plain INSERT; the
    foreign keys still hold and a failure still leaves the table as it was."""
    import safebeat_assets.storage.warehouse as warehouse_module

    monkeypatch.setattr(warehouse_module, "SET_ASIDE_FOREIGN_KEYS_ROWS", set_aside_from)
    october, november = (
        (dt.date(2025, 10, 1), dt.date(2025, 11, 1)),
        (
            dt.date(2025, 11, 1),
            dt.date(2025, 12, 1),
        ),
    )
    warehouse.replace_table(DIM_GEO, geo_frame())
    frame = fact_frame()
    warehouse.replace_table(FACT_911_CALLS, frame.iloc[:2], october)
    structure = table_structure(warehouse, "fact_911_calls")
    before = table_rows(warehouse, "fact_911_calls")

    orphan = frame.iloc[2:].assign(geo_id="484539999999")
    with pytest.raises(psycopg2.errors.ForeignKeyViolation):
        warehouse.replace_table(FACT_911_CALLS, orphan, november)
    assert table_rows(warehouse, "fact_911_calls") == before
    assert table_structure(warehouse, "fact_911_calls") == structure

    stats = warehouse.replace_table(FACT_911_CALLS, frame.iloc[2:], november)
    assert (stats.inserted, stats.updated, stats.deleted) == (1, 0, 0)
    assert table_structure(warehouse, "fact_911_calls") == structure
    assert len(warehouse.read_table(FACT_911_CALLS)) == 3
    again = warehouse.replace_table(FACT_911_CALLS, frame.iloc[2:], november)
    assert again.rows_written == 0


@pytest.mark.parametrize(
    ("appended", "stored", "set_aside"),
    [
        (280_000, None, True),  # never measured: one join, as for a first append
        (280_000, 560_000.0, True),  # a cold backfill's second year
        (280_000, 8_350_000.0, False),  # ten times Austin: per-row checks are cheaper
        (49_999, 0.0, False),  # a small append always checks per row
    ],
)
def test_foreign_keys_are_set_aside_only_where_one_join_is_cheaper(appended, stored, set_aside):
    assert set_aside_foreign_keys(appended, stored) is set_aside


def test_the_stored_rows_estimate_follows_the_table_without_reading_it(warehouse):
    warehouse.replace_table(DIM_GEO, geo_frame(ids=many_geo_ids(2_000)))
    with warehouse.connect() as conn, conn.cursor() as cur:
        estimate = Warehouse._stored_rows_estimate(cur, warehouse.table("dim_geo"))
    assert estimate == pytest.approx(2_000, rel=0.05)


def many_geo_ids(count: int) -> list[str]:
    return [f"48453{index:07d}" for index in range(count)]


def test_a_table_without_months_may_lose_only_a_small_share_of_its_rows(warehouse):
    warehouse.replace_table(DIM_GEO, geo_frame(ids=many_geo_ids(400)))
    # 15 of 400 (4%): within the 5% bound.
    assert warehouse.replace_table(DIM_GEO, geo_frame(ids=many_geo_ids(385))).deleted == 15
    with pytest.raises(
        DestructiveChangeError,
        match=r"dim_geo .*refusing a load that removes too many rows .* nothing was changed\. "
        r"overall: 385 -> 300 rows \(22% removed; the bound is 5%\)\. If this is intended, "
        r"re-run with the run tag safebeat/allow-shrink=true\.",
    ):
        warehouse.replace_table(DIM_GEO, geo_frame(ids=many_geo_ids(300)))
    assert len(table_rows(warehouse, "dim_geo")) == 385
    # Wider bounds, or the run's explicit override, let it through.
    stats = warehouse.replace_table(
        DIM_GEO, geo_frame(ids=many_geo_ids(300)), run_tags={ALLOW_SHRINK_TAG: "true"}
    )
    assert stats.deleted == 85
    assert stats.removal_overridden == ("overall: 385 -> 300 rows (22% removed; the bound is 5%)",)
    warehouse.replace_table(
        DIM_GEO, geo_frame(ids=many_geo_ids(200)), removal_bounds=RemovalBounds(overall=0.5)
    )
    assert len(table_rows(warehouse, "dim_geo")) == 200


def test_a_whole_table_replace_compares_every_month(warehouse):
    from safebeat_assets_tests.faults.warehouse_server import fact_rows

    facts = fact_rows(900, first_month="2025-01-01", months=3)
    warehouse.replace_table(FACT_911_CALLS, facts)
    without_march = facts[facts["response_date"] < "2025-03-01"]
    with pytest.raises(DestructiveChangeError, match=r"2025-03: 300 -> 0 rows") as raised:
        warehouse.replace_table(FACT_911_CALLS, without_march)
    assert "2025-01:" not in str(raised.value)
    assert len(warehouse.read_table(FACT_911_CALLS, ["incident_number"])) == 900


def hot_spot_frame(z: float, geo_ids=("484530412002", "484530412001")) -> pd.DataFrame:
    n = len(geo_ids)
    return pd.DataFrame(
        {
            "time_window": ["All day"] * n,
            "category": ["All calls"] * n,
            "geo_id": list(geo_ids),
            "calls": [10] * n,
            "gi_z": [z] * n,
            "p_value": [0.5] * n,
            "confidence": [0] * n,
            "hot_spot": ["Not significant"] * n,
        }
    )


def test_a_wholesale_table_is_emptied_and_bulk_loaded_in_one_transaction(warehouse):
    """Scores recomputed over the whole history change nearly every row each day: truncate and
    bulk load, with the diff path's guarantees (audits, keys, removal bounds, atomicity)."""
    spec = TABLES["call_hot_spots"]
    assert spec.replaced_wholesale
    warehouse.replace_table(DIM_GEO, geo_frame())
    warehouse.replace_table(spec, hot_spot_frame(0.1))
    stats = warehouse.replace_table(spec, hot_spot_frame(0.2))
    assert (stats.inserted, stats.updated, stats.deleted) == (2, 0, 2)
    rows = table_rows(warehouse, "call_hot_spots")
    assert [row[4] for row in rows] == [0.2, 0.2]
    broken = hot_spot_frame(0.3)
    broken.loc[1, "p_value"] = 2.0
    with pytest.raises(WarehouseAuditError, match="p-value lies in"):
        warehouse.replace_table(spec, broken)
    with pytest.raises(WarehouseAuditError, match="key is unique"):
        warehouse.replace_table(spec, pd.concat([hot_spot_frame(0.3)] * 2, ignore_index=True))
    assert table_rows(warehouse, "call_hot_spots") == rows
    # The key, index and foreign key are back after the bulk path.
    kinds = warehouse.query(
        "SELECT contype FROM pg_constraint WHERE conrelid = %s::regclass "
        "AND contype IN ('f', 'p') ORDER BY contype",
        (f"{warehouse.schema}.call_hot_spots",),
    )
    assert [kind for (kind,) in kinds] == ["f", "p"]
    indexes = warehouse.query(
        "SELECT indexname FROM pg_indexes WHERE schemaname = %s AND tablename = 'call_hot_spots'",
        (warehouse.schema,),
    )
    assert len(indexes) == 2
