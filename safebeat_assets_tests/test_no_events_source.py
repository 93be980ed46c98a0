"""A city without a special-event permit feed (issue 14): its profile's `event_permits` false
(hence `PipelineSettings.events_source`) and no events folder in the landing zone. The whole graph runs; the event assets hold no rows
and say "no events source", the call side is built as for any city."""

import json
from dataclasses import replace

import pytest

from safebeat_assets import asset_names as names
from safebeat_assets.domain import NO_EVENTS_SOURCE, NO_EVENTS_SOURCE_TEXT
from safebeat_assets.sources import empty_ace_events
from safebeat_assets.storage.warehouse import Warehouse
from safebeat_assets_tests.helpers import (
    ASSET_GROUPS,
    REPORT_DATE,
    check_results,
    lake_frame,
    landing_without_events,
    materialize_subset,
    no_events_city,
    row_counts,
    run_daily_job,
)

EVENT_ASSETS = {
    names.RAW_EVENTS,
    names.CLEANED_EVENTS,
    names.DIM_EVENT,
    names.FACT_EVENT_INCIDENTS,
    names.EVENT_RISK_SCORES,
    names.EVENT_IMPACT_MODEL,
}
# The event assets whose metadata say why they hold nothing.
SAY_NO_SOURCE = (
    names.RAW_EVENTS,
    names.DIM_EVENT,
    names.FACT_EVENT_INCIDENTS,
    names.EVENT_RISK_SCORES,
    names.EVENT_IMPACT_MODEL,
)
# The event checks with nothing to judge: they pass and say why.
NO_SOURCE_CHECKS = (
    "dim_event_has_events",
    "risk_scores_not_all_zero",
    "high_risk_events_within_limit",
)


@pytest.fixture
def no_events_settings(local_settings, sample_landing, tmp_path):
    landing = landing_without_events(sample_landing, tmp_path / "landing-without-events")
    return replace(no_events_city(local_settings), landing_dir=landing)


def test_raw_events_without_a_source_is_an_empty_read(no_events_settings):
    result = materialize_subset(no_events_settings, "raw_events")
    assert result.success, [e.message for e in result.all_events if e.is_failure]
    meta = result.asset_materializations_for_node(names.RAW_EVENTS)[0].metadata
    assert meta["events_source"].value == NO_EVENTS_SOURCE
    assert meta["note"].value == NO_EVENTS_SOURCE_TEXT
    assert meta["dagster/row_count"].value == 0
    stored = lake_frame(no_events_settings, "raw-data", names.RAW_EVENTS)
    assert stored.empty and list(stored.columns) == list(empty_ace_events().columns)


@pytest.mark.e2e
def test_daily_run_without_an_events_source(no_events_settings, warehouse_url):
    settings = no_events_settings
    assert not (settings.landing_dir / "events").exists()

    result = run_daily_job(settings)
    assert result.success, [e.message for e in result.all_events if e.is_failure]

    counts = row_counts(result)
    assert set(counts) == set(ASSET_GROUPS)
    assert {asset: counts[asset] for asset in EVENT_ASSETS} == dict.fromkeys(EVENT_ASSETS, 0)
    # The call side is built as for a city with events.
    for asset in (
        names.FACT_CALLS,
        names.ZONE_CLUSTERS,
        names.ASSOCIATION_RULES,
        names.CALL_FORECAST,
        names.CALL_BASELINE_RATES,
        names.CALL_HOT_SPOTS,
    ):
        assert counts[asset] > 0, asset
    for asset in SAY_NO_SOURCE:
        meta = result.asset_materializations_for_node(asset)[0].metadata
        assert meta["events_source"].value == NO_EVENTS_SOURCE, asset
        assert meta["note"].value == NO_EVENTS_SOURCE_TEXT, asset

    evaluations = {e.check_name: e for e in result.get_asset_check_evaluations()}
    failed = {name for name, passed in check_results(result).items() if not passed}
    assert failed == {"warehouse_holds_enough_calls"}  # the small sample's DATA_VOLUME alert
    for name in NO_SOURCE_CHECKS:
        metadata = evaluations[name].metadata
        assert metadata["note"].value == NO_EVENTS_SOURCE_TEXT, name

    warehouse = Warehouse(warehouse_url, settings.warehouse_schema)
    for table in (names.DIM_EVENT, names.FACT_EVENT_INCIDENTS, names.EVENT_RISK_SCORES):
        assert warehouse.fetch_one("SELECT count(*) FROM {t}", t=table)[0] == 0, table
    assert warehouse.fetch_one("SELECT count(*) FROM {t}", t=names.FACT_CALLS)[0] > 0

    daily = settings.lake_dir / "reports" / "daily"
    report = json.loads((daily / f"{REPORT_DATE}_report.json").read_text())
    assert report["report_metadata"]["status"] == "SUCCESS"
    assert report["data_processing"]["events_source"] == NO_EVENTS_SOURCE
    assert report["data_processing"]["events_note"] == NO_EVENTS_SOURCE_TEXT
    assert report["ml_models"]["zones_clustered"] == counts[names.ZONE_CLUSTERS]
    assert report["database_stats"]["calls_in_warehouse"] == counts[names.FACT_CALLS]
    # No events is what this city has, not a broken linkage: no RISK_ALL_ZERO alert.
    assert [a["type"] for a in report["alerts"]] == ["DATA_VOLUME"]
    html = (daily / f"{REPORT_DATE}_report.html").read_text(encoding="utf-8")
    assert NO_EVENTS_SOURCE_TEXT in html
    assert "No event has linked calls" not in html
