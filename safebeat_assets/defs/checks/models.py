"""Blocking checks on the model outputs: every rule meets the mining thresholds, every location
has one known zone, every prediction is a non-negative number."""

import dagster as dg
import pandas as pd

from ...analytics.rules import MIN_CONFIDENCE, MIN_LIFT
from ...analytics.zones import ZONE_LABELS
from ...asset_names import ASSOCIATION_RULES, CALL_FORECAST, ZONE_CLUSTERS
from ...retries import TRANSIENT_RETRY, fail_fast_unless_transient_fn


@dg.asset_check(
    blocking=True,
    retry_policy=TRANSIENT_RETRY,
    asset=ASSOCIATION_RULES,
    description=(
        f"Every rule meets confidence ≥ {MIN_CONFIDENCE} and lift ≥ {MIN_LIFT} and has both sides."
    ),
)
@fail_fast_unless_transient_fn
def rules_meet_thresholds(association_rules: pd.DataFrame) -> dg.AssetCheckResult:
    rules = association_rules
    bad = int(
        (
            (rules["confidence"] < MIN_CONFIDENCE)
            | (rules["lift"] < MIN_LIFT)
            | (rules["antecedents"] == "")
            | (rules["consequents"] == "")
        ).sum()
    )
    return dg.AssetCheckResult(
        passed=bad == 0,
        metadata={
            "rules_violating_thresholds": bad,
            "min_confidence": MIN_CONFIDENCE,
            "min_lift": MIN_LIFT,
        },
    )


@dg.asset_check(
    blocking=True,
    retry_policy=TRANSIENT_RETRY,
    asset=ZONE_CLUSTERS,
    description=f"Every location has exactly one cluster and a zone label of {', '.join(ZONE_LABELS)}.",
)
@fail_fast_unless_transient_fn
def every_location_zoned_once(zone_clusters: pd.DataFrame) -> dg.AssetCheckResult:
    duplicates = int(zone_clusters["geo_id"].duplicated().sum())
    unlabeled = int((~zone_clusters["risk_zone"].isin(ZONE_LABELS)).sum())
    return dg.AssetCheckResult(
        passed=duplicates == 0 and unlabeled == 0,
        metadata={"duplicate_locations": duplicates, "unlabeled_locations": unlabeled},
    )


@dg.asset_check(
    blocking=True,
    retry_policy=TRANSIENT_RETRY,
    asset=CALL_FORECAST,
    description="Forecast values are finite and never negative.",
)
@fail_fast_unless_transient_fn
def forecast_non_negative(call_forecast: pd.DataFrame) -> dg.AssetCheckResult:
    predicted = call_forecast["predicted_calls"]
    bad = int((predicted.isna() | (predicted < 0)).sum())
    return dg.AssetCheckResult(passed=bad == 0, metadata={"invalid_predictions": bad})


MODEL_CHECKS = [rules_meet_thresholds, every_location_zoned_once, forecast_non_negative]
