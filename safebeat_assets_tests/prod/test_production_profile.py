"""The whole graph in the production profile: Dagster instance on Postgres, lake and landing in
S3 buckets (moto on loopback), warehouse in PostGIS. A second run leaves identical tables."""

import time
import uuid

import dagster as dg
import pytest

from safebeat_assets.defs.schedules import DAILY_JOB_NAME
from safebeat_assets.settings import load_settings
from safebeat_assets.storage.object_store import LAKE_BUCKETS
from safebeat_assets.storage.warehouse import Warehouse
from safebeat_assets_tests.helpers import (
    REPORT_DATE,
    S3_KEY,
    row_counts,
    run_daily_job,
    table_fingerprints,
)

SOURCES = ("calls", "events", "block_groups")


@pytest.fixture
def prod_environment(
    monkeypatch, tmp_path, warehouse_url, s3_endpoint, dagster_metadata_db, dagster_home
) -> dict[str, str]:
    schema = f"prod_{uuid.uuid4().hex[:10]}"
    env = {
        "SAFEBEAT_ENV": "prod",
        "SAFEBEAT_WAREHOUSE_URL": warehouse_url,
        "SAFEBEAT_WAREHOUSE_SCHEMA": schema,
        "SAFEBEAT_S3_ENDPOINT_URL": s3_endpoint,
        "SAFEBEAT_S3_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": S3_KEY,
        "AWS_SECRET_ACCESS_KEY": S3_KEY,
        "SAFEBEAT_DATA_DIR": str(tmp_path / "scratch"),
        "DAGSTER_HOME": str(dagster_home),
        **dagster_metadata_db,
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    yield env
    Warehouse(warehouse_url, schema).drop_schema()


def upload_landing(s3_client, sample_landing) -> None:
    s3_client.create_bucket(Bucket="raw-data")  # as the compose minio-init job does
    for source in SOURCES:
        for path in sorted((sample_landing / source).iterdir()):
            s3_client.upload_file(str(path), "raw-data", f"landing/{source}/{path.name}")


def bucket_keys(s3_client) -> dict[str, set[str]]:
    return {
        bucket: {o["Key"] for o in s3_client.list_objects_v2(Bucket=bucket).get("Contents", [])}
        for bucket in LAKE_BUCKETS
    }


@pytest.mark.e2e
def test_production_profile_end_to_end(prod_environment, s3_client, sample_landing, warehouse):
    warehouse = Warehouse(
        prod_environment["SAFEBEAT_WAREHOUSE_URL"], prod_environment["SAFEBEAT_WAREHOUSE_SCHEMA"]
    )
    if not warehouse.postgis:
        pytest.skip(
            "PostGIS is not installed on the test server (CI installs postgresql-15-postgis-3)"
        )
    upload_landing(s3_client, sample_landing)
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
