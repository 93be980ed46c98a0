"""Checks of the event-impact stage.

- `call_baseline_rates`: blocking SQL checks on the stored table, like every warehouse table
  (`warehouse_sql`): one row per (block group, weekday, hour), every rate a positive mean over
  at least one comparable day.
- `event_impact_model`: evaluated in the model's own step on the frame and summary it stores
  (declared on the asset, so automation runs them with it): a blocking ERROR check that the
  served model is usable (finite coefficients, finite non-negative predictions, a backtest
  unless it is the stated fallback) and a WARN check that it is not clearly worse than the
  naive model on the backtest.

No pre-check: too few event-days is not a reason to skip the model but to serve the naive one,
which the summary states (`fallback_reason`).
"""

from __future__ import annotations

import math
from typing import Any

import dagster as dg
import numpy as np
import pandas as pd

from ...asset_names import CALL_BASELINE_RATES, EVENT_IMPACT_MODEL
from .warehouse_sql import SqlCheck, _build_sql_check, none_found, unique_check

# The model may lose to the naive one on the backtest by at most this share of its MAE.
MAX_SKILL_LOSS = 0.10

BASELINE_SQL_CHECKS: list[SqlCheck] = [
    unique_check(
        CALL_BASELINE_RATES,
        "baseline_rates_unique_per_block_group_weekday_hour",
        "Each (geo_id, day_of_week_index, hour) has one baseline rate.",
        "duplicate_keys",
        "geo_id",
        "day_of_week_index",
        "hour",
    ),
    SqlCheck(
        CALL_BASELINE_RATES,
        "baseline_rates_are_positive_means_on_the_clock",
        "Every calls_per_day is a positive finite number over comparable_days ≥ 1, on a weekday "
        "0..6 and an hour 0..23.",
        "SELECT count(*) FROM {t} WHERE NOT (calls_per_day > 0 AND calls_per_day < 'Infinity') "
        "OR comparable_days < 1 OR day_of_week_index NOT BETWEEN 0 AND 6 "
        "OR hour NOT BETWEEN 0 AND 23",
        none_found("invalid_rates"),
    ),
]

MODEL_SOUND = dg.AssetCheckSpec(
    "event_impact_model_is_finite_and_backtested",
    asset=EVENT_IMPACT_MODEL,
    blocking=True,
    description=(
        "The served model has finite coefficients and intercept, every predicted_calls is a "
        "finite number ≥ 0, and a Poisson model has backtest rows and metrics (the naive "
        "fallback states its reason instead). Evaluated in the model's step."
    ),
)
MODEL_NOT_WORSE = dg.AssetCheckSpec(
    "event_impact_model_not_worse_than_naive",
    asset=EVENT_IMPACT_MODEL,
    blocking=False,
    description=(
        "On the chronological backtest the model's MAE is at most "
        f"{1 + MAX_SKILL_LOSS:.2f}× the naive model's (skill_vs_naive ≥ −{MAX_SKILL_LOSS:g}); "
        "passes when the naive model itself is served. WARN, evaluated in the model's step."
    ),
)
MODEL_CHECK_SPECS = [MODEL_SOUND, MODEL_NOT_WORSE]


def _finite(value: Any) -> bool:
    return isinstance(value, int | float) and math.isfinite(value)


def model_check_results(frame: pd.DataFrame, summary: dict[str, Any]) -> list[dg.AssetCheckResult]:
    """Both model checks, from the frame and summary the asset stores."""
    coefficients = list((summary.get("coefficients") or {}).values())
    predicted = frame["predicted_calls"].to_numpy(dtype="float64")
    bad_predictions = int((~np.isfinite(predicted) | (predicted < 0)).sum())
    bad_coefficients = sum(not _finite(c) for c in [*coefficients, summary.get("intercept")])
    backtest = summary.get("backtest") or {}
    fallback = bool(summary.get("is_fallback"))
    backtested = bool(backtest.get("rows")) and backtest.get("mae") is not None
    sound = bad_predictions == 0 and bad_coefficients == 0 and (fallback or backtested)
    reason = summary.get("fallback_reason") or ""
    skill = backtest.get("skill_vs_naive")
    not_worse = fallback or skill is None or skill >= -MAX_SKILL_LOSS
    return [
        dg.AssetCheckResult(
            check_name=MODEL_SOUND.name,
            asset_key=MODEL_SOUND.asset_key,
            passed=sound,
            severity=dg.AssetCheckSeverity.ERROR,
            metadata={
                "invalid_predictions": bad_predictions,
                "non_finite_coefficients": bad_coefficients,
                "backtest_rows": int(backtest.get("rows") or 0),
                "model": str(summary.get("model")),
                "fallback_reason": reason,
            },
        ),
        dg.AssetCheckResult(
            check_name=MODEL_NOT_WORSE.name,
            asset_key=MODEL_NOT_WORSE.asset_key,
            passed=not_worse,
            severity=dg.AssetCheckSeverity.WARN,
            metadata={
                "skill_vs_naive": dg.MetadataValue.null()
                if skill is None
                else dg.MetadataValue.float(round(float(skill), 4)),
                "threshold": -MAX_SKILL_LOSS,
                "naive_model_served": fallback,
            },
            description=None
            if skill is not None or fallback
            else "no backtest skill could be computed (the naive model's MAE is 0)",
        ),
    ]


BASELINE_ASSET_CHECKS: list[dg.AssetChecksDefinition] = [
    _build_sql_check(spec) for spec in BASELINE_SQL_CHECKS
]
