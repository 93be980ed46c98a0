"""Asset checks: integrity of every warehouse table and model output, the blocking ML pre-checks
that replace the seed's skip logic, and the five alert rules as WARN checks.

Warehouse checks run SQL against the stored table (not the in-memory frame), so they verify what
readers actually see. Names read as assertions.

Two kinds:
- integrity checks and the ML pre-checks: separate, blocking, ERROR severity; a failure stops the
  downstream steps of the run, and automation waits until they pass again;
- the alert rules and the geo match rate: WARN checks evaluated inside the asset's own step on the
  frame it returns (`ALERT_CHECKS`), so they never block and the report always sees this run's
  results.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import dagster as dg
import pandas as pd

from ..analytics import alerts
from ..storage.warehouse_io import WarehouseResource
from .common import PipelineSettings, rate

ERROR = dg.AssetCheckSeverity.ERROR
WARN = dg.AssetCheckSeverity.WARN
EARLIEST_PLAUSIBLE_DATE = date(2000, 1, 1)


@dataclass(frozen=True)
class SqlCheck:
    """A check computed from one SQL row; `judge` turns it into (passed, metadata)."""

    asset: str
    name: str
    description: str
    query: str  # {t} is the asset's table, {events} the dim_event table
    judge: Callable[[tuple, PipelineSettings], tuple[bool, dict]]
    # For uniqueness checks: the key. A validated primary-key or unique constraint on (a subset
    # of) it proves the assertion without scanning the table (1.7 s at 835K calls).
    unique_key: tuple[str, ...] = ()


def _build_sql_check(spec: SqlCheck) -> dg.AssetChecksDefinition:
    @dg.asset_check(
        asset=spec.asset,
        name=spec.name,
        description=spec.description,
        blocking=True,
    )
    def _check(warehouse: WarehouseResource, pipeline: PipelineSettings) -> dg.AssetCheckResult:
        client = warehouse.client()
        constraint = client.unique_constraint_within(spec.asset, spec.unique_key)
        if constraint:
            passed, metadata = spec.judge((0,), pipeline)
            metadata["enforced_by"] = f"constraint {constraint} (validated by PostgreSQL)"
        else:
            row = client.fetch_one(spec.query, t=spec.asset, events="dim_event")
            passed, metadata = spec.judge(row, pipeline)
        return dg.AssetCheckResult(passed=bool(passed), severity=ERROR, metadata=metadata)

    return _check


def _at_least(threshold_of: Callable[[PipelineSettings], float], label: str):
    def judge(row: tuple, pipeline: PipelineSettings) -> tuple[bool, dict]:
        value, threshold = row[0], threshold_of(pipeline)
        return value >= threshold, {label: int(value), "threshold": threshold}

    return judge


def _zero(label: str):
    def judge(row: tuple, _: PipelineSettings) -> tuple[bool, dict]:
        return row[0] == 0, {label: int(row[0]), "threshold": 0}

    return judge


def _dates_in_range(row: tuple, _: PipelineSettings) -> tuple[bool, dict]:
    first, last = row
    latest_allowed = date.today() + timedelta(days=1)
    passed = first is not None and first >= EARLIEST_PLAUSIBLE_DATE and last <= latest_allowed
    return passed, {
        "first_response_date": str(first),
        "last_response_date": str(last),
        "allowed_range": f"{EARLIEST_PLAUSIBLE_DATE} .. {latest_allowed}",
    }


def _thresholds(pipeline: PipelineSettings) -> alerts.AlertThresholds:
    return alerts.AlertThresholds(
        min_warehouse_calls=pipeline.min_warehouse_calls, min_zones=pipeline.min_zones_clustered
    )


UNIQUE_KEY = "SELECT count(*) - count(DISTINCT ({key})) FROM {{t}}"

SQL_CHECKS: list[SqlCheck] = [
    # dim_geo
    SqlCheck(
        "dim_geo",
        "dim_geo_has_block_groups",
        "dim_geo holds at least one block group.",
        "SELECT count(*) FROM {t}",
        _at_least(lambda p: 1, "rows"),
    ),
    SqlCheck(
        "dim_geo",
        "geo_ids_unique_in_dim_geo",
        "Every geo_id occurs once in dim_geo.",
        UNIQUE_KEY.format(key="geo_id"),
        _zero("duplicate_geo_ids"),
        unique_key=("geo_id",),
    ),
    SqlCheck(
        "dim_geo",
        "dim_geo_ids_are_12_digit_texas_geoids",
        "Every dim_geo geo_id matches ^48\\d{10}$ (Texas block-group GEOID).",
        "SELECT count(*) FROM {t} WHERE geo_id !~ '^48[0-9]{{10}}$'",
        _zero("malformed_geo_ids"),
    ),
    SqlCheck(
        "dim_geo",
        "dim_geo_points_and_areas_plausible",
        "Internal points lie in lat (25, 37) / lon (-107, -93) and every land area is > 0.",
        "SELECT count(*) FROM {t} WHERE NOT (latitude_centroid BETWEEN 25 AND 37 AND "
        "longitude_centroid BETWEEN -107 AND -93 AND area_sq_km > 0)",
        _zero("implausible_rows"),
    ),
    # dim_event
    SqlCheck(
        "dim_event",
        "dim_event_has_events",
        "dim_event holds at least one permit.",
        "SELECT count(*) FROM {t}",
        _at_least(lambda p: 1, "rows"),
    ),
    SqlCheck(
        "dim_event",
        "event_ids_unique",
        "Every event_id (FOLDERRSN) occurs once.",
        UNIQUE_KEY.format(key="event_id"),
        _zero("duplicate_event_ids"),
        unique_key=("event_id",),
    ),
    SqlCheck(
        "dim_event",
        "event_end_not_before_start",
        "No event ends before it starts.",
        "SELECT count(*) FROM {t} WHERE end_date < start_date",
        _zero("events_ending_before_start"),
    ),
    # fact_911_calls
    SqlCheck(
        "fact_911_calls",
        "no_duplicate_calls",
        "No two rows share (incident_number, response_datetime).",
        UNIQUE_KEY.format(key="incident_number, response_datetime"),
        _zero("duplicate_keys"),
        unique_key=(
            "incident_number",
            "response_datetime",
        ),
    ),
    SqlCheck(
        "fact_911_calls",
        "geo_ids_well_formed",
        "Every delivered Geo ID that survived cleaning is a 12-digit Texas GEOID.",
        "SELECT count(*) FROM {t} WHERE reported_geo_id !~ '^48[0-9]{{10}}$'",
        _zero("malformed_geo_ids"),
    ),
    SqlCheck(
        "fact_911_calls",
        "response_dates_in_plausible_range",
        "All response dates lie between 2000-01-01 and tomorrow.",
        "SELECT min(response_date), max(response_date) FROM {t}",
        _dates_in_range,
    ),
    SqlCheck(
        "fact_911_calls",
        "enough_calls_for_rules",
        "Pre-check: association rules need at least 1,000 calls. Blocks the ML steps of the run.",
        "SELECT count(*) FROM {t}",
        _at_least(lambda p: p.min_calls_for_rules, "calls"),
    ),
    SqlCheck(
        "fact_911_calls",
        "enough_geolocated_calls_for_zones",
        "Pre-check: zone clustering needs at least 100 geo-located calls. Blocks the ML steps.",
        "SELECT count(*) FROM {t} WHERE latitude_centroid IS NOT NULL",
        _at_least(lambda p: p.min_geolocated_calls_for_zones, "geolocated_calls"),
    ),
    SqlCheck(
        "fact_911_calls",
        "enough_days_for_forecast",
        "Pre-check: the forecast needs at least 30 distinct call dates. Blocks the ML steps.",
        "SELECT count(DISTINCT response_date) FROM {t}",
        _at_least(lambda p: p.min_days_for_forecast, "distinct_days"),
    ),
    # fact_event_incidents
    SqlCheck(
        "fact_event_incidents",
        "no_duplicate_event_links",
        "Each (call, event) pair is linked once.",
        UNIQUE_KEY.format(key="incident_number, response_datetime, event_id"),
        _zero("duplicate_links"),
        unique_key=(
            "incident_number",
            "response_datetime",
            "event_id",
        ),
    ),
    SqlCheck(
        "fact_event_incidents",
        "links_within_event_dates",
        "Every linked call happened between its event's start and end date (inclusive).",
        "SELECT count(*) FROM {t} l JOIN {events} e USING (event_id) "
        "WHERE l.call_date < e.start_date OR l.call_date > e.end_date",
        _zero("links_outside_dates"),
    ),
    # event_risk_scores
    SqlCheck(
        "event_risk_scores",
        "risk_scores_between_0_and_100",
        "Every event risk score lies in [0, 100] and its category matches the cut-offs.",
        "SELECT count(*) FROM {t} WHERE risk_score < 0 OR risk_score > 100 OR risk_category <> "
        "CASE WHEN risk_score >= 70 THEN 'HIGH' WHEN risk_score >= 40 THEN 'MEDIUM' ELSE 'LOW' END",
        _zero("invalid_scores"),
    ),
    # zone_risk_scores
    SqlCheck(
        "zone_risk_scores",
        "zone_geo_ids_unique",
        "Each block group has one zone.",
        UNIQUE_KEY.format(key="geo_id"),
        _zero("duplicate_geo_ids"),
        unique_key=("geo_id",),
    ),
    SqlCheck(
        "zone_risk_scores",
        "zones_use_known_labels",
        "Every zone is HIGH_RISK, MEDIUM_RISK or LOW_RISK.",
        "SELECT count(*) FROM {t} WHERE risk_zone NOT IN ('HIGH_RISK', 'MEDIUM_RISK', 'LOW_RISK')",
        _zero("unknown_labels"),
    ),
]


@dataclass(frozen=True)
class AlertCheck:
    """A WARN check evaluated in the asset's own step on the frame it returns."""

    asset: str
    name: str
    description: str
    evaluate: Callable[[Any, PipelineSettings], tuple[alerts.Alert | None, dict]]

    @property
    def spec(self) -> dg.AssetCheckSpec:
        return dg.AssetCheckSpec(name=self.name, asset=self.asset, description=self.description)


@dataclass(frozen=True)
class CallTotals:
    """Whole-table call counts (a partitioned run sees only its months in memory)."""

    calls: int
    matched: int


def _geo_match(totals: CallTotals, pipeline: PipelineSettings) -> tuple[alerts.Alert | None, dict]:
    value = rate(totals.matched, totals.calls)
    alert = None
    if value < pipeline.min_geo_match_rate:
        alert = alerts.Alert(
            severity=alerts.WARNING,
            type="GEO_MATCH_LOW",
            message=f"Geo match rate {value:.1%} (< {pipeline.min_geo_match_rate:.0%})",
            action_required="Load the block groups of every county that appears in Geo IDs.",
        )
    return alert, {
        "geo_match_rate": dg.MetadataValue.float(round(value, 4)),
        "threshold": pipeline.min_geo_match_rate,
        "calls_with_null_geo_fk": totals.calls - totals.matched,
    }


def forecast_available(forecast: pd.DataFrame) -> bool:
    """A real model forecast exists (a flat-mean fallback does not count)."""
    rows = forecast[forecast["kind"] == "forecast"]
    return len(rows) > 0 and not bool(rows["is_fallback"].any())


@dg.asset_check(
    blocking=True,
    asset="association_rules",
    description="Every rule meets confidence ≥ 0.3 and lift ≥ 1.2 and has both sides.",
)
def rules_meet_thresholds(association_rules: pd.DataFrame) -> dg.AssetCheckResult:
    rules = association_rules
    bad = int(
        (
            (rules["confidence"] < 0.3)
            | (rules["lift"] < 1.2)
            | (rules["antecedents"] == "")
            | (rules["consequents"] == "")
        ).sum()
    )
    return dg.AssetCheckResult(passed=bad == 0, metadata={"rules_violating_thresholds": bad})


@dg.asset_check(
    blocking=True,
    asset="zone_clusters",
    description="Every location has exactly one cluster and a known zone label.",
)
def every_location_zoned_once(zone_clusters: pd.DataFrame) -> dg.AssetCheckResult:
    duplicates = int(zone_clusters["geo_id"].duplicated().sum())
    unlabeled = int(
        (~zone_clusters["risk_zone"].isin(["HIGH_RISK", "MEDIUM_RISK", "LOW_RISK"])).sum()
    )
    return dg.AssetCheckResult(
        passed=duplicates == 0 and unlabeled == 0,
        metadata={"duplicate_locations": duplicates, "unlabeled_locations": unlabeled},
    )


@dg.asset_check(
    blocking=True,
    asset="call_forecast",
    description="Forecast values are finite and never negative.",
)
def forecast_non_negative(call_forecast: pd.DataFrame) -> dg.AssetCheckResult:
    predicted = call_forecast["predicted_calls"]
    bad = int((predicted.isna() | (predicted < 0)).sum())
    return dg.AssetCheckResult(passed=bad == 0, metadata={"invalid_predictions": bad})


ALERT_CHECKS: list[AlertCheck] = [
    AlertCheck(
        "fact_911_calls",
        "geo_match_rate_above_90pct",
        "At least 90 % of calls match a block group in dim_geo (unmatched ones keep a NULL FK).",
        _geo_match,
    ),
    AlertCheck(
        "fact_911_calls",
        "warehouse_holds_100k_calls",
        "Alert DATA_VOLUME: the warehouse should hold at least 100,000 calls.",
        lambda t, p: (
            alerts.check_data_volume(t.calls, _thresholds(p)),
            {"calls": t.calls, "threshold": p.min_warehouse_calls},
        ),
    ),
    AlertCheck(
        "association_rules",
        "association_rules_found",
        "Alert ML_RULES_EMPTY: at least one association rule was found.",
        lambda f, p: (alerts.check_rules(len(f)), {"rules": len(f), "threshold": 1}),
    ),
    AlertCheck(
        "zone_clusters",
        "at_least_100_zones_clustered",
        "Alert ML_CLUSTERING: at least 100 locations received a risk zone.",
        lambda f, p: (
            alerts.check_clustering(len(f), _thresholds(p)),
            {"zones_clustered": len(f), "threshold": p.min_zones_clustered},
        ),
    ),
    AlertCheck(
        "call_forecast",
        "forecast_generated",
        "Alert ML_FORECAST_MISSING: a model forecast (not a fallback) covers the horizon.",
        lambda f, p: (
            alerts.check_forecast(
                forecast_available(f)
                and int((f["kind"] == "forecast").sum()) >= p.forecast_horizon_days
            ),
            {
                "forecast_days": int((f["kind"] == "forecast").sum()),
                "horizon_days": p.forecast_horizon_days,
                "is_fallback": bool(f["is_fallback"].any()),
            },
        ),
    ),
    AlertCheck(
        "event_risk_scores",
        "risk_scores_not_all_zero",
        "Alert RISK_ALL_ZERO: at least one event has a non-zero risk score.",
        lambda f, p: (
            alerts.check_risk_scores(f["risk_score"].tolist()),
            {"events_with_nonzero_risk": int((f["risk_score"] > 0).sum())},
        ),
    ),
    AlertCheck(
        "event_risk_scores",
        "at_most_10_high_risk_events",
        "Alert HIGH_RISK_SPIKE: more than 10 HIGH risk events needs attention.",
        lambda f, p: (
            alerts.check_high_risk_spike(int((f["risk_category"] == "HIGH").sum()), _thresholds(p)),
            {"high_risk_events": int((f["risk_category"] == "HIGH").sum()), "threshold": 10},
        ),
    ),
]


def alert_check_specs(asset: str) -> list[dg.AssetCheckSpec]:
    return [check.spec for check in ALERT_CHECKS if check.asset == asset]


def alert_check_results(
    asset: str, value: Any, pipeline: PipelineSettings
) -> list[dg.AssetCheckResult]:
    results = []
    for check in ALERT_CHECKS:
        if check.asset != asset:
            continue
        fired, metadata = check.evaluate(value, pipeline)
        if fired:
            metadata["alert"] = f"{fired.severity} {fired.type}: {fired.message}"
        results.append(
            dg.AssetCheckResult(
                asset_key=asset,
                check_name=check.name,
                passed=fired is None,
                severity=WARN,
                metadata=metadata,
            )
        )
    return results


ALL_CHECKS: list[dg.AssetChecksDefinition] = [_build_sql_check(spec) for spec in SQL_CHECKS] + [
    rules_meet_thresholds,
    every_location_zoned_once,
    forecast_non_negative,
]
