"""The whole graph on generated data: row counts, keys, report contents, idempotent re-run."""

import json
from dataclasses import replace

import pytest

from safebeat_assets.contracts import column_descriptions
from safebeat_assets.settings import RAW_BUCKET
from safebeat_assets.storage.warehouse import Warehouse
from safebeat_assets_tests.helpers import (
    ASSET_GROUPS,
    REPORT_DATE,
    check_results,
    lake_frame,
    row_counts,
    run_daily_job,
    table_fingerprints,
)


@pytest.mark.e2e
def test_daily_job_end_to_end(local_settings, warehouse_url):
    result = run_daily_job(local_settings)
    assert result.success, [e.message for e in result.all_events if e.is_failure]

    counts = row_counts(result)
    assert set(counts) == set(ASSET_GROUPS)
    # Every column of every stored dataset is described in the UI (Columns panel).
    for event in result.get_asset_materialization_events():
        materialization = event.step_materialization_data.materialization
        asset = materialization.asset_key.to_user_string()
        schema = materialization.metadata["dagster/column_schema"].value
        described = column_descriptions(asset)
        undescribed = [c.name for c in schema.columns if not c.description]
        assert not undescribed, (asset, undescribed)
        assert {c.name: c.description for c in schema.columns}.items() <= described.items()
    enriched = lake_frame(local_settings, "cleaned-data", "enriched_911_calls")
    assert counts["fact_911_calls"] == len(enriched)
    assert counts["fact_event_incidents"] > 0
    assert counts["association_rules"] > 0
    assert counts["zone_clusters"] >= 100
    assert counts["call_forecast"] >= 7

    warehouse = Warehouse(warehouse_url, local_settings.warehouse_schema)
    orphans = warehouse.fetch_one(
        "SELECT count(*) FROM {l} l LEFT JOIN {f} f USING (incident_number, response_datetime) "
        "WHERE f.incident_number IS NULL",
        l="fact_event_incidents",
        f="fact_911_calls",
    )[0]
    assert orphans == 0
    scored, linked = warehouse.fetch_one(
        "SELECT (SELECT count(*) FROM {r}), (SELECT count(DISTINCT event_id) FROM {l})",
        r="event_risk_scores",
        l="fact_event_incidents",
    )
    assert scored == linked > 0

    checks = check_results(result)
    assert all(
        checks[name]
        for name in (
            "no_duplicate_calls",
            "enough_calls_for_rules",
            "enough_geolocated_calls_for_zones",
            "enough_days_for_forecast",
            "no_duplicate_event_links",
            "links_within_event_dates",
            "risk_scores_between_0_and_100",
            "rules_meet_thresholds",
            "forecast_non_negative",
        )
    )
    assert checks["warehouse_holds_enough_calls"] is False  # small sample: the DATA_VOLUME alert

    report_dir = local_settings.lake_dir / "reports"
    report = json.loads((report_dir / "daily" / f"{REPORT_DATE}_report.json").read_text())
    # Alerts describe the data; every part was built, so the pipeline's status is SUCCESS.
    assert report["report_metadata"]["status"] == "SUCCESS"
    assert report["report_metadata"]["run_id"] == result.run_id  # the daily run it reports
    assert report["database_stats"]["calls_in_warehouse"] == counts["fact_911_calls"]
    # raw_911_calls stores the export's manifest: rows per (file, month).
    raw = lake_frame(local_settings, RAW_BUCKET, "raw_911_calls")
    assert len(raw) == counts["raw_911_calls"] and raw["rows"].sum() > len(raw)
    assert report["data_processing"]["calls_processed"] == raw["rows"].sum()
    assert report["ml_models"]["rules_discovered"] == counts["association_rules"]
    assert report["ml_models"]["zones_clustered"] == counts["zone_clusters"]
    assert sum(report["ml_models"]["risk_distribution"].values()) == scored
    assert [a["type"] for a in report["alerts"]] == ["DATA_VOLUME"]
    assert {c["name"] for c in report["checks"]} >= {"no_duplicate_calls", "forecast_generated"}
    assert all(c["this_run"] for c in report["checks"])
    html = (report_dir / "daily" / f"{REPORT_DATE}_report.html").read_text(encoding="utf-8")
    assert "DATA_VOLUME" in html and result.run_id in html
    alerts = json.loads((report_dir / "alerts" / f"{REPORT_DATE}_alerts.json").read_text())
    assert alerts["total_alerts"] == 1

    before = table_fingerprints(warehouse)
    again = run_daily_job(local_settings)
    assert again.success
    assert table_fingerprints(warehouse) == before
    for node in (
        "dim_geo",
        "dim_event",
        "fact_911_calls",
        "fact_event_incidents",
        "event_risk_scores",
    ):
        meta = again.asset_materializations_for_node(node)[0].metadata
        assert (
            meta["rows_inserted"].value + meta["rows_updated"].value + meta["rows_deleted"].value
            == 0
        ), node


@pytest.mark.e2e
def test_prechecks_skip_only_their_own_model_on_insufficient_data(local_settings, tmp_path):
    from safebeat_assets.sample import generate_sample

    landing = tmp_path / "tiny-landing"
    generate_sample(landing, n_calls=400, seed=3, start="2025-03-01", end="2025-03-10")
    result = run_daily_job(replace(local_settings, landing_dir=landing))
    checks = check_results(result)
    assert checks["enough_calls_for_rules"] is False
    assert checks["enough_days_for_forecast"] is False
    materialized = set(row_counts(result))
    # Links and risk scores never wait on a model's pre-check; the report is still written.
    assert {"fact_911_calls", "fact_event_incidents", "event_risk_scores", "daily_report"} <= (
        materialized
    )
    assert not materialized & {"association_rules", "call_forecast"}
    # The models' steps ran, found too little data, and skipped their output: no step failed
    # but the guarded ones.
    failed = {e.step_key for e in result.all_events if e.is_step_failure}
    assert failed <= {"association_rules", "call_forecast"}
    assert result.report.status == "PARTIAL"
    report_json = local_settings.lake_dir / "reports" / "daily" / f"{REPORT_DATE}_report.json"
    parts = json.loads(report_json.read_text())["parts"]
    skipped = {p["part"] for p in parts if p["state"] == "skipped"}
    assert {"association rules", "forecast"} <= skipped
