"""Automation: the daily job and schedule, declarative automation conditions, the automation
sensor and the freshness policies — the honest replacement for the seed's skip-if-exists branch.

Work follows change: an asset is requested only when it is missing, its code version changed, or
an upstream *data version* changed (content-derived, so re-reading identical input changes
nothing), and never while an upstream blocking check is failing.
"""

import json
from datetime import timedelta

import dagster as dg

from .partitions import MONTH_FINGERPRINTS_KEY, MONTHLY, months_tags

DAILY_JOB_NAME = "safebeat_daily_job"
RAW_ASSETS = ("raw_911_calls", "raw_events", "raw_block_groups")
AC = dg.AutomationCondition

safebeat_daily_job = dg.define_asset_job(
    name=DAILY_JOB_NAME,
    selection=dg.AssetSelection.all(),
    description="Materializes the whole SafeBeat graph: raw → warehouse → models → risk → report.",
)


def _latest_tags(instance: dg.DagsterInstance, key: dg.AssetKey) -> dict[str, str] | None:
    event = instance.get_latest_materialization_event(key)
    if event is None or event.asset_materialization is None:
        return None
    return dict(event.asset_materialization.tags or {})


def missing_or_stale(instance: dg.DagsterInstance, asset_graph) -> set[dg.AssetKey]:
    """Assets never materialized, materialized by other code, or built from (unpartitioned)
    parent data that has changed since (by data version) — and everything downstream of those."""
    tags = {key: _latest_tags(instance, key) for key in asset_graph.materializable_asset_keys}
    selected: set[dg.AssetKey] = set()
    for key in asset_graph.toposorted_asset_keys:
        node, own = asset_graph.get(key), tags.get(key)
        if own is None or own.get("dagster/code_version") != node.code_version:
            selected.add(key)
            continue
        for parent in node.parent_keys:
            if asset_graph.get(parent).is_partitioned:
                # Month-level changes are tracked by the month sensor and automation; a
                # multi-month input's recorded version is not comparable to one partition's.
                if parent in selected:
                    selected.add(key)
                    break
                continue
            recorded = own.get(f"dagster/input_data_version/{parent.to_user_string()}")
            current = (tags.get(parent) or {}).get("dagster/data_version")
            if parent in selected or (current is not None and current != recorded):
                selected.add(key)
                break
    return selected


@dg.schedule(
    name="safebeat_daily_schedule",
    cron_schedule="0 3 * * *",
    execution_timezone="UTC",
    target=dg.AssetSelection.all(),
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description=(
        "Every day at 03:00 UTC: re-read the landing zone (raw assets) and materialize whatever "
        "is missing or stale; changes found in the new export then flow downstream through the "
        "automation sensor."
    ),
)
def daily_schedule(context: dg.ScheduleEvaluationContext):
    graph = context.repository_def.asset_graph
    keys = {dg.AssetKey(name) for name in RAW_ASSETS} | missing_or_stale(context.instance, graph)
    selection = dg.AssetSelection.assets(*keys).required_multi_asset_neighbors()
    keys = sorted(selection.resolve(graph))
    partitioned = any(graph.get(key).is_partitioned for key in keys)
    return dg.RunRequest(asset_selection=keys, tags=months_tags() if partitioned else {})


UPSTREAM_DATA_CHANGED = (
    AC.any_deps_updated()
    .replace("newly_updated", AC.data_version_changed())
    .with_label("upstream data version changed")
)

ON_CHANGE = (
    ~AC.any_deps_in_progress()
    & (UPSTREAM_DATA_CHANGED | AC.code_version_changed() | AC.newly_missing())
    & ~AC.any_deps_missing()
    & AC.all_deps_blocking_checks_passed()
).with_label("missing, code changed or upstream data changed")

# Raw assets have no upstream in the graph: new files arrive through the landing sensor.
ON_CODE_CHANGE_OR_MISSING = (AC.code_version_changed() | AC.newly_missing()).with_label(
    "missing or code changed"
)


# Cleaned calls read the whole raw export but only their own months: which months changed is
# known from the raw export's month fingerprints, so `raw_month_change_sensor` requests them.
MONTHS_FROM_SENSOR = ("cleaned_911_calls", "quarantined_911_calls")
ON_CODE_CHANGE = AC.code_version_changed().with_label("code changed (new data: month sensor)")


def automation_condition_for(spec: dg.AssetSpec) -> dg.AutomationCondition:
    name = spec.key.to_user_string()
    if name in RAW_ASSETS:
        return ON_CODE_CHANGE_OR_MISSING
    if name in MONTHS_FROM_SENSOR:
        return ON_CODE_CHANGE
    return ON_CHANGE


def changed_months(previous: dict[str, str], current: dict[str, str]) -> list[str]:
    """Months whose fingerprint differs (new months included), within the partitions."""
    valid = set(MONTHLY.get_partition_keys())
    return sorted(k for k, v in current.items() if previous.get(k) != v and k in valid)


def _fingerprints(record) -> dict[str, str]:
    value = record.asset_materialization.metadata.get(MONTH_FINGERPRINTS_KEY)
    return dict(value.value) if value is not None else {}


def _cleaned_after(instance: dg.DagsterInstance, storage_id: int) -> set[str]:
    """Months of cleaned_911_calls materialized after the event `storage_id`."""
    months: set[str] = set()
    cursor = None
    while True:
        page = instance.fetch_materializations(
            dg.AssetRecordsFilter(
                asset_key=dg.AssetKey(MONTHS_FROM_SENSOR[0]), after_storage_id=storage_id
            ),
            limit=1000,
            cursor=cursor,
        )
        months.update(r.partition_key for r in page.records if r.partition_key)
        if not page.has_more:
            return months
        cursor = page.cursor


@dg.sensor(
    name="raw_month_change_sensor",
    minimum_interval_seconds=30,
    default_status=dg.DefaultSensorStatus.RUNNING,
    asset_selection=list(MONTHS_FROM_SENSOR),
    description=(
        "After each raw_911_calls materialization, requests the cleaned calls of exactly the "
        "months whose content changed (per-month fingerprints); the rest of the call-level "
        "chain follows through data versions."
    ),
)
def raw_month_change_sensor(context: dg.SensorEvaluationContext):
    records = context.instance.fetch_materializations(dg.AssetKey("raw_911_calls"), limit=2).records
    if not records:
        return dg.SkipReason("raw_911_calls has not been materialized yet")
    latest = records[0]
    cursor = json.loads(context.cursor) if context.cursor else None
    if cursor and cursor["storage_id"] == latest.storage_id:
        return dg.SkipReason("no new raw_911_calls materialization")
    previous: dict[str, str] = {}
    if cursor:
        previous = cursor["months"]
    elif len(records) > 1:  # first tick: compare with the export before
        previous = _fingerprints(records[1])
    current = _fingerprints(latest)
    # Months already rebuilt from this export (the daily job runs raw and cleaned together)
    # need no second run.
    months = sorted(
        set(changed_months(previous, current)) - _cleaned_after(context.instance, latest.storage_id)
    )
    new_cursor = json.dumps({"storage_id": latest.storage_id, "months": current})
    if not months:
        return dg.SensorResult(
            skip_reason=dg.SkipReason("the new export changed no month"), cursor=new_cursor
        )
    # A few months get a run each (only they re-run); many (a first load) share one run.
    spans = [(m, m) for m in months] if len(months) <= 3 else [(months[0], months[-1])]
    requests = [
        dg.RunRequest(
            run_key=f"raw-{latest.storage_id}-{first}-{last}",
            asset_selection=[dg.AssetKey(name) for name in MONTHS_FROM_SENSOR],
            tags=months_tags(first, last),
        )
        for first, last in spans
    ]
    context.log.info(f"months changed by the new export: {', '.join(months)}")
    return dg.SensorResult(run_requests=requests, cursor=new_cursor)


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
    "daily_report": REPORT_FRESHNESS,
    "fact_911_calls": DAILY_FRESHNESS,
    "fact_event_incidents": DAILY_FRESHNESS,
    "event_risk_scores": DAILY_FRESHNESS,
    "zone_risk_scores": DAILY_FRESHNESS,
}


def with_policies(spec: dg.AssetSpec) -> dg.AssetSpec:
    """Automation condition and freshness policy for every asset, decided in one place."""
    policy = FRESHNESS_BY_ASSET.get(spec.key.to_user_string(), DEFAULT_FRESHNESS)
    spec = dg.apply_freshness_policy(spec, policy, overwrite_existing=False)
    return spec.replace_attributes(automation_condition=automation_condition_for(spec))
