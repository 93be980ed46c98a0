"""ML stage: association rules, KMeans risk zones and the call-volume forecast, fitted on all
calls through their per-month aggregates.

Each model first evaluates its own blocking pre-check (`checks.pre_checks`) on its input: when
it fails, the model is skipped (no output; its previous one stays) and only its step fails, so
a short history still gives rules, zones and risk scores without a forecast.

Each model reads every month of its aggregate in the lake (`defs/aggregates.py`: the rule
transactions, the calls per day, the block-group sums), never the calls themselves: the
aggregates give exactly the features the all-calls fit computed, and a new day recounts only
its month. Each model depends on `fact_911_calls` too, so the blocking checks on the warehouse
gate it. Outputs
are data (rules, zone assignments, forecasts) stored in the `models` bucket, never pickles. The
zones and the forecast also carry their model summary (chosen K, silhouette, test metrics) in
the stored frame's attributes (`MODEL_SUMMARY`), which the Parquet lake keeps in the file, so the
report reads it from storage like the rows.
"""

from typing import Any

import dagster as dg
import pandas as pd

from ..analytics.forecast import daily_series, forecast_from_daily
from ..analytics.rules import MIN_CONFIDENCE, MIN_LIFT, MIN_SUPPORT, mine_rules_from_transactions
from ..analytics.zones import cluster_zones_from_sums
from ..asset_names import ASSOCIATION_RULES, CALL_FORECAST, FACT_CALLS, ZONE_CLUSTERS
from ..reporting.plots import cluster_map_png, daily_series_png, forecast_plot_png
from ..resources import PipelineSettings
from ..settings import MODELS_BUCKET
from .checks import alert_check_results
from .checks.pre_checks import FORECAST_PRE_CHECK, RULES_PRE_CHECK, ZONES_PRE_CHECK
from .conventions import (
    ANALYTICS_OWNERS,
    image_metadata,
    json_metadata,
    lake_stage,
    optional_float,
    plain_json,
    versioned,
)

# Every model depends on the warehouse facts too, so the blocking integrity checks on them gate
# it.
ML = lake_stage(
    "ml", MODELS_BUCKET, ANALYTICS_OWNERS, kinds={"pandas"}, shared={"deps": [FACT_CALLS]}
)
MODEL_SUMMARY = "model_summary"
FORECAST_TEST_METRICS = ("mae", "rmse", "r2", "mape", "baseline_mae", "skill_vs_baseline")


def with_summary(frame: pd.DataFrame, summary: dict[str, Any]) -> pd.DataFrame:
    """The model output carrying its summary (plain JSON values) into the lake."""
    frame.attrs[MODEL_SUMMARY] = plain_json(summary)
    return frame


@ML.asset(
    code_version="3",
    check_specs=[RULES_PRE_CHECK.spec],
    output_required=False,
    kinds={"mlxtend"},
    description=(
        "Association rules over every call's items (time of day, weekday/weekend, priority, "
        "incident type, festival/alcohol-event link), mined from every month of "
        "rule_transactions: weighted apriori with support ≥ "
        f"{MIN_SUPPORT:.0%}, confidence ≥ {MIN_CONFIDENCE}, lift ≥ {MIN_LIFT}, ranked by lift."
    ),
)
def association_rules(rule_transactions: pd.DataFrame, pipeline: PipelineSettings):
    verdict = RULES_PRE_CHECK.evaluate(rule_transactions, pipeline)
    yield verdict
    if not verdict.passed:
        return
    result = mine_rules_from_transactions(rule_transactions)
    stats = result.stats
    yield versioned(
        result.rules,
        {
            "rules_found": int(stats["rules"]),
            "incident_rules": int(stats["incident_rules"]),
            "transactions": int(stats["transactions"]),
            "min_support_used": dg.MetadataValue.float(float(stats["min_support_used"])),
            "top_rules": json_metadata(stats.get("top_rules", [])),
        },
    )
    yield from alert_check_results(ASSOCIATION_RULES, result.rules, pipeline)


@ML.asset(
    code_version="3",
    check_specs=[ZONES_PRE_CHECK.spec],
    output_required=False,
    kinds={"sklearn"},
    description=(
        "KMeans zones over block-group locations (scaled lat/lon, log call volume, mean "
        "priority, location risk; from every month of block_group_call_sums), K in 3..9 "
        "chosen by silhouette; clusters labelled HIGH/MEDIUM/LOW_RISK by tertile of mean "
        "location risk."
    ),
)
def zone_clusters(block_group_call_sums: pd.DataFrame, pipeline: PipelineSettings):
    verdict = ZONES_PRE_CHECK.evaluate(block_group_call_sums, pipeline)
    yield verdict
    if not verdict.passed:
        return
    result = cluster_zones_from_sums(block_group_call_sums)
    stats = result.stats
    silhouette = optional_float(stats["silhouette"], 4)
    summary = {
        "chosen_k": int(stats["chosen_k"]),
        "silhouette": silhouette.value,
        "zone_counts": stats["zone_counts"],
    }
    yield versioned(
        with_summary(result.zones, summary),
        {
            "zones_clustered": int(stats["locations"]),
            "chosen_k": int(stats["chosen_k"]),
            "silhouette": silhouette,
            "silhouette_by_k": json_metadata(stats["silhouette_by_k"]),
            "cluster_sizes": json_metadata(stats["cluster_sizes"]),
            "zone_counts": json_metadata(stats["zone_counts"]),
            "centroids": dg.MetadataValue.md(result.centroids.round(4).to_markdown(index=False)),
            "cluster_map": image_metadata(cluster_map_png(result.zones), "risk zones"),
        },
    )
    yield from alert_check_results(ZONE_CLUSTERS, result.zones, pipeline)


@ML.asset(
    code_version="3",
    check_specs=[FORECAST_PRE_CHECK.spec],
    output_required=False,
    kinds={"sklearn"},
    description=(
        "Daily call-volume forecast for PipelineSettings.forecast_horizon_days after the latest "
        "call, from every month of calls_by_day: Ridge vs gradient boosting on calendar, lag "
        "and rolling features (chronological 80/20 split, scaler fit on train only), predicted "
        "recursively; backtest rows compare against a seasonal-naive baseline."
    ),
)
def call_forecast(calls_by_day: pd.DataFrame, pipeline: PipelineSettings):
    verdict = FORECAST_PRE_CHECK.evaluate(calls_by_day, pipeline)
    yield verdict
    if not verdict.passed:
        return
    daily = daily_series(calls_by_day)
    result = forecast_from_daily(daily, horizon_days=pipeline.forecast_horizon_days)
    stats = result.stats
    forecast_rows = result.forecast[result.forecast["kind"] == "forecast"]
    mean_predicted = optional_float(stats["mean_predicted_calls"], 1)
    test_metrics = {k: stats.get(k) for k in FORECAST_TEST_METRICS}
    summary = {
        "model": str(stats["model"]),
        "is_fallback": bool(stats["is_fallback"]),
        "mean_predicted_calls": mean_predicted.value,
        "test_metrics": test_metrics,
    }
    yield versioned(
        with_summary(result.forecast, summary),
        {
            "model": str(stats["model"]),
            "is_fallback": bool(stats["is_fallback"]),
            "mean_predicted_calls_per_day": mean_predicted,
            "fallback_reason": str(stats.get("fallback_reason") or ""),
            "test_metrics": json_metadata(test_metrics),
            "forecast_vs_actual": image_metadata(
                forecast_plot_png(result.forecast), "forecast vs actual"
            ),
            "daily_volume": image_metadata(daily_series_png(daily), "calls per day"),
            "forecast": dg.MetadataValue.md(
                forecast_rows[["date", "predicted_calls"]].round(1).to_markdown(index=False)
            ),
        },
    )
    yield from alert_check_results(CALL_FORECAST, result.forecast, pipeline)
