"""The whole graph in the production profile: Dagster instance on Postgres, lake and landing in
S3 buckets (moto on loopback), warehouse in PostGIS. A second run leaves identical tables."""

import time

import dagster as dg
import pytest

from safebeat_assets.defs.schedules import DAILY_JOB_NAME
from safebeat_assets.settings import load_settings
from safebeat_assets.storage.object_store import LAKE_BUCKETS
from safebeat_assets_tests.helpers import (
    REPORT_DATE,
    row_counts,
    run_daily_job,
    table_fingerprints,
)


def bucket_keys(s3_client) -> dict[str, set[str]]:
    return {
        bucket: {o["Key"] for o in s3_client.list_objects_v2(Bucket=bucket).get("Contents", [])}
        for bucket in LAKE_BUCKETS
    }


@pytest.mark.e2e
def test_production_profile_end_to_end(prod_environment, s3_client, landing_in_s3, prod_warehouse):
    warehouse = prod_warehouse
    settings = load_settings()
    assert settings.profile == "prod"
    instance = dg.DagsterInstance.get()
    assert type(instance.run_storage).__name__ == "PostgresRunStorage"

    started = time.perf_counter()
    result = run_daily_job(settings, instance=instance)
    first_seconds = time.perf_counter() - started
    assert result.success, [e.message for e in result.all_events if e.is_failure]
    print(f"production-profile run: {first_seconds:.1f}s")

    keys = bucket_keys(s3_client)
    assert {"raw_911_calls.parquet", "raw_events.parquet", "raw_block_groups.parquet"} <= keys[
        "raw-data"
    ]
    assert "cleaned_events.parquet" in keys["cleaned-data"]
    for monthly in ("cleaned_911_calls", "quarantined_911_calls", "enriched_911_calls"):
        # One object per monthly partition.
        assert f"{monthly}/2025-01-01.parquet" in keys["cleaned-data"], monthly
    assert {"association_rules.parquet", "zone_clusters.parquet", "call_forecast.parquet"} <= keys[
        "models"
    ]
    report_date = REPORT_DATE
    assert {
        f"daily/{report_date}_report.html",
        f"daily/{report_date}_report.json",
        f"alerts/{report_date}_alerts.json",
    } <= keys["reports"]

    counts = row_counts(result)
    located, total = warehouse.fetch_one(
        "SELECT count(geom), count(*) FROM {f}", f="fact_911_calls"
    )
    assert (
        total == counts["fact_911_calls"]
        and located
        == warehouse.fetch_one(
            "SELECT count(*) FROM {f} WHERE latitude_centroid IS NOT NULL", f="fact_911_calls"
        )[0]
    )
    boundaries = warehouse.fetch_one("SELECT count(boundary) FROM {g}", g="dim_geo")[0]
    assert boundaries == counts["dim_geo"]
    nearby = warehouse.query(
        f'SELECT count(*) FROM "{warehouse.schema}".get_nearby_incidents(30.2672, -97.7431, 2.0)'
    )[0][0]
    assert nearby > 0
    meta = result.asset_materializations_for_node("fact_911_calls")[0].metadata
    assert meta["postgis"].value is True

    before = table_fingerprints(warehouse)
    again = run_daily_job(settings, instance=instance)
    assert again.success
    assert table_fingerprints(warehouse) == before
    runs = instance.get_runs(filters=dg.RunsFilter(job_name=DAILY_JOB_NAME))
    assert len(runs) == 2 and all(r.status == dg.DagsterRunStatus.SUCCESS for r in runs)
