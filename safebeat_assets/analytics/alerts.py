"""Pipeline alerts: the ONE definition used by the Dagster checks and the report.

Each rule is a small predicate `check_*(value, thresholds) -> Alert | None`, so a check can
evaluate exactly its own rule; `evaluate_alerts` runs them all for the report and the alerts JSON. A value of None
means "not produced this run" and counts as missing output (it fires), except for the HIGH event
count, where an unknown count cannot be a spike.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass

from .requirements import FORECAST_HORIZON_DAYS, MIN_DAYS_FOR_FORECAST

WARNING = "WARNING"
CRITICAL = "CRITICAL"

DATA_VOLUME = "DATA_VOLUME"
ML_RULES_EMPTY = "ML_RULES_EMPTY"
ML_CLUSTERING = "ML_CLUSTERING"
ML_FORECAST_MISSING = "ML_FORECAST_MISSING"
RISK_ALL_ZERO = "RISK_ALL_ZERO"
HIGH_RISK_SPIKE = "HIGH_RISK_SPIKE"
GEO_MATCH_LOW = "GEO_MATCH_LOW"


@dataclass(frozen=True)
class Alert:
    severity: str
    type: str
    message: str
    action_required: str

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class AlertThresholds:
    min_warehouse_calls: int = 100_000
    min_rules: int = 1
    min_zones: int = 100
    max_high_events: int = 10
    min_geo_match_rate: float = 0.90
    forecast_horizon_days: int = FORECAST_HORIZON_DAYS
    min_days_for_forecast: int = MIN_DAYS_FOR_FORECAST


DEFAULT_THRESHOLDS = AlertThresholds()


def check_data_volume(
    warehouse_calls: int | None, thresholds: AlertThresholds = DEFAULT_THRESHOLDS
) -> Alert | None:
    """Fires when the warehouse holds fewer calls than expected (or the count is unknown)."""
    if warehouse_calls is not None and warehouse_calls >= thresholds.min_warehouse_calls:
        return None
    shown = "unknown" if warehouse_calls is None else f"{warehouse_calls:,}"
    return Alert(
        severity=WARNING,
        type=DATA_VOLUME,
        message=f"911 calls in the warehouse: {shown} (< {thresholds.min_warehouse_calls:,})",
        action_required="Check that the latest APD export landed and the load completed.",
    )


def check_geo_match_rate(
    match_rate: float, thresholds: AlertThresholds = DEFAULT_THRESHOLDS
) -> Alert | None:
    """Fires when too few calls match a block group (a county's block groups are missing)."""
    if match_rate >= thresholds.min_geo_match_rate:
        return None
    return Alert(
        severity=WARNING,
        type=GEO_MATCH_LOW,
        message=f"Geo match rate {match_rate:.1%} (< {thresholds.min_geo_match_rate:.0%})",
        action_required="Load the block groups of every county that appears in Geo IDs.",
    )


def check_rules(
    rules: int | None, thresholds: AlertThresholds = DEFAULT_THRESHOLDS
) -> Alert | None:
    """Fires when association-rule mining produced fewer rules than expected (or none ran)."""
    if rules is not None and rules >= thresholds.min_rules:
        return None
    shown = "not generated" if rules is None else str(rules)
    return Alert(
        severity=WARNING,
        type=ML_RULES_EMPTY,
        message=f"Association rules discovered: {shown}",
        action_required="Review the rule thresholds (support/confidence/lift) and the input calls.",
    )


def check_clustering(
    zones_clustered: int | None, thresholds: AlertThresholds = DEFAULT_THRESHOLDS
) -> Alert | None:
    """Fires when fewer locations than expected received a risk zone."""
    if zones_clustered is not None and zones_clustered >= thresholds.min_zones:
        return None
    shown = "not generated" if zones_clustered is None else str(zones_clustered)
    return Alert(
        severity=WARNING,
        type=ML_CLUSTERING,
        message=f"Locations with a risk zone: {shown} (< {thresholds.min_zones})",
        action_required="Check the geo match rate and the block-group lookup.",
    )


def check_forecast(
    forecast_available: bool, thresholds: AlertThresholds = DEFAULT_THRESHOLDS
) -> Alert | None:
    """Fires when no forecast was produced (pre-check failed or the model errored)."""
    if forecast_available:
        return None
    return Alert(
        severity=WARNING,
        type=ML_FORECAST_MISSING,
        message=f"The {thresholds.forecast_horizon_days}-day call-volume forecast was not generated",
        action_required=(
            f"Check the forecast pre-check (≥ {thresholds.min_days_for_forecast} distinct dates) "
            "and the model logs."
        ),
    )


def _is_nonzero(score) -> bool:
    """Missing scores (None, NaN, pd.NA) carry no signal, so they count as zero."""
    try:
        value = float(score)
    except (TypeError, ValueError):
        return False
    return not math.isnan(value) and value != 0.0


def check_risk_scores(
    risk_scores: Sequence[float] | None,
    thresholds: AlertThresholds = DEFAULT_THRESHOLDS,
    events_source: bool = True,
) -> Alert | None:
    """Fires when every event risk score is zero, or there are no scores at all. A city without
    an events source has no events to score: no scores is then what is expected, not a broken
    linkage."""
    if not events_source:
        return None
    scores = [] if risk_scores is None else list(risk_scores)
    if any(_is_nonzero(s) for s in scores):
        return None
    detail = "no event risk scores" if not scores else f"all {len(scores)} event risk scores are 0"
    return Alert(
        severity=WARNING,
        type=RISK_ALL_ZERO,
        message=f"Risk scores all zero: {detail}",
        action_required="Check the event ↔ call linkage (event coordinates, dates and radius).",
    )


def check_high_risk_spike(
    high_risk_events: int | None, thresholds: AlertThresholds = DEFAULT_THRESHOLDS
) -> Alert | None:
    """Fires (CRITICAL) when more events than the threshold are HIGH risk."""
    if high_risk_events is None or high_risk_events <= thresholds.max_high_events:
        return None
    return Alert(
        severity=CRITICAL,
        type=HIGH_RISK_SPIKE,
        message=f"{high_risk_events} HIGH risk events (> {thresholds.max_high_events})",
        action_required="Review the HIGH risk events and brief the responsible units.",
    )


def evaluate_alerts(
    *,
    warehouse_calls: int | None,
    rules: int | None,
    zones_clustered: int | None,
    forecast_available: bool,
    risk_scores: Sequence[float] | None,
    high_risk_events: int | None,
    thresholds: AlertThresholds = DEFAULT_THRESHOLDS,
    events_source: bool = True,
) -> list[Alert]:
    """All rules, in a fixed order; the alerts that fired."""
    fired = [
        check_data_volume(warehouse_calls, thresholds),
        check_rules(rules, thresholds),
        check_clustering(zones_clustered, thresholds),
        check_forecast(forecast_available, thresholds),
        check_risk_scores(risk_scores, thresholds, events_source),
        check_high_risk_spike(high_risk_events, thresholds),
    ]
    return [a for a in fired if a is not None]


def alerts_payload(alerts: Sequence[Alert], generated_at: str) -> dict:
    """The alerts JSON document: generated_at, total_alerts, alerts."""
    return {
        "generated_at": generated_at,
        "total_alerts": len(alerts),
        "alerts": [a.to_dict() for a in alerts],
    }
