"""Event-impact stage: baseline call rates and the event impact model behind the planner.

- `call_baseline_rates` (warehouse): calls per comparable day without an event, per block
  group, weekday and hour (`analytics.event_impact.baseline_rates`);
- `event_impact_model` (lake `models`): one row per historical event-day with its linked calls,
  baseline and predictions; the model itself (coefficients, backtest, mixes, …) is plain JSON
  in the frame's `MODEL_SUMMARY` attribute, which the Parquet lake keeps in the file, so the
  planner (`analytics.planner`) reads it from storage like the rows. Never a pickle. The
  summary carries no training time (`trained_at` is null): identical inputs store identical
  bytes, and the materialization's timestamp says when it was trained.

Both read small per-month aggregates (`defs.event_day_aggregates`), not every call nor every
month's call cells, and give exactly what they gave from every call: the rates sum every month's
`baseline_call_counts`, the model takes the linked calls' cells from `event_day_call_cells` and
every call's mix from `calls_by_priority_category`; the history span is the first and last date
of `calls_by_day`. A new day recounts one month of them. They depend on `fact_911_calls` too, so
the blocking checks on the warehouse facts gate them, as they gate the other models.
"""

import hashlib
import json
from typing import Any

import dagster as dg
import pandas as pd
import pyarrow as pa

from ..analytics.event_day_aggregates import (
    BASELINE_COUNT_COLUMNS,
    baseline_event_days,
    baseline_rates_from_counts,
)
from ..analytics.event_impact import (
    ALPHA,
    MIN_EVENT_DAYS,
    NO_HISTORY,
    coefficient_table,
    empty_baseline_rates,
    fit_event_impact_from_aggregates,
    history_range,
)
from ..asset_names import FACT_CALLS
from ..resources import PipelineSettings
from ..settings import MODELS_BUCKET
from .checks.alert_rules import events_source_metadata
from .checks.event_impact import MODEL_CHECK_SPECS, model_check_results
from .conventions import (
    ANALYTICS_OWNERS,
    columns_in,
    content_version,
    json_metadata,
    lake_stage,
    optional_float,
    versioned,
    warehouse_stage,
)
from .ml import MODEL_SUMMARY, with_summary

BASELINE = warehouse_stage("ml", ANALYTICS_OWNERS)
MODEL = lake_stage(
    "ml", MODELS_BUCKET, ANALYTICS_OWNERS, kinds={"pandas"}, shared={"deps": [FACT_CALLS]}
)
GEO_POINT_COLUMNS = ("geo_id", "latitude_centroid", "longitude_centroid")
EVENT_COLUMNS = (
    "event_id",
    "event_name",
    "tier",
    "start_date",
    "end_date",
    "has_alcohol",
    "has_amplified_sound",
    "has_road_closure",
    "event_lat",
    "event_lon",
    "has_valid_location",
    "expected_attendance",
)

# What decides the event days the baseline leaves out (`analytics.event_day_aggregates`).
EVENT_DAY_INPUTS = {
    "fact_event_incidents": columns_in("geo_id", "call_date"),
    "dim_event": columns_in(*EVENT_COLUMNS),
    "dim_geo": columns_in(*GEO_POINT_COLUMNS),
}


def _model_version(frame: pd.DataFrame, summary: dict[str, Any]) -> str:
    """The rows' and the model's content (mixes, coefficients, ...), not when it was trained:
    an identical re-fit keeps its data version, a changed mix alone gets a new one."""
    stable = {key: value for key, value in summary.items() if key != "trained_at"}
    text = content_version(frame) + json.dumps(stable, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:24]


@BASELINE.asset(
    code_version="2",
    kinds={"numpy"},
    deps=[FACT_CALLS],
    ins={
        # Hundreds of months at ten times Austin: summed in Arrow, never one pandas frame.
        "baseline_call_counts": columns_in(*BASELINE_COUNT_COLUMNS, as_arrow_table=True),
        "calls_by_day": columns_in("date"),
        **EVENT_DAY_INPUTS,
    },
    description=(
        "Baseline call rates: per block group, weekday and hour, the mean calls per comparable "
        "day = calls on days without an event at that block group ÷ that weekday's days in the "
        "history without one (an event within PipelineSettings.link_radius_km running that "
        "date, the link rule). Summed from every month of baseline_call_counts; the history "
        "is the first to the last call date (calls_by_day). The 'same place, weekday and hour, "
        "no event' baseline of the event impact model and the planner; absent combinations "
        "mean 0."
    ),
)
def call_baseline_rates(
    baseline_call_counts: pa.Table,
    calls_by_day: pd.DataFrame,
    fact_event_incidents: pd.DataFrame,
    dim_event: pd.DataFrame,
    dim_geo: pd.DataFrame,
    pipeline: PipelineSettings,
) -> dg.Output[pd.DataFrame]:
    span = history_range(calls_by_day, "date")
    first, last = span if span else (None, None)
    # The days the monthly counts left out: the link rule's and every linked call's.
    event_days, stray = baseline_event_days(
        dim_event, dim_geo, fact_event_incidents, pipeline.link_radius_km, span
    )
    rates = (
        baseline_rates_from_counts(baseline_call_counts, event_days, first, last)
        if span
        else empty_baseline_rates()
    )
    return versioned(
        rates,
        {
            "block_groups": int(rates["geo_id"].nunique()),
            "history_start": str(first or ""),
            "history_end": str(last or ""),
            "event_days_by_block_group": len(event_days),
            "linked_days_outside_the_link_rule": stray,
            "radius_km": dg.MetadataValue.float(pipeline.link_radius_km),
            "mean_calls_per_day_per_block_group": optional_float(
                rates.groupby("geo_id")["calls_per_day"].sum().mean() / 7 if len(rates) else None,
                3,
            ),
        },
    )


@MODEL.asset(
    code_version="3",
    kinds={"sklearn"},
    check_specs=MODEL_CHECK_SPECS,
    ins={
        "event_day_call_cells": dg.AssetIn(),
        "calls_by_priority_category": dg.AssetIn(),
        "calls_by_day": columns_in("date"),
        "fact_event_incidents": columns_in(
            "event_id", "call_date", "geo_id", "priority_numeric", "final_problem_category"
        ),
        "dim_event": columns_in(*EVENT_COLUMNS),
        "dim_geo": columns_in(*GEO_POINT_COLUMNS),
    },
    description=(
        "Event impact model: calls within the link radius on an event-day = baseline (from "
        "call_baseline_rates) · exp(b0 + b·x), a Poisson log-linear model with offset "
        f"log(baseline) (alpha {ALPHA:g}) on tier, alcohol, amplified sound, road closure and "
        "expected attendance. Chronological backtest (earliest 80 % of event-days vs the rest) "
        "against baseline + mean tier uplift, then refitted on all event-days; with fewer than "
        f"{MIN_EVENT_DAYS} event-days the naive model is served and said so. One row per "
        "historical event-day; the model, metrics and call mixes are in the summary. A city "
        "without an events source has no event-days: the naive model without uplift is "
        "served, and the metadata says there is no events source. Reads the linked calls' "
        "cells from event_day_call_cells and every call's mix from calls_by_priority_category, "
        "not every month's call cells."
    ),
)
def event_impact_model(
    event_day_call_cells: pd.DataFrame,
    calls_by_priority_category: pd.DataFrame,
    calls_by_day: pd.DataFrame,
    fact_event_incidents: pd.DataFrame,
    dim_event: pd.DataFrame,
    dim_geo: pd.DataFrame,
    call_baseline_rates: pd.DataFrame,
    pipeline: PipelineSettings,
):
    result = fit_event_impact_from_aggregates(
        event_day_call_cells,
        calls_by_priority_category,
        history_range(calls_by_day, "date") or NO_HISTORY,
        fact_event_incidents,
        dim_event,
        dim_geo,
        call_baseline_rates,
        radius_km=pipeline.link_radius_km,
    )
    summary = result.summary
    frame = with_summary(result.frame, summary)
    backtest = summary["backtest"]
    coefficients = coefficient_table(summary)
    yield versioned(
        frame,
        {
            "model": summary["model"],
            "is_fallback": bool(summary["is_fallback"]),
            "fallback_reason": str(summary["fallback_reason"] or ""),
            "event_days": len(frame),
            "events": int(summary["events"]),
            "backtest_rows": int(backtest["rows"] or 0),
            "mae": optional_float(backtest["mae"], 3),
            "naive_mae": optional_float(backtest["naive_mae"], 3),
            "skill_vs_naive": optional_float(backtest["skill_vs_naive"], 4),
            "backtest": json_metadata(backtest),
            "coefficients": dg.MetadataValue.md(
                coefficients.round(4).to_markdown(index=False)
                if len(coefficients)
                else f"_naive model: {summary['fallback_reason']}_"
            ),
            "dropped_features": json_metadata(summary["dropped_features"]),
            "event_days_excluded": json_metadata(summary["event_days_excluded"]),
            "unit_time_on_scene_s": optional_float(summary["unit_time_on_scene_s"], 1),
            "link_radius_km": dg.MetadataValue.float(float(summary["link_radius_km"])),
            "history": f"{summary['history_start']} .. {summary['history_end']}",
            "priority_shares": json_metadata(summary["mixes"]["priority_shares"]["overall"]),
            **events_source_metadata(pipeline),
        },
        version=_model_version(frame, frame.attrs[MODEL_SUMMARY]),
    )
    yield from model_check_results(frame, summary)
