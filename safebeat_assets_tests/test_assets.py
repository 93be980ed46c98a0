"""`materialize` of asset subsets on generated data against a real lake folder and PostgreSQL."""

import dagster as dg
import pandas as pd
from psycopg2 import sql

from safebeat_assets.defs.checks.warehouse_sql import MALFORMED_REPORTED_GEO_IDS
from safebeat_assets.storage.tables import FACT_911_CALLS
from safebeat_assets.storage.warehouse import Warehouse
from safebeat_assets_tests.conftest import SAMPLE_CALLS
from safebeat_assets_tests.helpers import check_results, lake_frame, materialize_subset, row_counts


def test_lake_stages_write_parquet_per_bucket(local_settings):
    result = materialize_subset(
        local_settings,
        "raw_911_calls raw_events raw_block_groups cleaned_911_calls cleaned_events enriched_911_calls",
    )
    assert result.success
    counts = row_counts(result)
    # The raw asset stores the export's manifest; its rows are in per-month fragments.
    manifest = lake_frame(local_settings, "raw-data", "raw_911_calls")
    assert counts["raw_911_calls"] == len(manifest) and manifest["rows"].sum() == SAMPLE_CALLS
    fragments = sorted(
        (local_settings.lake_dir / "raw-data" / "raw_911_calls" / "fragments").rglob("*.parquet")
    )
    raw = pd.concat([pd.read_parquet(path) for path in fragments], ignore_index=True)
    assert len(raw) == SAMPLE_CALLS
    assert (
        raw["response_datetime"]
        .str.match(r"^\d{4} [A-Z][a-z]{2} \d{2} \d{2}:\d{2}:\d{2} [AP]M$")
        .all()
    )
    cleaned = lake_frame(local_settings, "cleaned-data", "cleaned_911_calls")
    quarantined = lake_frame(local_settings, "cleaned-data", "quarantined_911_calls")
    # Nothing is lost silently: every raw row is cleaned, quarantined or a counted duplicate.
    meta = result.asset_materializations_for_node("cleaned_911_calls")[0].metadata
    stats = meta["cleaning_stats"].value
    assert len(cleaned) + len(quarantined) + stats["exact_duplicates_dropped"] + stats[
        "key_duplicates_dropped"
    ] == len(raw)
    assert not cleaned.duplicated(["incident_number", "response_datetime"]).any()
    assert cleaned["priority_numeric"].dropna().between(0, 3).all()
    enriched = lake_frame(local_settings, "cleaned-data", "enriched_911_calls")
    assert len(enriched) == len(cleaned)
    rate = (
        result.asset_materializations_for_node("enriched_911_calls")[0]
        .metadata["geo_match_rate"]
        .value
    )
    assert 0.9 < rate < 1.0
    assert (local_settings.lake_dir / "raw-data" / "raw_block_groups.parquet").exists()


def test_warehouse_subset_loads_dims_and_facts(local_settings, warehouse_url):
    result = materialize_subset(local_settings, "*fact_911_calls *dim_event")
    assert result.success, result.all_events
    warehouse = Warehouse(warehouse_url, local_settings.warehouse_schema)
    fact = warehouse.read_table(FACT_911_CALLS)
    enriched = lake_frame(local_settings, "cleaned-data", "enriched_911_calls")
    assert len(fact) == len(enriched)
    # Unmatched Geo IDs are kept with a NULL foreign key, and counted.
    unmatched = int(fact["geo_id"].isna().sum())
    meta = result.asset_materializations_for_node("fact_911_calls")[0].metadata
    assert meta["calls_with_null_geo_fk"].value == unmatched > 0
    travis = warehouse.fetch_one("SELECT count(*) FROM {g} WHERE county_fp = '453'", g="dim_geo")[0]
    assert travis == 766
    checks = check_results(result)
    assert checks["no_duplicate_calls"] and checks["geo_ids_well_formed"]
    assert checks["warehouse_holds_enough_calls"] is False  # a WARN alert on a small sample


def test_rerun_writes_no_warehouse_rows(local_settings):
    first = materialize_subset(local_settings, "*dim_geo")
    assert first.success
    second = materialize_subset(local_settings, "*dim_geo")
    meta = second.asset_materializations_for_node("dim_geo")[0].metadata
    assert (
        meta["rows_inserted"].value == meta["rows_updated"].value == meta["rows_deleted"].value == 0
    )


def test_missing_input_fails_with_a_clear_message(local_settings, tmp_path):
    from dataclasses import replace

    empty = replace(local_settings, landing_dir=tmp_path / "empty-landing")
    result = materialize_subset(empty, "raw_events")
    assert not result.success
    failure = next(e for e in result.all_events if e.is_step_failure)
    message = (
        failure.step_failure_data.error.cause.message
        if failure.step_failure_data.error.cause
        else failure.step_failure_data.error.message
    )
    assert "no events file found" in message and "safebeat sample" in message


def test_asset_materializations_carry_schema_and_row_count(local_settings):
    result = materialize_subset(local_settings, "raw_events cleaned_events")
    for node in ("raw_events", "cleaned_events"):
        meta = result.asset_materializations_for_node(node)[0].metadata
        assert isinstance(meta["dagster/column_schema"].value, dg.TableSchema)
        assert meta["dagster/row_count"].value > 0


def test_uniqueness_checks_trust_the_key_and_scan_without_it(local_settings, warehouse_url):
    assert materialize_subset(local_settings, "*fact_911_calls").success
    warehouse = Warehouse(warehouse_url, local_settings.warehouse_schema)
    fact = warehouse.table("fact_911_calls")
    key = ("incident_number", "response_datetime")
    assert warehouse.unique_constraint_within("fact_911_calls", key) == "fact_911_calls_pkey"
    assert warehouse.unique_constraint_within("fact_911_calls", key[:1]) is None
    check = dg.AssetCheckKey(dg.AssetKey("fact_911_calls"), "no_duplicate_calls")

    def duplicate_check():
        result = materialize_subset(local_settings, dg.AssetSelection.checks(check))
        (evaluation,) = result.get_asset_check_evaluations()
        return evaluation

    proved = duplicate_check()
    assert proved.passed and "fact_911_calls_pkey" in proved.metadata["enforced_by"].value
    with warehouse.connect() as conn, conn.cursor() as cur:
        cur.execute(
            f"ALTER TABLE {fact.as_string(cur)} DROP CONSTRAINT fact_911_calls_pkey CASCADE"
        )
        columns = ", ".join(FACT_911_CALLS.column_names)  # not the generated PostGIS geom
        cur.execute(
            f"INSERT INTO {fact.as_string(cur)} ({columns}) "
            f"SELECT {columns} FROM {fact.as_string(cur)} LIMIT 1"
        )
        conn.commit()
    assert warehouse.unique_constraint_within("fact_911_calls", key) is None
    scanned = duplicate_check()
    assert not scanned.passed and scanned.metadata["duplicate_keys"].value == 1


def test_geo_id_checks_count_every_malformed_shape_as_the_regex_does(local_settings, warehouse_url):
    assert materialize_subset(local_settings, "*fact_911_calls").success
    warehouse = Warehouse(warehouse_url, local_settings.warehouse_schema)
    check = dg.AssetCheckKey(dg.AssetKey("fact_911_calls"), "geo_ids_well_formed")

    def geo_id_check():
        result = materialize_subset(local_settings, dg.AssetSelection.checks(check))
        (evaluation,) = result.get_asset_check_evaluations()
        return evaluation

    assert geo_id_check().passed
    # The check probes the index once per distinct GEOID; it never reads the table whole.
    explain = sql.SQL("EXPLAIN " + MALFORMED_REPORTED_GEO_IDS).format(
        t=warehouse.table("fact_911_calls")
    )
    plan = "\n".join(line for (line,) in warehouse.query(explain, {"states": ["48"]}))
    assert "Seq Scan" not in plan and "fact_911_calls_reported_geo_id_idx" in plan
    malformed = [
        "4845300101",  # 10 digits
        "060371011011",  # another state
        "48453001010X",  # a letter
        "48453001010٣",  # an Arabic-Indic digit: 12 characters, 13 bytes
        " 48453001010",  # a blank
    ]
    with warehouse.connect() as conn, conn.cursor() as cur:
        fact = warehouse.table("fact_911_calls").as_string(cur)
        cur.execute(
            f"SELECT incident_number, response_datetime FROM {fact} "
            "WHERE reported_geo_id IS NOT NULL ORDER BY 1, 2 LIMIT %s",
            (len(malformed) + 1,),
        )
        keys = cur.fetchall()
        for (incident, at), geo_id in zip(keys, [*malformed, None], strict=True):
            cur.execute(
                f"UPDATE {fact} SET reported_geo_id = %s "
                "WHERE incident_number = %s AND response_datetime = %s",
                (geo_id, incident, at),
            )
        conn.commit()
    by_regex = warehouse.fetch_one(
        "SELECT count(*) FROM {f} WHERE reported_geo_id !~ %(pattern)s",
        params={"pattern": "^(48)[0-9]{10}$"},
        f="fact_911_calls",
    )[0]
    failed = geo_id_check()
    assert not failed.passed
    assert failed.metadata["malformed_geo_ids"].value == by_regex == len(malformed)
    assert failed.metadata["checked_pattern"].value == "^(48)[0-9]{10}$"
