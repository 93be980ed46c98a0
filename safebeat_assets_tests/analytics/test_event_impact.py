"""The event impact model: baseline rates without event days, the training frame, the Poisson
model with offset (a planted effect is recovered), the chronological backtest, the fallback."""

import json
import math
from dataclasses import replace
from datetime import UTC, date, datetime

import numpy as np
import pandas as pd
import pytest

from safebeat_assets.analytics import event_impact as ei
from safebeat_assets.transform.linkage import link_calls_to_events
from safebeat_assets_tests.synthetic_events import fitted, synthetic_history

GEO = pd.DataFrame(
    {
        "geo_id": ["484530000011", "484530000022", "484530000033"],
        "latitude_centroid": [30.0, 30.005, 30.5],  # the third is ~55 km away
        "longitude_centroid": [-97.8, -97.8, -97.8],
    }
)


def calls_at(rows: list[tuple[str, str, int]]) -> pd.DataFrame:
    """(geo_id, date, hour) per call."""
    frame = pd.DataFrame(rows, columns=["geo_id", "date", "hour"])
    return pd.DataFrame(
        {
            "geo_id": frame["geo_id"],
            "response_date": pd.to_datetime(frame["date"]),
            "response_hour": frame["hour"].astype("int64"),
        }
    )


def one_event(start: str, end: str, lat: float = 30.001, **extra) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "event_id": 7,
                "event_name": "Fest",
                "tier": 3,
                "start_date": pd.Timestamp(start),
                "end_date": pd.Timestamp(end),
                "has_alcohol": True,
                "has_amplified_sound": False,
                "has_road_closure": False,
                "event_lat": lat,
                "event_lon": -97.8,
                "has_valid_location": True,
                "expected_attendance": pd.NA,
                **extra,
            }
        ]
    )


@pytest.fixture(scope="module")
def history():
    return synthetic_history()


@pytest.fixture(scope="module")
def model_fit(history):
    return fitted(history)


# --- baseline rates ------------------------------------------------------------------------------


def test_baseline_excludes_event_days():
    # 2024-01-01 and 2024-01-08 are Mondays; the event runs on the 8th near the first two
    # block groups only.
    calls = calls_at(
        [("484530000011", "2024-01-01", 10)] * 3
        + [("484530000011", "2024-01-08", 10)] * 10  # event day: excluded
        + [("484530000011", "2024-01-08", 11)] * 4  # only on the event day: no row
        + [("484530000033", "2024-01-01", 10)] * 2
        + [("484530000033", "2024-01-08", 10)] * 6  # far from the event: counted
        + [("484530000022", "2024-01-14", 9)]  # a Sunday, to end the span
    )
    event_days = ei.event_geo_days(one_event("2024-01-08", "2024-01-08"), GEO, 1.5)
    rates = ei.baseline_rates(calls, event_days).set_index(["geo_id", "day_of_week_index", "hour"])
    assert list(rates.reset_index().columns) == ei.BASELINE_RATE_COLUMNS
    near = rates.loc[("484530000011", 0, 10)]
    assert near["comparable_days"] == 1 and near["calls_per_day"] == pytest.approx(3.0)
    assert ("484530000011", 0, 11) not in rates.index
    far = rates.loc[("484530000033", 0, 10)]
    assert far["comparable_days"] == 2 and far["calls_per_day"] == pytest.approx(4.0)
    sunday = rates.loc[("484530000022", 6, 9)]
    assert sunday["comparable_days"] == 2 and sunday["calls_per_day"] == pytest.approx(0.5)


def test_event_days_follow_the_link_rule():
    event = one_event("2024-01-08", "2024-01-09")
    days = ei.event_geo_days(event, GEO, 1.5)
    assert set(zip(days["geo_id"], days["date"].dt.strftime("%Y-%m-%d"), strict=True)) == {
        (g, d) for g in ("484530000011", "484530000022") for d in ("2024-01-08", "2024-01-09")
    }
    # An event without a valid location or with its end before its start has no event days.
    assert ei.event_geo_days(one_event("2024-01-08", "2024-01-07"), GEO, 1.5).empty
    assert ei.event_geo_days(one_event("2024-01-08", "2024-01-08", lat=None), GEO, 1.5).empty


def test_linked_geo_days_are_event_days(history):
    first, last = ei.history_range(history.calls)
    days = ei.event_geo_days(history.events, history.geo, 1.5, first, last)
    known = set(zip(days["geo_id"], days["date"], strict=True))
    linked = set(zip(history.links["geo_id"], history.links["call_date"], strict=True))
    assert linked and linked <= known


def test_baseline_rates_match_a_plain_groupby(history):
    calls = history.calls
    first, last = ei.history_range(calls)
    event_days = ei.event_geo_days(history.events, history.geo, 1.5, first, last)
    rates = ei.baseline_rates(calls, event_days)
    # The same numbers, the slow obvious way.
    key = pd.MultiIndex.from_frame(event_days[["geo_id", "date"]])
    on_event_day = pd.MultiIndex.from_arrays([calls["geo_id"], calls["response_date"]]).isin(key)
    ordinary = calls[~on_event_day]
    counts = ordinary.groupby(
        [ordinary["geo_id"], ordinary["response_date"].dt.dayofweek, ordinary["response_hour"]]
    ).size()
    all_days = pd.Series(pd.date_range(first, last, freq="D"))
    per_weekday = all_days.dt.dayofweek.value_counts()
    event_weekdays = event_days.groupby(["geo_id", event_days["date"].dt.dayofweek]).size()
    expected = {}
    for (geo_id, weekday, hour), n in counts.items():
        comparable = per_weekday[weekday] - event_weekdays.get((geo_id, weekday), 0)
        expected[(geo_id, weekday, hour)] = (n / comparable, comparable)
    got = {
        (r.geo_id, r.day_of_week_index, r.hour): (r.calls_per_day, r.comparable_days)
        for r in rates.itertuples()
    }
    assert got.keys() == expected.keys()
    for cell, (rate, comparable) in expected.items():
        assert got[cell][0] == pytest.approx(rate) and got[cell][1] == comparable, cell


# --- training frame ------------------------------------------------------------------------------


def test_training_frame_counts_links_and_sums_the_rate_table(history, model_fit):
    rates, result = model_fit
    frame = result.frame
    assert list(frame.columns) == ei.IMPACT_MODEL_COLUMNS
    assert len(frame) == len(history.events)  # one-day events, every one with a baseline
    linked = history.links.groupby(["event_id", "call_date"]).size()
    for row in frame.sample(20, random_state=1).itertuples():
        assert row.linked_calls == linked.get((row.event_id, row.date), 0)
        event = history.events.set_index("event_id").loc[row.event_id]
        near = ei.geos_within_radius(history.geo, event["event_lat"], event["event_lon"], 1.5)
        table = ei.RateTable.from_frame(rates)
        by_hour = table.by_hour(near["geo_id"], row.date.dayofweek)
        assert row.baseline_calls == pytest.approx(by_hour.sum())
        assert row.uplift == pytest.approx(row.linked_calls - row.baseline_calls)
    assert frame["date"].is_monotonic_increasing


# --- the model -----------------------------------------------------------------------------------


def test_planted_alcohol_uplift_is_recovered_and_beats_naive(model_fit):
    _, result = model_fit
    summary = result.summary
    assert summary["model"] == ei.POISSON and not summary["is_fallback"]
    coefficients = summary["coefficients"]
    assert coefficients["has_alcohol"] == pytest.approx(math.log(2.0), abs=0.12)
    assert summary["intercept"] + coefficients["has_road_closure"] * 0.7 == pytest.approx(
        math.log(1.2), abs=0.15
    )
    for no_effect in ("tier_4", "has_amplified_sound", "has_road_closure"):
        assert abs(coefficients[no_effect]) < 0.15, no_effect
    backtest = summary["backtest"]
    assert backtest["mae"] < backtest["naive_mae"]
    assert backtest["skill_vs_naive"] > 0.2
    # Attendance is never known: its features are dropped and named, not fitted.
    assert set(summary["dropped_features"]) == {"log1p_attendance", "attendance_missing"}


def test_fit_is_the_poisson_likelihood_with_offset_log_baseline(history):
    # Block groups with very different call volumes, so weighting by the baseline matters.
    calls = history.calls
    busy = calls["geo_id"].isin(history.geo["geo_id"].iloc[::4])
    history = replace(history, calls=pd.concat([calls, calls[busy], calls[busy]]))
    history.calls["incident_number"] = np.arange(len(history.calls)) + 100_000_000
    history = replace(
        history, links=link_calls_to_events(history.calls, history.events, radius_km=1.5)
    )
    _, result = fitted(history, alpha=0.0)
    summary, frame = result.summary, result.frame
    x = ei.encode_features(frame, result.model.known_tiers, result.model.reference_tier)
    x = np.column_stack([np.ones(len(frame)), x[summary["feature_names"]].to_numpy()])
    y = frame["linked_calls"].to_numpy(dtype="float64")
    offset = np.log(frame["baseline_calls"].to_numpy())
    beta = np.zeros(x.shape[1])
    for _ in range(50):  # Newton / IRLS on the Poisson log-likelihood with the offset
        mu = np.exp(x @ beta + offset)
        beta += np.linalg.solve(x.T @ (x * mu[:, None]), x.T @ (y - mu))
    fitted_beta = [summary["intercept"], *summary["coefficients"].values()]
    np.testing.assert_allclose(fitted_beta, beta, atol=1e-5)


def test_a_model_without_the_effect_finds_none():
    _, result = fitted(synthetic_history(alcohol_uplift=1.0, seed=11))
    assert abs(result.summary["coefficients"]["has_alcohol"]) < 0.12


def test_backtest_split_is_chronological(model_fit):
    _, result = model_fit
    frame, backtest = result.frame, result.summary["backtest"]
    train, test = frame[frame["split"] == "train"], frame[frame["split"] == "backtest"]
    assert train["date"].max() < test["date"].min()
    assert len(test) == backtest["rows"] and len(train) == backtest["train_rows"]
    assert 0.15 <= len(test) / len(frame) <= 0.25
    assert backtest["train_end"] == train["date"].max().date().isoformat()
    assert test["backtest_predicted_calls"].notna().all()
    assert train["backtest_predicted_calls"].isna().all()
    errors = (test["backtest_predicted_calls"] - test["linked_calls"]).abs()
    assert backtest["mae"] == pytest.approx(errors.mean())
    naive_errors = (test["naive_predicted_calls"] - test["linked_calls"]).abs()
    assert backtest["naive_mae"] == pytest.approx(naive_errors.mean())


def test_chronological_split_never_splits_a_date():
    dates = pd.Series(pd.to_datetime(["2024-01-01"] * 5 + ["2024-01-02"] * 5))
    train = ei.chronological_split(dates)
    assert train.tolist() == [True] * 5 + [False] * 5
    assert ei.chronological_split(pd.Series(pd.to_datetime(["2024-01-01"] * 4))).all()


def test_served_model_is_refitted_on_all_rows_and_stored_as_data(model_fit):
    _, result = model_fit
    text = json.dumps(result.summary, allow_nan=False)  # plain JSON, no pickle
    model = ei.EventImpactModel.from_summary(json.loads(text))
    assert model == result.model
    frame = result.frame
    np.testing.assert_allclose(
        ei.predict(model, frame, frame["baseline_calls"]), frame["predicted_calls"]
    )
    assert result.summary["training_rows"] == len(frame)
    stored = frame.copy()
    stored.attrs[ei.SUMMARY_ATTR] = json.loads(text)
    assert ei.model_from_output(stored) == model
    with pytest.raises(ValueError, match="no event-impact model summary"):
        ei.model_from_output(frame.iloc[:0].copy())


def test_identical_inputs_give_identical_outputs(history, model_fit):
    # No wall-clock time in what is stored: the lake keeps identical bytes for identical inputs.
    rates, result = model_fit
    again = ei.fit_event_impact(history.calls, history.links, history.events, history.geo, rates)
    assert again.summary == result.summary and result.summary["trained_at"] is None
    pd.testing.assert_frame_equal(again.frame, result.frame)
    stamped = ei.fit_event_impact(
        history.calls,
        history.links,
        history.events,
        history.geo,
        rates,
        trained_at=datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC),
    )
    assert stamped.summary["trained_at"] == "2025-01-02T03:04:05+00:00"
    assert stamped.model.trained_at == "2025-01-02T03:04:05+00:00"


def test_summary_states_what_the_planner_needs(model_fit):
    _, result = model_fit
    summary = result.summary
    for key in (
        "coefficients",
        "intercept",
        "feature_names",
        "alpha",
        "backtest",
        "training_rows",
        "is_fallback",
        "fallback_reason",
        "trained_at",
        "mixes",
        "unit_time_on_scene_s",
        "link_radius_km",
        "history_start",
        "history_end",
        "hourly_profile",
    ):
        assert key in summary, key
    assert summary["history_start"] == "2024-01-01"
    assert len(summary["hourly_profile"]) == 24
    shares = summary["mixes"]["priority_shares"]["overall"]
    assert sum(shares.values()) == pytest.approx(1.0)
    assert shares["P2"] == pytest.approx(0.4, abs=0.05)  # as generated
    assert sum(summary["mixes"]["category_shares"]["overall"].values()) == pytest.approx(1.0)
    assert 600 < summary["unit_time_on_scene_s"] < 5400
    assert "linked calls" in summary["unit_time_on_scene_source"]


def test_predict_single_and_many(model_fit):
    _, result = model_fit
    model = result.model
    features = {
        "tier": 3,
        "has_alcohol": True,
        "has_amplified_sound": False,
        "has_road_closure": False,
        "expected_attendance": None,
    }
    single = ei.predict(model, features, 10.0)
    expected = 10.0 * math.exp(model.intercept + result.summary["coefficients"]["has_alcohol"])
    assert isinstance(single, float) and single == pytest.approx(expected)
    many = ei.predict(model, pd.DataFrame([features, {**features, "has_alcohol": False}]), 10.0)
    assert many[0] == pytest.approx(single) and many[1] < many[0]


# --- fallback ------------------------------------------------------------------------------------


def test_too_few_event_days_serve_the_stated_naive_model():
    history = synthetic_history(events=20, days=120, seed=5)
    _, result = fitted(history)
    summary, frame = result.summary, result.frame
    assert summary["is_fallback"] and summary["model"] == ei.NAIVE
    assert "< 30" in summary["fallback_reason"] and "naive" in summary["fallback_reason"]
    assert all(value is None for value in summary["backtest"].values())
    assert (frame["split"] == "train").all() and frame["backtest_predicted_calls"].isna().all()
    np.testing.assert_allclose(frame["predicted_calls"], frame["naive_predicted_calls"])
    by_tier = frame.groupby("tier")["uplift"].mean()
    for row in frame.itertuples():
        assert row.predicted_calls == pytest.approx(
            max(row.baseline_calls + by_tier[row.tier], 0.0)
        )
    json.dumps(summary, allow_nan=False)


def test_no_events_at_all_do_not_crash():
    history = synthetic_history(events=0, days=60, seed=2)
    rates, result = fitted(history)
    assert not rates.empty
    assert result.frame.empty and list(result.frame.columns) == ei.IMPACT_MODEL_COLUMNS
    assert result.summary["is_fallback"] and result.summary["training_rows"] == 0
    assert result.summary["mixes"]["source"].startswith("all calls")
    model = ei.EventImpactModel.from_summary(json.loads(json.dumps(result.summary)))
    assert ei.predict(model, {"tier": 3}, 5.0) == pytest.approx(5.0)  # no uplift known


def test_naive_model_uses_the_overall_uplift_for_an_unseen_tier():
    model = ei.EventImpactModel(
        kind=ei.NAIVE,
        feature_names=(),
        coefficients=(),
        intercept=0.0,
        alpha=0.0,
        known_tiers=(3,),
        reference_tier=3,
        uplift_by_tier={3: 2.0},
        mean_uplift=1.0,
        hourly_profile=(1.0,) * 24,
        link_radius_km=1.5,
        history_start=date(2024, 1, 1),
        history_end=date(2024, 12, 31),
        mixes={},
        unit_time_on_scene_s=None,
        unit_time_on_scene_source="",
        units_arrived_mean=None,
    )
    assert ei.predict(model, {"tier": 3}, 1.0) == pytest.approx(3.0)
    assert ei.predict(model, {"tier": 5}, 1.0) == pytest.approx(2.0)
    assert ei.predict(model, {"tier": 3}, np.array([0.0])) == pytest.approx(2.0)
    assert ei.predict(model, {"tier": 3}, -5.0) == 0.0  # never negative


def test_tier_mixes_fall_back_to_overall_with_few_calls(history):
    links = history.links
    tiers = dict(zip(history.events["event_id"], history.events["tier"], strict=True))
    details = ei.linked_call_details(links, history.calls)
    assert details["unit_time_on_scene"].notna().all()  # every link found its call
    mixes = ei.call_mixes(details, tiers)
    assert set(mixes["priority_shares"]["by_tier"]) == {"3", "4"}  # both have ≥ 200 calls
    few = details[details["event_id"].map(tiers) == 3].head(50)
    few = pd.concat([few, details[details["event_id"].map(tiers) == 4]])
    mixes = ei.call_mixes(few, tiers)
    assert "3" not in mixes["priority_shares"]["by_tier"]
    assert mixes["calls_by_tier"]["3"] == 50


def test_linkage_and_baseline_share_the_radius_rule():
    # A block group exactly on the radius links and is within the radius for the baseline.
    calls = calls_at([("484530000022", "2024-01-08", 12)]).assign(
        incident_number=np.int64(1),
        response_datetime=pd.Timestamp("2024-01-08 12:00", tz="America/Chicago"),
        latitude_centroid=30.005,
        longitude_centroid=-97.8,
        priority_numeric=pd.array([1], dtype="Int64"),
        response_time=pd.array([60], dtype="Int64"),
        final_problem_category="Noise",
    )
    event = one_event("2024-01-08", "2024-01-08", lat=30.0)
    distance = float(ei.geos_within_radius(GEO, 30.0, -97.8, 1.0)["distance_km"].iloc[-1])
    links = link_calls_to_events(calls, event, radius_km=distance)
    near = ei.geos_within_radius(GEO, 30.0, -97.8, distance)
    assert len(links) == 1 and "484530000022" in set(near["geo_id"])
