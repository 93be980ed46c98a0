"""Each built-in city other than Austin end to end on its generated data: the export in its
published layout is read through its adapter, calls are placed in block groups by their
coordinates, and the whole graph runs with no events source."""

from __future__ import annotations

import json
from dataclasses import replace

import pandas as pd
import pytest

from safebeat_assets.domain import NO_EVENTS_SOURCE, NO_EVENTS_SOURCE_TEXT
from safebeat_assets.sample.cities import CITY_LAYOUTS, build_city_sample, write_city_sample
from safebeat_assets.settings import ENV_WAREHOUSE_URL, load_settings
from safebeat_assets.sources.adapters import builtin_adapter
from safebeat_assets.storage.tables import FACT_911_CALLS
from safebeat_assets.storage.warehouse import Warehouse
from safebeat_assets_tests.conftest import SAMPLE_END, SAMPLE_START
from safebeat_assets_tests.helpers import REPORT_DATE, check_results, row_counts, run_daily_job

CITY_CALLS = 6_000


def _metadata(result, asset: str) -> dict:
    events = [
        e.step_materialization_data.materialization
        for e in result.get_asset_materialization_events()
        if e.step_materialization_data.materialization.asset_key.to_user_string() == asset
    ]
    return {k: getattr(v, "value", v) for k, v in events[-1].metadata.items()}


@pytest.mark.e2e
@pytest.mark.parametrize("city", sorted(CITY_LAYOUTS))
def test_city_runs_end_to_end(city, tmp_path, warehouse_url, warehouse_schema, monkeypatch):
    landing = tmp_path / "landing"
    sample = build_city_sample(city, CITY_CALLS, seed=11, start=SAMPLE_START, end=SAMPLE_END)
    write_city_sample(sample, city, landing, SAMPLE_START, SAMPLE_END)
    monkeypatch.setenv(ENV_WAREHOUSE_URL, warehouse_url)
    settings = replace(
        load_settings({"SAFEBEAT_CITY": city, "SAFEBEAT_PARTITION_START": SAMPLE_START[:7]}),
        data_dir=tmp_path / "data",
        landing_dir=landing,
        warehouse_url_env=ENV_WAREHOUSE_URL,
        warehouse_schema=warehouse_schema,
    )
    result = run_daily_job(settings)
    assert result.success, [e.message for e in result.all_events if e.is_failure]

    raw = _metadata(result, "raw_911_calls")
    assert raw["city"] == city
    assert set(raw["adapters"].values()) == {city}
    assert raw["translation_counts"]["incident_id_hashed"] == CITY_CALLS
    assert raw["call_rows"] == CITY_CALLS

    enriched = _metadata(result, "enriched_911_calls")
    located = enriched["calls_located_by_coordinates"]
    assert located["location_matched"] == enriched["geo_matched"]
    assert enriched["geo_match_rate"] > 0.99
    counts = row_counts(result)
    assert counts["dim_geo"] == CITY_LAYOUTS[city].county.n_block_groups
    assert counts["zone_clusters"] >= 100
    assert counts["call_forecast"] >= 7
    assert check_results(result)["no_duplicate_calls"]

    warehouse = Warehouse(warehouse_url, warehouse_schema, time_zone=settings.city.time_zone)
    facts = warehouse.read_table(FACT_911_CALLS)
    assert len(facts) == counts["fact_911_calls"] > 0.99 * CITY_CALLS
    assert str(facts["response_datetime"].dt.tz) == settings.city.time_zone
    state = settings.county_fips[0][:2]
    assert facts["geo_id"].dropna().str.startswith(state).all()
    # Local hours survive the round trip through UTC: the export's wall clock, in its zone.
    when = builtin_adapter(city).fields.call_datetime
    exported = pd.to_datetime(sample.calls[when.column], format=when.formats[0], errors="coerce")
    hours = exported.dropna().dt.hour.value_counts().sort_index()
    stored = facts["response_hour"].value_counts().sort_index()
    # Same hour histogram up to the few quarantined, duplicate or dropped rows.
    assert (
        hours.reindex(range(24), fill_value=0) - stored.reindex(range(24), fill_value=0)
    ).abs().max() <= 20

    # No permit feed: the event side is empty and says so; nothing failed for it.
    for asset in ("raw_events", "dim_event", "fact_event_incidents", "event_risk_scores"):
        assert counts[asset] == 0, asset
    report_dir = settings.lake_dir / "reports" / "daily"
    report = json.loads((report_dir / f"{REPORT_DATE}_report.json").read_text())
    assert report["report_metadata"]["city"] == settings.city.title
    assert report["report_metadata"]["city_name"] == city
    assert report["data_processing"]["events_source"] == NO_EVENTS_SOURCE
    # Every part was built; the small sample's data-volume alert is the only one.
    assert report["report_metadata"]["status"] == "SUCCESS"
    assert [a["type"] for a in report["alerts"]] == ["DATA_VOLUME"]
    html = (report_dir / f"{REPORT_DATE}_report.html").read_text()
    assert settings.city.title in html and NO_EVENTS_SOURCE_TEXT in html
