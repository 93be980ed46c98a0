"""The ML pre-checks: each guards one model, evaluated in that model's step before it is fitted.

Each measures the model's input, its per-month aggregates (`defs/aggregates.py`): the calls in
the rule transactions, the located calls in the block-group sums, the days in the calls per day.

They replace the old pipeline's ML "pre-checks", which skipped all three models when any one
lacked data. Here a failed pre-check is a blocking ERROR check on its own model: the model is
not fitted and keeps its previous output, its step fails (visible in the UI's check views),
and the other models, the event links and the risk scores proceed. The daily report lists the
skipped model with the check's measured value and threshold.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import dagster as dg
import pandas as pd

from ... import alerting
from ...analytics import alerts as alert_rules
from ...analytics import requirements
from ...asset_names import ASSOCIATION_RULES, CALL_FORECAST, ZONE_CLUSTERS
from ...resources import PipelineSettings


@dataclass(frozen=True)
class PreCheck:
    asset: str
    name: str
    needs: str  # what the model needs, in words
    measure_label: str
    threshold_setting: str  # the PipelineSettings field holding the minimum
    default: int
    measure: Callable[[pd.DataFrame], int]
    alert_type: str

    @property
    def description(self) -> str:
        return (
            f"Pre-check: {self.needs} (PipelineSettings.{self.threshold_setting}, "
            f"{self.default:,} by default). Evaluated on the model's input before fitting; a "
            f"failure skips {self.asset} only."
        )

    @property
    def spec(self) -> dg.AssetCheckSpec:
        return dg.AssetCheckSpec(
            self.name, asset=self.asset, description=self.description, blocking=True
        )

    @property
    def alert(self) -> alerting.CheckRule:
        return alerting.pre_check_rule(self.alert_type, self.needs)

    def evaluate(
        self, model_input: pd.DataFrame, pipeline: PipelineSettings
    ) -> dg.AssetCheckResult:
        """The check on the model's input: its per-month aggregates, all months together."""
        value = int(self.measure(model_input))
        threshold = int(getattr(pipeline, self.threshold_setting))
        passed = value >= threshold
        return dg.AssetCheckResult(
            check_name=self.name,
            asset_key=dg.AssetKey(self.asset),
            passed=passed,
            severity=dg.AssetCheckSeverity.ERROR,
            metadata={self.measure_label: value, "threshold": threshold},
            description=None
            if passed
            else f"{self.measure_label.replace('_', ' ')} {value:,} < {threshold:,}: "
            f"{self.asset} skipped",
        )


def transaction_calls(transactions: pd.DataFrame) -> int:
    """Calls counted in the rule transactions (every call, short transactions too)."""
    return int(transactions["calls"].sum())


def located_calls(sums: pd.DataFrame) -> int:
    """Located calls counted in the block-group sums."""
    return int(sums["calls"].sum())


def days_with_calls(day_counts: pd.DataFrame) -> int:
    """Distinct dates with at least one call in the calls per day."""
    return int(day_counts.loc[day_counts["calls"] > 0, "date"].nunique())


RULES_PRE_CHECK = PreCheck(
    ASSOCIATION_RULES,
    "enough_calls_for_rules",
    "association rules need enough calls",
    "calls",
    "min_calls_for_rules",
    requirements.MIN_CALLS_FOR_RULES,
    transaction_calls,
    alert_rules.ML_RULES_EMPTY,
)
ZONES_PRE_CHECK = PreCheck(
    ZONE_CLUSTERS,
    "enough_geolocated_calls_for_zones",
    "zone clustering needs enough geo-located calls",
    "geolocated_calls",
    "min_geolocated_calls_for_zones",
    requirements.MIN_GEOLOCATED_CALLS_FOR_ZONES,
    located_calls,
    alert_rules.ML_CLUSTERING,
)
FORECAST_PRE_CHECK = PreCheck(
    CALL_FORECAST,
    "enough_days_for_forecast",
    "the forecast needs enough distinct call dates",
    "distinct_days",
    "min_days_for_forecast",
    requirements.MIN_DAYS_FOR_FORECAST,
    days_with_calls,
    alert_rules.ML_FORECAST_MISSING,
)
PRE_CHECKS = (RULES_PRE_CHECK, ZONES_PRE_CHECK, FORECAST_PRE_CHECK)
