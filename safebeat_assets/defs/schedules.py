"""The daily schedule, 03:00 UTC unless `SAFEBEAT_DAILY_RUN_UTC` says otherwise (the jobs are in
`jobs.py`)."""

import dagster as dg

from ..asset_names import DAILY_REPORT, RAW_ASSETS
from ..settings import daily_run_utc
from .automation import IGNORED_UPSTREAM
from .jobs import DAILY_JOB_NAME, DAILY_RUN_TAGS, EVERYTHING_BUT_REPORT, safebeat_daily_job
from .partitions import months_tags

DAILY_SCHEDULE_NAME = "safebeat_daily_schedule"
__all__ = ["DAILY_JOB_NAME", "DAILY_SCHEDULE_NAME", "build_daily_schedule", "safebeat_daily_job"]


def _latest_tags(
    instance: dg.DagsterInstance, keys: list[dg.AssetKey]
) -> dict[dg.AssetKey, dict[str, str] | None]:
    """The tags of each asset's latest materialization (None if never materialized), from one
    query of the asset records (one query per asset cost the schedule half a second)."""
    tags: dict[dg.AssetKey, dict[str, str] | None] = dict.fromkeys(keys)
    for record in instance.get_asset_records(keys):
        event = record.asset_entry.last_materialization
        if event is not None and event.asset_materialization is not None:
            tags[record.asset_entry.asset_key] = dict(event.asset_materialization.tags or {})
    return tags


def missing_or_stale(instance: dg.DagsterInstance, asset_graph) -> set[dg.AssetKey]:
    """Assets never materialized, materialized by other code, or built from (unpartitioned)
    parent data that has changed since (by data version; `IGNORED_UPSTREAM` excepted) — and
    everything downstream of those."""
    tags = _latest_tags(instance, list(asset_graph.materializable_asset_keys))
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


def daily_cron(environ=None) -> str:
    """The schedule's cron string: every day at `SAFEBEAT_DAILY_RUN_UTC` (default 03:00)."""
    hour, minute = daily_run_utc(environ)
    return f"{minute} {hour} * * *"


def build_daily_schedule(monthly: dg.PartitionsDefinition) -> dg.ScheduleDefinition:
    hour, minute = daily_run_utc()

    @dg.schedule(
        name=DAILY_SCHEDULE_NAME,
        cron_schedule=daily_cron(),
        execution_timezone="UTC",
        target=EVERYTHING_BUT_REPORT,
        tags=DAILY_RUN_TAGS,
        default_status=dg.DefaultScheduleStatus.RUNNING,
        description=(
            f"Every day at {hour:02d}:{minute:02d} UTC: re-read the landing zone (raw assets) "
            "and materialize whatever is missing or stale; changes found in the new export then "
            "flow downstream through the automation sensor. The report follows in its own run, "
            "whatever the outcome (report-after-run sensor)."
        ),
    )
    def daily_schedule(context: dg.ScheduleEvaluationContext):
        graph = context.repository_def.asset_graph
        keys = {dg.AssetKey(name) for name in RAW_ASSETS} | missing_or_stale(
            context.instance, graph
        )
        keys.discard(dg.AssetKey(DAILY_REPORT))
        selection = dg.AssetSelection.assets(*keys).required_multi_asset_neighbors()
        keys = sorted(selection.resolve(graph))
        partitioned = any(graph.get(key).is_partitioned for key in keys)
        months = months_tags(monthly) if partitioned else {}
        return dg.RunRequest(asset_selection=keys, tags={**DAILY_RUN_TAGS, **months})

    return daily_schedule
