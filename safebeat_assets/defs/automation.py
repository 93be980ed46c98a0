"""Declarative automation and freshness: the honest replacement for the old pipeline's
skip-if-exists branch.

Who requests what, so that no two actors request the same work:

- raw assets: the landing sensor (new or changed files) and the daily schedule; automation only
  on a code change;
- cleaned and quarantined calls: the raw-month sensor, for the months a new export changed and
  the months never built; automation only on a code change;
- everything else: automation (`on_change`), once per change of what it reads; for the monthly
  assets (facts, event links, model aggregates) per month, so a changed month of enriched calls
  rebuilds that month's aggregates only, then the models that read them (the models, the
  hot-spot maps and the event-impact assets react to their aggregates, not to the call fact
  they depend on for its checks).

`on_change` is built for what the daemon actually does, not for a run that executes a whole
graph at once:

- A trigger (an upstream data version changed, the code version changed, or the asset became
  missing) is *remembered* until the asset is requested or updated (`since`), so a trigger seen
  while the asset must wait is not lost. A parent updated in the same run as the asset (the daily
  job) resets in the same tick and triggers nothing. Dagster's `executed_with_root_target`, which
  `any_deps_updated` relies on for that, recognises only the last partition of a multi-month run
  (it reads the asset's latest event), which rebuilt every other month a second time.
- What can share a run is requested in one tick: a dependency requested on this tick that can
  run in the same run (same partitions, a same-run partition mapping) triggers the asset too,
  and that run builds it first. A new month's chain (enriched calls, facts, event links,
  aggregates) is one run; the unpartitioned models, risk scores and report below it the next.
- Otherwise it waits while anything upstream is busy (`upstream_busy`): an asset upstream in
  progress (queued runs and backfills included), requested on this tick in a run it cannot
  share, or whose own dependency has new data since the previous tick while it was not updated
  (it is about to be requested, by automation or by the raw-month sensor). Work then starts once
  per wave of changes instead of once per upstream run. A dependency re-read with the same data
  (the daily run re-reads every landing file) holds nothing back.
- "In progress" is judged as of the tick's view of the event log (`in_progress.InProgress`): a
  run that ends while the tick is evaluated still counts. Dagster's own test reads the live run
  while the updates come from the tick's view: a tick that read a parent built by a run and not
  yet the child built after it in the same run, then found the run ended, requested the child a
  second time (seen in the daemon end-to-end test).
- Monthly parents have one data version per run (Dagster 1.13 records the same version for every
  partition of a run); the raw-month sensor only requests changed months, so a month's version
  changes only when its run had something new to build.

Every check runs with its asset, in automation's runs as in the jobs (`with_check_conditions`):
Dagster 1.13 puts the checks declared inside an asset (pre-checks, alert checks) into every
automation run of that asset by name, and then leaves out the checks defined on their own (model
and warehouse checks) unless some check of the asset has an automation condition. A blocking
check that never runs never passes, and whatever it guards (zone risk scores) was never built.
"""

from datetime import timedelta

import dagster as dg
from dagster_shared.record import replace as replace_record

from ..asset_names import (
    ASSOCIATION_RULES,
    CALL_BASELINE_RATES,
    CALL_FORECAST,
    CALL_HOT_SPOTS,
    CLEANED_CALLS,
    DAILY_REPORT,
    EVENT_IMPACT_MODEL,
    EVENT_RISK_SCORES,
    FACT_CALLS,
    FACT_EVENT_INCIDENTS,
    QUARANTINED_CALLS,
    RAW_ASSETS,
    RAW_CALLS,
    ZONE_CLUSTERS,
    ZONE_RISK_SCORES,
)
from ..settings import ENV_AUTOMATION_TICK_SECONDS, automation_tick_seconds, daily_run_utc
from .in_progress import InProgress
from .jobs import PIPELINE_RUN_TAGS, REPORT_AFTER_TAG
from .upstream_busy import UpstreamBusy

AC = dg.AutomationCondition

# The assets whose months the raw-month sensor requests (`sensors/raw_months.py`).
MONTHS_FROM_SENSOR = (CLEANED_CALLS, QUARANTINED_CALLS)
MODELS = (ASSOCIATION_RULES, ZONE_CLUSTERS, CALL_FORECAST)
# What reads the per-month aggregates (`defs/aggregates.py`) instead of the calls.
AGGREGATE_READERS = (*MODELS, CALL_HOT_SPOTS, CALL_BASELINE_RATES, EVENT_IMPACT_MODEL)

# The sensors' tick interval is a setting (`settings.automation_tick_seconds`).
TICK_SECONDS_ENV = ENV_AUTOMATION_TICK_SECONDS


def tick_interval_seconds() -> int:
    """Minimum interval of the automation and raw-month sensors (`SAFEBEAT_AUTOMATION_TICK_SECONDS`)."""
    return automation_tick_seconds()


def upstream_busy() -> dg.AutomationCondition:
    """An asset upstream (any distance) in progress (queued runs and backfills included, and a
    run that ended after the tick began: `InProgress`), requested on this tick in a run the asset
    cannot share, or about to react to a change: one of its own dependencies has a new data
    version since the previous tick and it was not updated (`UpstreamBusy`, one node that walks
    the graph once per tick).

    A request the asset can share a run with does not hold it back: `on_change` requests the
    asset with it, and that run builds the ancestor first. Any other request counts (Dagster's
    `will_be_requested` sees only the shareable ones: a month of the event links requested on
    this tick was invisible to the baseline rates, which built beside it and again after it).
    "About to react" covers the raw-month sensor's requests, which automation does not see, and
    an ancestor whose own request waits a tick. An asset that has itself been updated since the
    previous tick has reacted, so a parent updated in the same run as its own parent (the daily
    job, or a sensor's run executed before the tick) holds nothing back: the tick after a run
    requests what follows it."""
    return UpstreamBusy()


def _handled() -> dg.AutomationCondition:
    return (AC.newly_requested() | AC.newly_updated()).with_label("requested or updated")


def on_change(
    ignoring: tuple[str, ...] = (),
    optional: dg.AssetSelection | None = None,
    gated_by_checks: bool = True,
) -> dg.AutomationCondition:
    """Missing, code changed, or an upstream data version changed (upstream assets in
    `ignoring` excepted), remembered until requested; then requested once nothing upstream is
    busy, no dependency is missing (`optional` ones excepted) and, if `gated_by_checks`, no
    upstream blocking check is failing."""
    changed = AC.any_deps_match(AC.data_version_changed())
    with_parent = AC.any_deps_match(AC.will_be_requested())
    if ignoring:
        changed = changed.ignore(dg.AssetSelection.assets(*ignoring))
        with_parent = with_parent.ignore(dg.AssetSelection.assets(*ignoring))
    trigger = (
        (
            changed.with_label("upstream data version changed")
            | with_parent.with_label("a dependency requested on this tick, in the same run")
            | AC.code_version_changed()
            | AC.newly_missing()
        )
        .since(_handled())
        .with_label("missing, code changed or upstream data changed, not yet handled")
    )
    # A dependency missing now but built first in the same run is not missing for this asset.
    deps_missing = AC.any_deps_match(AC.missing() & ~AC.will_be_requested())
    if optional is not None:
        deps_missing = deps_missing.ignore(optional)
    condition = trigger & ~InProgress() & ~deps_missing.with_label("any deps missing")
    if gated_by_checks:
        condition = condition & AC.all_deps_blocking_checks_passed()
    return (condition & ~upstream_busy()).with_label("on change, once upstream is settled")


def report_on_change() -> dg.AutomationCondition:
    """`on_change` for the report: a model skipped by its pre-check (and the risk tables built
    from it) and failing blocking checks do not hold it back (it reports them), and upstream
    updates made by a daily run trigger nothing (the report-after-run sensor requests that
    report)."""
    condition = on_change(
        ignoring=IGNORED_UPSTREAM[DAILY_REPORT],
        optional=dg.AssetSelection.assets(*MODELS, EVENT_RISK_SCORES).downstream(),
        gated_by_checks=False,
    )
    return condition.replace(
        "data_version_changed",
        (
            AC.data_version_changed()
            & ~AC.all_new_updates_have_run_tags(tag_values={REPORT_AFTER_TAG: "true"})
        ).with_label("data version changed outside a daily run"),
    )


# Upstream assets whose updates alone do not make an asset stale. The report counts the raw
# export's rows, but a new export must not trigger it before the facts and models it summarises
# are rebuilt: their updates trigger it. The models, the hot-spot maps and the event-impact
# assets are fitted on their per-month aggregates (and the event links) only; the call fact
# gates them (its blocking checks) but holds nothing they read, so its update does not trigger
# them: the changed month's aggregates do, once they are rebuilt (the fact's update would have
# rebuilt the rules before the rule transactions, which wait for the event links: twice per new
# day). The daily schedule honours the same exceptions.
IGNORED_UPSTREAM: dict[str, tuple[str, ...]] = {
    DAILY_REPORT: (RAW_CALLS,),
    **{name: (FACT_CALLS,) for name in AGGREGATE_READERS},
}

ON_CHANGE = on_change()
ON_CHANGE_OF_AGGREGATES = on_change(ignoring=(FACT_CALLS,))
REPORT_ON_CHANGE = report_on_change()
# Raw assets have no upstream in the graph: new files arrive through the landing sensor, which
# also requests them when they are missing.
ON_CODE_CHANGE_OF_RAW = (AC.code_version_changed().since(_handled()) & ~InProgress()).with_label(
    "code changed (new files: landing sensor)"
)
# Cleaned calls read the whole raw export but only their own months: which months changed is
# known from the raw export's month fingerprints, so the raw-month sensor requests them.
ON_CODE_CHANGE_OF_MONTHS = (
    AC.code_version_changed().since(_handled())
    & ~InProgress()
    & ~AC.any_deps_missing()
    & ~AC.any_deps_match(InProgress()).with_label("any deps in progress")
).with_label("code changed (new data: raw-month sensor)")


# For the checks declared inside an asset: true exactly when their asset is requested (Dagster
# runs them with it anyway). Having a condition makes Dagster add the asset's other checks, which
# have none, to the same run ("ride-along" checks).
WITH_ITS_ASSET = AC.any_deps_match(AC.will_be_requested()).with_label("with its asset")


def with_check_conditions(assets_def: dg.AssetsDefinition) -> dg.AssetsDefinition:
    """`assets_def` with `WITH_ITS_ASSET` on the checks it declares (those without a condition),
    so that automation runs execute every check of the asset, as the jobs do."""
    specs = assets_def.node_check_specs_by_output_name
    if isinstance(assets_def, dg.AssetChecksDefinition) or not specs:
        return assets_def
    updated = {
        name: spec
        if spec.automation_condition is not None
        else replace_record(spec, automation_condition=WITH_ITS_ASSET)
        for name, spec in specs.items()
    }
    attributes = {**assets_def.get_attributes_dict(), "check_specs_by_output_name": updated}
    return assets_def.__class__.dagster_internal_init(**attributes)


def automation_condition_for(spec: dg.AssetSpec) -> dg.AutomationCondition:
    name = spec.key.to_user_string()
    if name in RAW_ASSETS:
        return ON_CODE_CHANGE_OF_RAW
    if name in MONTHS_FROM_SENSOR:
        return ON_CODE_CHANGE_OF_MONTHS
    if name == DAILY_REPORT:
        return REPORT_ON_CHANGE
    if name in AGGREGATE_READERS:
        return ON_CHANGE_OF_AGGREGATES
    return ON_CHANGE


automation_sensor = dg.AutomationConditionSensorDefinition(
    "safebeat_automation_sensor",
    target=dg.AssetSelection.all(),
    default_status=dg.DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=tick_interval_seconds(),
    # Queued behind (never beside) the other pipeline runs.
    run_tags=PIPELINE_RUN_TAGS,
    # `UpstreamBusy` is Python of ours: the daemon cannot evaluate it, the code server can.
    use_user_code_server=True,
    description="Requests runs for assets whose automation condition is true (see on_change).",
)

# The report is due within two hours of the daily schedule (03:00 UTC by default: by 05:00).
REPORT_DUE_HOURS = 2


def report_deadline_cron(environ=None) -> str:
    hour, minute = daily_run_utc(environ)
    return f"{minute} {(hour + REPORT_DUE_HOURS) % 24} * * *"


REPORT_FRESHNESS = dg.FreshnessPolicy.cron(
    deadline_cron=report_deadline_cron(),
    lower_bound_delta=timedelta(hours=REPORT_DUE_HOURS),
    timezone="UTC",
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
