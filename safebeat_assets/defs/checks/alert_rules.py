"""The pipeline's alert rules (and the geo match rate) as WARN checks, evaluated inside the step
of the asset they judge, on the value it returns.

Evaluated in-step so that they never block and the report always sees this run's results. Each
rule itself lives in `analytics.alerts`; here it is only bound to an asset, a check name, its
metadata and the way the alert sensor reports a failure.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import dagster as dg
import pandas as pd

from ... import alerting
from ...analytics import alerts
from ...analytics.forecast import forecast_available, forecast_days
from ...analytics.risk import RISK_CATEGORIES
from ...asset_names import (
    ASSOCIATION_RULES,
    CALL_FORECAST,
    EVENT_RISK_SCORES,
    FACT_CALLS,
    ZONE_CLUSTERS,
)
from ...domain import NO_EVENTS_SOURCE, NO_EVENTS_SOURCE_TEXT
from ...resources import PipelineSettings

Evaluation = tuple[alerts.Alert | None, dict[str, Any]]


def rate(part: int, whole: int) -> float:
    return float(part) / whole if whole else 0.0


@dataclass(frozen=True)
class CallTotals:
    """Whole-table call counts (a partitioned run sees only its months in memory)."""

    calls: int
    matched: int


@dataclass(frozen=True)
class AlertCheck:
    """A WARN check evaluated in the asset's own step on the value it returns."""

    asset: str
    name: str
    description: str
    evaluate: Callable[[Any, PipelineSettings], Evaluation]
    # How a failure is reported by the check-failure alert sensor (None: not alerted).
    alert: alerting.CheckRule | None = None

    @property
    def spec(self) -> dg.AssetCheckSpec:
        return dg.AssetCheckSpec(name=self.name, asset=self.asset, description=self.description)


def geo_match_rate(totals: CallTotals, pipeline: PipelineSettings) -> Evaluation:
    value = rate(totals.matched, totals.calls)
    # No calls yet (a backfill's first run may hold only months without calls): no rate to
    # judge; the data-volume check reports the empty warehouse.
    fired = (
        alerts.check_geo_match_rate(value, pipeline.alert_thresholds()) if totals.calls else None
    )
    return fired, {
        "geo_match_rate": dg.MetadataValue.float(round(value, 4)),
        "threshold": pipeline.min_geo_match_rate,
        "calls_with_null_geo_fk": totals.calls - totals.matched,
    }


def warehouse_volume(totals: CallTotals, pipeline: PipelineSettings) -> Evaluation:
    fired = alerts.check_data_volume(totals.calls, pipeline.alert_thresholds())
    return fired, {"calls": totals.calls, "threshold": pipeline.min_warehouse_calls}


def rules_found(rules: pd.DataFrame, pipeline: PipelineSettings) -> Evaluation:
    thresholds = pipeline.alert_thresholds()
    fired = alerts.check_rules(len(rules), thresholds)
    return fired, {"rules": len(rules), "threshold": thresholds.min_rules}


def zones_clustered(zones: pd.DataFrame, pipeline: PipelineSettings) -> Evaluation:
    fired = alerts.check_clustering(len(zones), pipeline.alert_thresholds())
    return fired, {"zones_clustered": len(zones), "threshold": pipeline.min_zones_clustered}


def forecast_generated(forecast: pd.DataFrame, pipeline: PipelineSettings) -> Evaluation:
    days = forecast_days(forecast)
    complete = forecast_available(forecast) and days >= pipeline.forecast_horizon_days
    return alerts.check_forecast(complete, pipeline.alert_thresholds()), {
        "forecast_days": days,
        "horizon_days": pipeline.forecast_horizon_days,
        "is_fallback": bool(forecast["is_fallback"].any()),
    }


def risk_not_all_zero(scores: pd.DataFrame, pipeline: PipelineSettings) -> Evaluation:
    fired = alerts.check_risk_scores(
        scores["risk_score"].tolist(), events_source=pipeline.events_source
    )
    return fired, {
        "events_with_nonzero_risk": int((scores["risk_score"] > 0).sum()),
        **events_source_metadata(pipeline),
    }


def high_risk_events(scores: pd.DataFrame) -> int:
    return int((scores["risk_category"] == RISK_CATEGORIES[0]).sum())


def high_risk_within_limit(scores: pd.DataFrame, pipeline: PipelineSettings) -> Evaluation:
    count = high_risk_events(scores)
    fired = alerts.check_high_risk_spike(count, pipeline.alert_thresholds())
    return fired, {
        "high_risk_events": count,
        "threshold": pipeline.max_high_risk_events,
        **events_source_metadata(pipeline),
    }


def no_events_source_metadata() -> dict[str, str]:
    """What an event asset or check says when the city publishes no permits: its zero rows
    are the absent feed, not a failed read or linkage."""
    return {"events_source": NO_EVENTS_SOURCE, "note": NO_EVENTS_SOURCE_TEXT}


def events_source_metadata(pipeline: PipelineSettings) -> dict[str, str]:
    """`no_events_source_metadata` for a city without a permit feed, else nothing."""
    return {} if pipeline.events_source else no_events_source_metadata()


_DEFAULTS = alerts.DEFAULT_THRESHOLDS

ALERT_CHECKS: list[AlertCheck] = [
    AlertCheck(
        FACT_CALLS,
        "geo_match_rate_above_minimum",
        f"At least PipelineSettings.min_geo_match_rate ({_DEFAULTS.min_geo_match_rate:.0%} by "
        "default) of calls match a block group in dim_geo (unmatched ones keep a NULL FK).",
        geo_match_rate,
    ),
    AlertCheck(
        FACT_CALLS,
        "warehouse_holds_enough_calls",
        "Alert DATA_VOLUME: the warehouse should hold at least "
        f"PipelineSettings.min_warehouse_calls calls ({_DEFAULTS.min_warehouse_calls:,} by "
        "default).",
        warehouse_volume,
        alerting.rule_of_alert(alerts.check_data_volume(None)),
    ),
    AlertCheck(
        ASSOCIATION_RULES,
        "association_rules_found",
        "Alert ML_RULES_EMPTY: at least one association rule was found.",
        rules_found,
        alerting.rule_of_alert(alerts.check_rules(None)),
    ),
    AlertCheck(
        ZONE_CLUSTERS,
        "enough_zones_clustered",
        "Alert ML_CLUSTERING: at least PipelineSettings.min_zones_clustered locations "
        f"({_DEFAULTS.min_zones} by default) received a risk zone.",
        zones_clustered,
        alerting.rule_of_alert(alerts.check_clustering(None)),
    ),
    AlertCheck(
        CALL_FORECAST,
        "forecast_generated",
        "Alert ML_FORECAST_MISSING: a model forecast (not a fallback) covers the horizon.",
        forecast_generated,
        alerting.rule_of_alert(alerts.check_forecast(False)),
    ),
    AlertCheck(
        EVENT_RISK_SCORES,
        "risk_scores_not_all_zero",
        "Alert RISK_ALL_ZERO: at least one event has a non-zero risk score.",
        risk_not_all_zero,
        alerting.rule_of_alert(alerts.check_risk_scores(None)),
    ),
    AlertCheck(
        EVENT_RISK_SCORES,
        "high_risk_events_within_limit",
        "Alert HIGH_RISK_SPIKE: more HIGH risk events than PipelineSettings.max_high_risk_events "
        f"({_DEFAULTS.max_high_events} by default) needs attention.",
        high_risk_within_limit,
        alerting.rule_of_alert(alerts.check_high_risk_spike(2**31)),
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
                severity=dg.AssetCheckSeverity.WARN,
                metadata=metadata,
            )
        )
    return results
