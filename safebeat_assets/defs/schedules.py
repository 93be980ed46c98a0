"""The daily job and its 03:00 UTC schedule."""

import dagster as dg

from ..asset_names import RAW_ASSETS
from .automation import IGNORED_UPSTREAM
from .partitions import months_tags

DAILY_JOB_NAME = "safebeat_daily_job"
DAILY_SCHEDULE_NAME = "safebeat_daily_schedule"

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
    parent data that has changed since (by data version; `IGNORED_UPSTREAM` excepted) — and
    everything downstream of those."""
    tags = {key: _latest_tags(instance, key) for key in asset_graph.materializable_asset_keys}
    selected: set[dg.AssetKey] = set()
    for key in asset_graph.toposorted_asset_keys:
        node, own = asset_graph.get(key), tags.get(key)
        if own is None or own.get("dagster/code_version") != node.code_version:
            selected.add(key)
            continue
        ignored = {dg.AssetKey(name) for name in IGNORED_UPSTREAM.get(key.to_user_string(), ())}
        for parent in node.parent_keys - ignored:
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


def build_daily_schedule(monthly: dg.PartitionsDefinition) -> dg.ScheduleDefinition:
    @dg.schedule(
        name=DAILY_SCHEDULE_NAME,
        cron_schedule="0 3 * * *",
        execution_timezone="UTC",
        target=dg.AssetSelection.all(),
        default_status=dg.DefaultScheduleStatus.RUNNING,
        description=(
            "Every day at 03:00 UTC: re-read the landing zone (raw assets) and materialize "
            "whatever is missing or stale; changes found in the new export then flow downstream "
            "through the automation sensor."
        ),
    )
    def daily_schedule(context: dg.ScheduleEvaluationContext):
        graph = context.repository_def.asset_graph
        keys = {dg.AssetKey(name) for name in RAW_ASSETS} | missing_or_stale(
            context.instance, graph
        )
        selection = dg.AssetSelection.assets(*keys).required_multi_asset_neighbors()
        keys = sorted(selection.resolve(graph))
        partitioned = any(graph.get(key).is_partitioned for key in keys)
        return dg.RunRequest(asset_selection=keys, tags=months_tags(monthly) if partitioned else {})

    return daily_schedule
