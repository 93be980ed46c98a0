import json

import numpy as np
import pandas as pd
import pytest

from safebeat_assets.analytics.forecast import (
    FEATURE_COLUMNS,
    FORECAST_COLUMNS,
    build_features,
    daily_call_counts,
    forecast_daily_calls,
    recursive_forecast,
    seasonal_naive,
)

WEEKLY_PATTERN = np.array([100, 90, 95, 100, 120, 160, 150])  # Mon..Sun


def calls_from_counts(counts, start="2024-01-01") -> pd.DataFrame:
    """One call row per count, spread over each day (only the columns the forecast reads)."""
    dates = pd.date_range(start, periods=len(counts), freq="D")
    per_day = np.asarray(counts, dtype="int64")
    response_date = np.repeat(dates.to_numpy(), per_day)
    offsets = np.concatenate([np.arange(n) * (86_000 // max(n, 1)) for n in per_day])
    local = pd.DatetimeIndex(response_date) + pd.to_timedelta(offsets, unit="s")
    return pd.DataFrame(
        {
            "response_datetime": local.tz_localize("America/Chicago", nonexistent="shift_forward"),
            "response_date": pd.DatetimeIndex(response_date),
        }
    )


def weekly_counts(days: int, noise: float = 5.0, trend: float = 0.0, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    # 2024-01-01 is a Monday, so index % 7 is the day of week
    base = WEEKLY_PATTERN[np.arange(days) % 7] + trend * np.arange(days)
    return np.maximum(np.round(base + rng.normal(0, noise, days)), 0).astype(int)


def test_output_contract_and_horizon():
    result = forecast_daily_calls(calls_from_counts(weekly_counts(200)))
    fc = result.forecast
    assert list(fc.columns) == FORECAST_COLUMNS
    assert fc["date"].dtype == "datetime64[ns]"
    horizon = fc[fc["kind"] == "forecast"]
    assert len(horizon) == 7
    assert horizon["date"].min() == pd.Timestamp("2024-01-01") + pd.Timedelta(days=200)
    assert (horizon["date"].diff().dropna() == pd.Timedelta(days=1)).all()
    assert horizon["actual_calls"].isna().all()
    assert (fc["predicted_calls"] >= 0).all()
    assert not fc["is_fallback"].any()
    assert set(fc["model"]) == {result.stats["model"]}
    assert result.stats["model"] in ("ridge", "gradient_boosting")
    assert result.stats["mean_predicted_calls"] == pytest.approx(horizon["predicted_calls"].mean())
    backtest = fc[fc["kind"] == "backtest"]
    assert len(backtest) == result.stats["test_days"]
    assert backtest["actual_calls"].notna().all()
    for key in ("mae", "rmse", "r2", "mape", "baseline_mae", "skill_vs_baseline"):
        assert result.stats[key] is not None
    json.dumps(result.stats, allow_nan=False)  # stats go straight into Dagster metadata


def test_chronological_split_80_20():
    stats = forecast_daily_calls(calls_from_counts(weekly_counts(200))).stats
    usable = 200 - 14  # the first 14 days lack lag_14 / rolling_mean_14
    assert stats["usable_days"] == usable
    assert stats["test_days"] == round(usable * 0.2)
    assert stats["train_days"] + stats["test_days"] == usable
    assert stats["train_end"] < stats["test_start"]


def test_beats_seasonal_naive_on_weekly_series():
    result = forecast_daily_calls(calls_from_counts(weekly_counts(300, noise=8.0)))
    stats = result.stats
    backtest = result.forecast[result.forecast["kind"] == "backtest"]
    # baseline is the actual value 7 days earlier, scored on the same days
    np.testing.assert_allclose(
        stats["baseline_mae"], (backtest["actual_calls"] - backtest["baseline_calls"]).abs().mean()
    )
    np.testing.assert_allclose(
        stats["mae"], (backtest["actual_calls"] - backtest["predicted_calls"]).abs().mean()
    )
    assert stats["mae"] < stats["baseline_mae"]
    assert stats["skill_vs_baseline"] == pytest.approx(1 - stats["mae"] / stats["baseline_mae"])
    assert stats["skill_vs_baseline"] > 0


def test_scaler_is_fitted_on_training_window_only():
    counts = weekly_counts(200, trend=1.0)  # a trend makes train and full means differ
    stats = forecast_daily_calls(calls_from_counts(counts)).stats
    feats = build_features(daily_call_counts(calls_from_counts(counts))).dropna()
    train = feats.iloc[: stats["train_days"]]
    assert stats["scaler_mean"]["lag_1"] == pytest.approx(train["lag_1"].mean())
    assert stats["scaler_mean"]["lag_1"] != pytest.approx(feats["lag_1"].mean(), rel=1e-3)


def test_features_use_only_the_past():
    daily = pd.Series(
        np.arange(30, dtype=float), index=pd.date_range("2024-01-01", periods=30, name="date")
    )
    feats = build_features(daily)
    assert list(feats.columns) == FEATURE_COLUMNS
    day = feats.loc["2024-01-20"]  # value 19
    assert day["lag_1"] == 18 and day["lag_7"] == 12 and day["lag_14"] == 5
    assert day["rolling_mean_7"] == np.mean(np.arange(12, 19))
    assert day["rolling_mean_14"] == np.mean(np.arange(5, 19))
    assert day["day_of_week"] == 5 and day["is_weekend"] == 1  # Saturday
    assert feats.iloc[:14].isna().any(axis=1).all() and feats.iloc[14:].notna().all().all()


def test_recursive_horizon_feeds_predictions_back():
    history = pd.Series(
        np.full(20, 10.0), index=pd.date_range("2024-01-01", periods=20, name="date")
    )

    def predict(frame: pd.DataFrame) -> np.ndarray:
        return frame["lag_1"].to_numpy() + 1.0

    out = recursive_forecast(history, predict, horizon_days=9)
    preds = out["predicted_calls"].to_numpy()
    np.testing.assert_allclose(preds, np.arange(11, 20))
    # lag_1 of each day is the previous day's prediction, not a held-constant actual
    np.testing.assert_allclose(out["lag_1"].to_numpy()[1:], preds[:-1])
    assert out["rolling_mean_7"].iloc[1] == pytest.approx((6 * 10 + 11) / 7)
    assert out["lag_7"].iloc[7] == preds[0]  # after a week lag_7 is a prediction too
    assert out.index[0] == pd.Timestamp("2024-01-21")


def test_recursive_horizon_is_floored_at_zero():
    history = pd.Series(np.full(14, 3.0), index=pd.date_range("2024-01-01", periods=14))
    out = recursive_forecast(history, lambda f: f["lag_1"].to_numpy() - 5.0, horizon_days=3)
    assert out["predicted_calls"].tolist() == [0.0, 0.0, 0.0]


def test_missing_days_are_zero_not_the_average():
    counts = weekly_counts(60)
    calls = calls_from_counts(counts)
    gap_day = pd.Timestamp("2024-01-10")
    calls = calls[calls["response_date"] != gap_day]
    daily = daily_call_counts(calls)
    assert len(daily) == 60 and daily.loc[gap_day] == 0


def test_fallback_on_short_series():
    counts = weekly_counts(40)  # 26 usable days < 30
    result = forecast_daily_calls(calls_from_counts(counts))
    stats, fc = result.stats, result.forecast
    assert stats["is_fallback"] is True and stats["fallback_reason"]
    assert stats["model"] == "historical_mean"
    assert len(fc) == 7 and (fc["kind"] == "forecast").all() and fc["is_fallback"].all()
    np.testing.assert_allclose(fc["predicted_calls"], counts.mean())
    assert stats["mean_predicted_calls"] == pytest.approx(counts.mean())
    assert stats["mae"] is None
    json.dumps(stats, allow_nan=False)


def test_no_calls_gives_empty_fallback():
    empty = calls_from_counts([1]).iloc[:0]
    result = forecast_daily_calls(empty)
    assert result.forecast.empty and list(result.forecast.columns) == FORECAST_COLUMNS
    assert result.stats["is_fallback"] and result.stats["mean_predicted_calls"] is None


def test_seasonal_naive_repeats_last_week_past_the_data():
    daily = pd.Series(np.arange(14, dtype=float), index=pd.date_range("2024-01-01", periods=14))
    ahead = pd.date_range("2024-01-15", periods=10)
    assert seasonal_naive(daily, ahead).tolist() == [7, 8, 9, 10, 11, 12, 13, 7, 8, 9]
    assert np.isnan(seasonal_naive(daily, pd.DatetimeIndex(["2024-01-03"]))[0])


def test_deterministic():
    calls = calls_from_counts(weekly_counts(120))
    a, b = forecast_daily_calls(calls), forecast_daily_calls(calls)
    pd.testing.assert_frame_equal(a.forecast, b.forecast)
