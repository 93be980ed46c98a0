"""`materialize` of the event-impact assets on the generated sample against the real lake
folder and PostgreSQL, and the planner on what they stored."""

import json

import pandas as pd
import pytest

from safebeat_assets.analytics.event_impact import (
    IMPACT_MODEL_COLUMNS,
    SUMMARY_ATTR,
    model_from_output,
)
from safebeat_assets.analytics.planner import PlanRequest, plan_event
from safebeat_assets.defs.ml import MODEL_SUMMARY
from safebeat_assets.storage.tables import CALL_BASELINE_RATES, DIM_EVENT, DIM_GEO
from safebeat_assets.storage.tables import EVENT_RISK_SCORES as EVENT_RISK_TABLE
from safebeat_assets.storage.warehouse import Warehouse
from safebeat_assets_tests.helpers import check_results, lake_frame, materialize_subset, row_counts


def test_summary_attribute_is_the_models_one():
    assert SUMMARY_ATTR == MODEL_SUMMARY


def test_event_impact_assets_materialize_and_serve_the_planner(local_settings, warehouse_url):
    result = materialize_subset(local_settings, "*event_impact_model *event_risk_scores")
    assert result.success, result.all_events
    counts = row_counts(result)
    warehouse = Warehouse(warehouse_url, local_settings.warehouse_schema)

    # call_baseline_rates: in the warehouse, keyed and checked.
    rates = warehouse.read_table(CALL_BASELINE_RATES)
    assert len(rates) == counts["call_baseline_rates"] > 0
    assert rates["calls_per_day"].gt(0).all() and rates["comparable_days"].ge(1).all()
    meta = result.asset_materializations_for_node("call_baseline_rates")[0].metadata
    assert meta["linked_days_outside_the_link_rule"].value == 0
    assert meta["primary_key"].value == "geo_id, day_of_week_index, hour"

    # event_impact_model: rows in the models bucket, the model in the file's attributes.
    frame = lake_frame(local_settings, "models", "event_impact_model")
    assert list(frame.columns) == IMPACT_MODEL_COLUMNS
    assert len(frame) == counts["event_impact_model"] > 0
    summary = frame.attrs[MODEL_SUMMARY]
    json.dumps(summary, allow_nan=False)
    model = model_from_output(frame)
    assert model.link_radius_km == local_settings.link_radius_km
    meta = result.asset_materializations_for_node("event_impact_model")[0].metadata
    assert meta["model"].value == summary["model"]
    assert meta["event_days"].value == len(frame)
    if not summary["is_fallback"]:
        assert "has_alcohol" in meta["coefficients"].value
        assert meta["backtest_rows"].value == (frame["split"] == "backtest").sum() > 0

    checks = check_results(result)
    for name in (
        "baseline_rates_unique_per_block_group_weekday_hour",
        "baseline_rates_are_positive_means_on_the_clock",
        "event_impact_model_is_finite_and_backtested",
    ):
        assert checks[name], name
    assert "event_impact_model_not_worse_than_naive" in checks

    # The planner on the stored tables reproduces a stored one-day event-day.
    geo = warehouse.read_table(DIM_GEO, ["geo_id", "latitude_centroid", "longitude_centroid"])
    events = warehouse.read_table(DIM_EVENT).set_index("event_id")
    reference = warehouse.read_table(EVENT_RISK_TABLE)
    one_day = events[events["start_date"] == events["end_date"]]
    row = frame[frame["event_id"].isin(one_day.index)].iloc[0]
    event = one_day.loc[row["event_id"]]
    plan = plan_event(
        PlanRequest(
            date=row["date"].date(),
            start_hour=0,
            end_hour=24,
            tier=int(row["tier"]),
            latitude=float(event["event_lat"]),
            longitude=float(event["event_lon"]),
            has_alcohol=bool(row["has_alcohol"]),
            has_amplified_sound=bool(row["has_amplified_sound"]),
            has_road_closure=bool(row["has_road_closure"]),
        ),
        model,
        rates,
        geo,
        reference,
    )
    assert plan.expected_calls == pytest.approx(row["predicted_calls"], rel=1e-9)
    assert plan.baseline_calls == pytest.approx(row["baseline_calls"], rel=1e-9)
    assert 0 <= plan.risk_score <= 100


def test_rerun_writes_no_rows_and_keeps_the_data_versions(local_settings):
    selection = "*event_impact_model"
    first = materialize_subset(local_settings, selection)
    assert first.success
    second = materialize_subset(local_settings, selection)
    meta = second.asset_materializations_for_node("call_baseline_rates")[0].metadata
    assert (
        meta["rows_inserted"].value == meta["rows_updated"].value == meta["rows_deleted"].value == 0
    )

    def version(result, asset: str) -> str:
        [event] = [
            e
            for e in result.get_asset_materialization_events()
            if e.asset_key.to_user_string() == asset
        ]
        return event.step_materialization_data.materialization.tags["dagster/data_version"]

    for asset in ("call_baseline_rates", "event_impact_model"):
        assert version(first, asset) == version(second, asset), asset


def test_lake_frame_of_a_model_keeps_dtypes(local_settings):
    assert materialize_subset(local_settings, "*event_impact_model").success
    frame = lake_frame(local_settings, "models", "event_impact_model")
    assert frame["date"].dtype == "datetime64[ns]"
    assert isinstance(frame["expected_attendance"].dtype, pd.Int64Dtype)
    assert set(frame["split"]) <= {"train", "backtest"}
