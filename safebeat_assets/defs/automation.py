"""Declarative automation and freshness: the honest replacement for the old pipeline's
skip-if-exists branch.

Work follows change: an asset is requested only when it is missing, its code version changed, or
an upstream *data version* changed (content-derived, so re-reading identical input changes
nothing), and never while an upstream blocking check is failing.
"""

from datetime import timedelta

import dagster as dg

from ..asset_names import (
    DAILY_REPORT,
    EVENT_RISK_SCORES,
    FACT_CALLS,
    FACT_EVENT_INCIDENTS,
    RAW_ASSETS,
    RAW_CALLS,
    ZONE_RISK_SCORES,
)
from .sensors.raw_months import MONTHS_FROM_SENSOR

AC = dg.AutomationCondition


def on_change(ignoring: tuple[str, ...] = ()) -> dg.AutomationCondition:
    """Missing, code changed, or an upstream data version changed (upstream assets in
    `ignoring` excepted), once no upstream is in progress or failing a blocking check."""
    updated = AC.any_deps_updated()
    if ignoring:
        updated = updated.ignore(dg.AssetSelection.assets(*ignoring))
    upstream_changed = updated.replace("newly_updated", AC.data_version_changed()).with_label(
        "upstream data version changed"
    )
    return (
        ~AC.any_deps_in_progress()
        & (upstream_changed | AC.code_version_changed() | AC.newly_missing())
        & ~AC.any_deps_missing()
        & AC.all_deps_blocking_checks_passed()
    ).with_label("missing, code changed or upstream data changed")


# Upstream assets whose updates alone do not make an asset stale. The report counts the raw
# export's rows, but a new export must not trigger it before the facts and models it summarises
# are rebuilt: their updates trigger it. The daily schedule honours the same exceptions.
IGNORED_UPSTREAM: dict[str, tuple[str, ...]] = {DAILY_REPORT: (RAW_CALLS,)}

ON_CHANGE = on_change()
REPORT_ON_CHANGE = on_change(ignoring=IGNORED_UPSTREAM[DAILY_REPORT])
# Raw assets have no upstream in the graph: new files arrive through the landing sensor.
ON_CODE_CHANGE_OR_MISSING = (AC.code_version_changed() | AC.newly_missing()).with_label(
    "missing or code changed"
)
# Cleaned calls read the whole raw export but only their own months: which months changed is
# known from the raw export's month fingerprints, so the raw-month sensor requests them.
ON_CODE_CHANGE = AC.code_version_changed().with_label("code changed (new data: month sensor)")


def automation_condition_for(spec: dg.AssetSpec) -> dg.AutomationCondition:
    name = spec.key.to_user_string()
    if name in RAW_ASSETS:
        return ON_CODE_CHANGE_OR_MISSING
    if name in MONTHS_FROM_SENSOR:
        return ON_CODE_CHANGE
    if name == DAILY_REPORT:
        return REPORT_ON_CHANGE
    return ON_CHANGE


automation_sensor = dg.AutomationConditionSensorDefinition(
    "safebeat_automation_sensor",
    target=dg.AssetSelection.all(),
    default_status=dg.DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=30,
    description="Requests runs for assets whose automation condition is true (see ON_CHANGE).",
)

# The report is due after the 03:00 UTC schedule: between 03:00 and 05:00 UTC every day.
REPORT_FRESHNESS = dg.FreshnessPolicy.cron(
    deadline_cron="0 5 * * *", lower_bound_delta=timedelta(hours=2), timezone="UTC"
)
# Facts and risk scores follow the daily export.
DAILY_FRESHNESS = dg.FreshnessPolicy.time_window(
    fail_window=timedelta(hours=48), warn_window=timedelta(hours=26)
)
DEFAULT_FRESHNESS = dg.FreshnessPolicy.time_window(
    fail_window=timedelta(days=7), warn_window=timedelta(days=3)
)
FRESHNESS_BY_ASSET = {
    DAILY_REPORT: REPORT_FRESHNESS,
    FACT_CALLS: DAILY_FRESHNESS,
    FACT_EVENT_INCIDENTS: DAILY_FRESHNESS,
    EVENT_RISK_SCORES: DAILY_FRESHNESS,
    ZONE_RISK_SCORES: DAILY_FRESHNESS,
}


def with_policies(spec: dg.AssetSpec) -> dg.AssetSpec:
    """Automation condition and freshness policy for every asset, decided in one place."""
    policy = FRESHNESS_BY_ASSET.get(spec.key.to_user_string(), DEFAULT_FRESHNESS)
    spec = dg.apply_freshness_policy(spec, policy, overwrite_existing=False)
    return spec.replace_attributes(automation_condition=automation_condition_for(spec))
