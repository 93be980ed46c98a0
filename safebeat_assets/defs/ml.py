"""ML stage: association rules, KMeans risk zones and the 7-day call forecast, fitted on all calls.

Each model reads the calls from the lake's `enriched_911_calls` (the rows of `fact_911_calls`,
columnar: only the columns it needs, ~0.3 s instead of ~1.5 s from PostgreSQL per model) and
depends on `fact_911_calls` too, so the blocking pre-checks on the warehouse gate it. Outputs are data (rules, zone assignments, forecasts)
stored in the `models` bucket, never pickles.
"""

import dagster as dg
import pandas as pd

from ..analytics.forecast import forecast_daily_calls
from ..analytics.rules import mine_association_rules
from ..analytics.zones import cluster_zones
from ..reporting.plots import cluster_map_png, daily_volume_png, forecast_plot_png
from .checks import alert_check_results, alert_check_specs
from .common import (
    ANALYTICS_OWNERS,
    LAKE_IO,
    PipelineSettings,
    columns_in,
    image_metadata,
    json_metadata,
    lake_metadata,
    versioned,
)

ML_KINDS = {"pandas", "parquet"}


def _optional_float(value, digits: int) -> dg.MetadataValue:
    """A rounded float, or an explicit null when the model could not compute the value."""
    if value is None:
        return dg.MetadataValue.null()
    return dg.MetadataValue.float(round(float(value), digits))


@dg.asset(
    check_specs=alert_check_specs("association_rules"),
    group_name="ml",
    kinds=ML_KINDS | {"mlxtend"},
    owners=ANALYTICS_OWNERS,
    code_version="1",
    io_manager_key=LAKE_IO,
    metadata=lake_metadata("models"),
    deps=["fact_911_calls"],
    ins={
        "enriched_911_calls": columns_in(
            "incident_number",
            "response_datetime",
            "response_hour",
            "is_weekend",
            "priority_numeric",
            "final_problem_category",
        ),
        "fact_event_incidents": columns_in(
            "incident_number", "response_datetime", "event_has_alcohol"
        ),
    },
    description=(
        "Association rules over every call's items (time of day, weekday/weekend, priority, "
        "incident type, festival/alcohol-event link): apriori (low-memory) with support ≥ 1 %, "
        "confidence ≥ 0.3, lift ≥ 1.2, ranked by lift."
    ),
)
def association_rules(
    enriched_911_calls: pd.DataFrame, fact_event_incidents: pd.DataFrame, pipeline: PipelineSettings
):
    result = mine_association_rules(enriched_911_calls, fact_event_incidents)
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
    yield from alert_check_results("association_rules", result.rules, pipeline)


@dg.asset(
    check_specs=alert_check_specs("zone_clusters"),
    group_name="ml",
    kinds=ML_KINDS | {"sklearn"},
    owners=ANALYTICS_OWNERS,
    code_version="1",
    io_manager_key=LAKE_IO,
    metadata=lake_metadata("models"),
    deps=["fact_911_calls"],
    ins={
        "enriched_911_calls": columns_in(
            "dim_geo_id",
            "latitude_centroid",
            "longitude_centroid",
            "priority_numeric",
            "response_time",
            "response_hour",
        )
    },
    description=(
        "KMeans zones over block-group locations (scaled lat/lon, log call volume, mean "
        "priority, location risk), K in 3..9 chosen by silhouette; clusters labelled "
        "HIGH/MEDIUM/LOW_RISK by tertile of mean location risk."
    ),
)
def zone_clusters(enriched_911_calls: pd.DataFrame, pipeline: PipelineSettings):
    # The fact's geo_id is the matched block group (NULL when unmatched): enriched's dim_geo_id.
    result = cluster_zones(enriched_911_calls.rename(columns={"dim_geo_id": "geo_id"}))
    stats = result.stats
    yield versioned(
        result.zones,
        {
            "zones_clustered": int(stats["locations"]),
            "chosen_k": int(stats["chosen_k"]),
            "silhouette": _optional_float(stats["silhouette"], 4),
            "silhouette_by_k": json_metadata(stats["silhouette_by_k"]),
            "cluster_sizes": json_metadata(stats["cluster_sizes"]),
            "zone_counts": json_metadata(stats["zone_counts"]),
            "centroids": dg.MetadataValue.md(result.centroids.round(4).to_markdown(index=False)),
            "cluster_map": image_metadata(cluster_map_png(result.zones), "risk zones"),
        },
    )
    yield from alert_check_results("zone_clusters", result.zones, pipeline)


@dg.asset(
    check_specs=alert_check_specs("call_forecast"),
    group_name="ml",
    kinds=ML_KINDS | {"sklearn"},
    owners=ANALYTICS_OWNERS,
    code_version="1",
    io_manager_key=LAKE_IO,
    metadata=lake_metadata("models"),
    deps=["fact_911_calls"],
    ins={"enriched_911_calls": columns_in("response_date", "priority_numeric", "response_time")},
    description=(
        "Daily call-volume forecast for the 7 days after the latest call: Ridge vs gradient "
        "boosting on calendar, lag and rolling features (chronological 80/20 split, scaler fit "
        "on train only), predicted recursively; backtest rows compare against a seasonal-naive "
        "baseline."
    ),
)
def call_forecast(enriched_911_calls: pd.DataFrame, pipeline: PipelineSettings):
    calls = enriched_911_calls
    result = forecast_daily_calls(calls, horizon_days=pipeline.forecast_horizon_days)
    stats = result.stats
    forecast_rows = result.forecast[result.forecast["kind"] == "forecast"]
    yield versioned(
        result.forecast,
        {
            "model": str(stats["model"]),
            "is_fallback": bool(stats["is_fallback"]),
            "mean_predicted_calls_per_day": _optional_float(stats["mean_predicted_calls"], 1),
            "fallback_reason": str(stats.get("fallback_reason") or ""),
            "test_metrics": json_metadata(
                {
                    k: stats.get(k)
                    for k in ("mae", "rmse", "r2", "mape", "baseline_mae", "skill_vs_baseline")
                }
            ),
            "forecast_vs_actual": image_metadata(
                forecast_plot_png(result.forecast), "forecast vs actual"
            ),
            "daily_volume": image_metadata(daily_volume_png(calls), "calls per day"),
            "forecast": dg.MetadataValue.md(
                forecast_rows[["date", "predicted_calls"]].round(1).to_markdown(index=False)
            ),
        },
    )
    yield from alert_check_results("call_forecast", result.forecast, pipeline)
