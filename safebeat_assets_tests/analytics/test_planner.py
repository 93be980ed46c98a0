"""The event planner: validation, the equality with the model for a known event-day, Formula A
with the historical maxima, staffing, and the downloads."""

import json
import math
from dataclasses import replace
from datetime import date, datetime, timedelta

import numpy as np
import pandas as pd
import pytest

from safebeat_assets.analytics import event_impact as ei
from safebeat_assets.analytics.planner import (
    DEFAULT_TARGET_UTILISATION,
    MAX_DAYS_AHEAD,
    Plan,
    PlanInputError,
    PlanRequest,
    plan_event,
    supported_dates,
    validate_request,
)
from safebeat_assets.analytics.risk import FORMULA_A_INPUTS, formula_a, score_event_risk
from safebeat_assets_tests.synthetic_events import fitted, synthetic_history


@pytest.fixture(scope="module")
def setting():
    history = synthetic_history()
    rates, result = fitted(history)
    reference = score_event_risk(history.links, history.events, radius_km=1.5)
    return history, rates, result, reference


def request_for(history, row, **changes) -> PlanRequest:
    """The planner request describing a historical event-day, all 24 hours."""
    event = history.events.set_index("event_id").loc[row.event_id]
    request = PlanRequest(
        date=row.date.date(),
        start_hour=0,
        end_hour=24,
        tier=int(row.tier),
        latitude=float(event["event_lat"]),
        longitude=float(event["event_lon"]),
        has_alcohol=bool(row.has_alcohol),
        has_amplified_sound=bool(row.has_amplified_sound),
        has_road_closure=bool(row.has_road_closure),
        name=row.event_name,
    )
    return replace(request, **changes)


def formula_a_of(plan: Plan, reference: pd.DataFrame) -> pd.Series:
    """Formula A applied by hand to the planner's numbers with the historical aggregates."""
    planned = pd.DataFrame(
        [
            {
                "incident_count": plan.expected_calls,
                **{f"p{p}_count": plan.priority_mix[f"P{p}"] for p in range(4)},
                "avg_distance_km": plan.avg_distance_km,
                "has_alcohol": plan.request.has_alcohol,
            }
        ]
    )
    both = pd.concat([reference[list(FORMULA_A_INPUTS)], planned], ignore_index=True)
    return formula_a(both, radius_km=1.5).iloc[-1]


# --- a known historical event-day ----------------------------------------------------------------


@pytest.mark.parametrize("pick", ["alcohol", "no_alcohol", "backtest"])
def test_known_one_day_event_gets_the_models_prediction(setting, pick):
    history, rates, result, reference = setting
    frame = result.frame
    rows = {
        "alcohol": frame[frame["has_alcohol"]],
        "no_alcohol": frame[~frame["has_alcohol"]],
        "backtest": frame[frame["split"] == "backtest"],
    }[pick]
    row = rows.iloc[len(rows) // 2]
    plan = plan_event(request_for(history, row), result.model, rates, history.geo, reference)
    assert plan.expected_calls == pytest.approx(row.predicted_calls, rel=1e-9)
    assert plan.day_expected_calls == pytest.approx(row.predicted_calls, rel=1e-9)
    assert plan.baseline_calls == pytest.approx(row.baseline_calls, rel=1e-9)
    assert plan.uplift_calls == pytest.approx(row.predicted_calls - row.baseline_calls)
    assert plan.uplift_pct == pytest.approx(100 * plan.uplift_calls / plan.baseline_calls)
    # The risk score is Formula A on the planner's numbers with every historical event's.
    by_hand = formula_a_of(plan, reference)
    assert plan.risk_score == pytest.approx(by_hand["risk_score"], rel=1e-12)
    assert plan.incident_score == pytest.approx(by_hand["incident_score"], rel=1e-12)
    assert plan.priority_score == pytest.approx(by_hand["priority_score"], rel=1e-12)
    assert plan.risk_category == by_hand["risk_category"]


def test_historical_aggregates_reproduce_the_pipelines_scores(setting):
    _, _, _, reference = setting
    again = formula_a(reference[list(FORMULA_A_INPUTS)], radius_km=1.5)
    np.testing.assert_array_equal(again["risk_score"], reference["risk_score"])
    assert again["risk_category"].tolist() == reference["risk_category"].tolist()


def test_planned_event_bigger_than_all_history_sets_the_maxima(setting):
    history, rates, result, reference = setting
    row = result.frame[result.frame["has_alcohol"]].iloc[0]
    huge = replace(result.model, intercept=result.model.intercept + 5.0)  # ~150x the calls
    plan = plan_event(request_for(history, row), huge, rates, history.geo, reference)
    assert plan.incident_score == pytest.approx(100.0)
    assert plan.priority_score == pytest.approx(100.0)
    assert plan.risk_score == pytest.approx(min(100.0, formula_a_of(plan, reference)["risk_score"]))


def test_without_a_reference_the_event_is_scored_alone(setting):
    history, rates, result, _ = setting
    row = result.frame.iloc[0]
    plan = plan_event(request_for(history, row), result.model, rates, history.geo, None)
    assert plan.incident_score == pytest.approx(100.0)
    assert plan.priority_score == pytest.approx(100.0)


# --- hours, mixes, distance, staffing ------------------------------------------------------------


def test_part_of_the_day(setting):
    history, rates, result, reference = setting
    row = result.frame.iloc[10]
    full = plan_event(request_for(history, row), result.model, rates, history.geo, reference)
    evening = plan_event(
        request_for(history, row, start_hour=18, end_hour=22),
        result.model,
        rates,
        history.geo,
        reference,
    )
    assert evening.hours == 4 and list(evening.hourly_expected) == [18, 19, 20, 21]
    assert evening.day_expected_calls == pytest.approx(full.expected_calls)
    assert evening.expected_calls == pytest.approx(sum(evening.hourly_expected.values()))
    assert 0 < evening.expected_calls < full.expected_calls
    # The baseline is the rates of the block groups within the radius for those hours.
    near = ei.geos_within_radius(history.geo, evening.latitude, evening.longitude, 1.5)
    table = ei.RateTable.from_frame(rates)
    by_hour = table.by_hour(near["geo_id"], row.date.dayofweek).sum(axis=0)
    assert evening.baseline_calls == pytest.approx(by_hour[18:22].sum())
    assert evening.hourly_baseline == pytest.approx({h: by_hour[h] for h in range(18, 22)})
    # The whole day's hours add up to the day.
    assert sum(full.hourly_expected.values()) == pytest.approx(full.expected_calls)


def test_mixes_distance_and_staffing(setting):
    history, rates, result, reference = setting
    row = result.frame.iloc[5]
    plan = plan_event(
        request_for(history, row, start_hour=12, end_hour=18),
        result.model,
        rates,
        history.geo,
        reference,
    )
    assert sum(plan.priority_mix.values()) == pytest.approx(plan.expected_calls)
    assert sum(plan.category_mix.values()) == pytest.approx(plan.expected_calls)
    shares = result.summary["mixes"]["priority_shares"]["by_tier"][str(int(row.tier))]
    assert plan.priority_mix["P2"] == pytest.approx(plan.expected_calls * shares["P2"])
    near = ei.geos_within_radius(history.geo, plan.latitude, plan.longitude, 1.5)
    assert min(near["distance_km"]) <= plan.avg_distance_km <= max(near["distance_km"])
    unit_hours = result.summary["unit_time_on_scene_s"] / 3600
    assert plan.calls_per_hour == pytest.approx(plan.expected_calls / 6)
    assert plan.units_suggested == math.ceil(
        plan.calls_per_hour * unit_hours / DEFAULT_TARGET_UTILISATION
    )
    assert plan.units_at_peak_hour == math.ceil(
        plan.peak_hour_calls * unit_hours / DEFAULT_TARGET_UTILISATION
    )
    assert plan.peak_hour_calls == pytest.approx(max(plan.hourly_expected.values()))
    relaxed = plan_event(
        request_for(history, row, start_hour=12, end_hour=18),
        result.model,
        rates,
        history.geo,
        reference,
        target_utilisation=1.0,
    )
    assert relaxed.units_suggested == math.ceil(plan.calls_per_hour * unit_hours)


def test_block_group_location_is_its_internal_point(setting):
    history, rates, result, reference = setting
    row = result.frame.iloc[3]
    geo_id = history.geo["geo_id"].iloc[4]
    point = history.geo.set_index("geo_id").loc[geo_id]
    by_id = plan_event(
        request_for(history, row, latitude=None, longitude=None, geo_id=geo_id),
        result.model,
        rates,
        history.geo,
        reference,
    )
    by_point = plan_event(
        request_for(
            history,
            row,
            latitude=point["latitude_centroid"],
            longitude=point["longitude_centroid"],
        ),
        result.model,
        rates,
        history.geo,
        reference,
    )
    assert by_id.expected_calls == pytest.approx(by_point.expected_calls)
    assert by_id.block_groups[0] == geo_id
    assert any(f"block group {geo_id}" in a for a in by_id.assumptions)


def test_a_datetime_plans_its_date(setting):
    history, rates, result, reference = setting
    row = result.frame.iloc[7]
    plan = plan_event(
        request_for(history, row, date=datetime.combine(row.date.date(), datetime.min.time())),
        result.model,
        rates,
        history.geo,
        reference,
    )
    assert plan.request.date == row.date.date()
    assert plan.expected_calls == pytest.approx(row.predicted_calls)


# --- validation ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"date": date(2023, 12, 31)}, "before the call history, which starts on 2024-01-01"),
        ({"date": "far"}, "date must be a calendar date"),
        ({"start_hour": 20, "end_hour": 20}, "end hour 20 must be after start hour 20"),
        ({"start_hour": 22, "end_hour": 2}, "must be after start hour 22"),
        ({"start_hour": -1}, "start hour -1 must be between 0 and 23"),
        ({"end_hour": 25}, "end hour 25 must be between 1 and 24"),
        ({"start_hour": 1.5}, "hours must be whole hours"),
        ({"tier": 9}, "tier 9 is not a tier of the historical events (known tiers: 3, 4)"),
        ({"expected_attendance": -5}, "expected attendance must be a non-negative whole number"),
        ({"latitude": 45.0, "longitude": -100.0}, "outside the covered geography"),
        ({"latitude": 30.0, "longitude": None}, "give both latitude and longitude"),
        ({"latitude": 95.0, "longitude": -97.8}, "is not a coordinate"),
        ({"geo_id": "484530000000"}, "not both"),
        (
            {"latitude": None, "longitude": None, "geo_id": "999"},
            "block group '999' is not in dim_geo",
        ),
        ({"latitude": None, "longitude": None}, "give a location"),
    ],
)
def test_invalid_requests_say_why(setting, changes, message):
    history, rates, result, reference = setting
    request = request_for(history, result.frame.iloc[0], **changes)
    with pytest.raises(PlanInputError) as error:
        plan_event(request, result.model, rates, history.geo, reference)
    assert message in str(error.value)


def test_supported_dates_reach_a_year_past_the_history(setting):
    history, rates, result, reference = setting
    first, last = supported_dates(result.model)
    assert first == result.model.history_start
    assert last == result.model.history_end + timedelta(days=MAX_DAYS_AHEAD)
    row = result.frame.iloc[0]
    validate_request(request_for(history, row, date=last), result.model, history.geo)
    with pytest.raises(PlanInputError, match=f"more than {MAX_DAYS_AHEAD} days after"):
        validate_request(
            request_for(history, row, date=last + timedelta(days=1)), result.model, history.geo
        )
    with pytest.raises(PlanInputError, match="target utilisation"):
        plan_event(
            request_for(history, row),
            result.model,
            rates,
            history.geo,
            reference,
            target_utilisation=0,
        )


# --- downloads and the fallback ------------------------------------------------------------------


def test_markdown_and_json_carry_the_numbers_and_assumptions(setting):
    history, rates, result, reference = setting
    row = result.frame.iloc[2]
    plan = plan_event(
        request_for(history, row, start_hour=18, end_hour=23, expected_attendance=2_000),
        result.model,
        rates,
        history.geo,
        reference,
    )
    assert len(plan.assumptions) >= 8
    text = plan.to_markdown()
    data = json.loads(plan.to_json())
    assert data["assumptions"] == list(plan.assumptions)
    for assumption in plan.assumptions:
        assert assumption in text
    assert data["expected_calls"] == pytest.approx(plan.expected_calls)
    assert data["request"]["date"] == row.date.date().isoformat()
    assert set(data["hourly_expected"]) == {"18", "19", "20", "21", "22"}
    assert f"{plan.expected_calls:.1f}" in text and plan.risk_category in text
    joined = " ".join(plan.assumptions)
    for source in ("call_baseline_rates", "event_impact_model", "event_risk_scores"):
        assert source in joined
    assert "Expected attendance was not used" in joined
    assert "Poisson" in joined and "backtest" in joined


def test_naive_fallback_is_stated_in_the_plan():
    history = synthetic_history(events=20, days=120, seed=5)
    rates, result = fitted(history)
    row = result.frame.iloc[0]
    plan = plan_event(request_for(history, row), result.model, rates, history.geo, None)
    assert plan.is_fallback and plan.model == ei.NAIVE
    assert plan.expected_calls == pytest.approx(row.predicted_calls)
    assert any("naive model" in a and "< 30" in a for a in plan.assumptions)
