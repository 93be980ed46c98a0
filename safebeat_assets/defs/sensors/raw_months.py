"""After each new raw calls export, request the cleaned calls of exactly the months it changed,
and of the months never built.

Cleaned calls read the whole raw export but only their own months; the raw asset records a
fingerprint per month, so the months whose rows changed are known without reading any data.
A month of the calendar without a single call is built too (as empty objects and an empty
slice): everything that reads all months finds every month, as after a full run.
"""

from __future__ import annotations

import json
from collections.abc import Iterable

import dagster as dg

from ...asset_names import CLEANED_CALLS, RAW_CALLS
from ..automation import MONTHS_FROM_SENSOR, tick_interval_seconds
from ..conventions import MONTHS_PER_RUN
from ..jobs import PIPELINE_RUN_TAGS
from ..partitions import MONTH_FINGERPRINTS_KEY, RANGE_END_TAG, RANGE_START_TAG, months_tags

RAW_MONTH_SENSOR_NAME = "raw_month_change_sensor"
PARTITION_TAG = "dagster/partition"
__all__ = ["MONTHS_FROM_SENSOR", "RAW_MONTH_SENSOR_NAME", "build_raw_month_change_sensor"]

IN_FLIGHT = (
    dg.DagsterRunStatus.QUEUED,
    dg.DagsterRunStatus.NOT_STARTED,
    dg.DagsterRunStatus.STARTING,
    dg.DagsterRunStatus.STARTED,
)


def changed_months(
    monthly: dg.PartitionsDefinition, previous: dict[str, str], current: dict[str, str]
) -> list[str]:
    """Months whose fingerprint differs (new months included), within the partitions."""
    valid = set(monthly.get_partition_keys())
    return sorted(k for k, v in current.items() if previous.get(k) != v and k in valid)


def month_spans(
    monthly: dg.PartitionsDefinition, months: Iterable[str], max_months: int = MONTHS_PER_RUN
) -> list[tuple[str, str]]:
    """The months as runs of consecutive calendar months, (first, last) each, at most
    `max_months` long: one run covers a range, a range over an unchanged month would rebuild
    it, and a longer one would hold more calls in one step than the backfill policy allows."""
    wanted = set(months)
    spans: list[tuple[str, str]] = []
    first = last = None
    length = 0
    for key in monthly.get_partition_keys():
        if key in wanted and length < max_months:
            first = first or key
            last = key
            length += 1
        elif key in wanted:
            spans.append((first, last))
            first = last = key
            length = 1
        elif first is not None:
            spans.append((first, last))
            first = last = None
            length = 0
    if first is not None:
        spans.append((first, last))
    return spans


def _fingerprints(record) -> dict[str, str]:
    value = record.asset_materialization.metadata.get(MONTH_FINGERPRINTS_KEY)
    return dict(value.value) if value is not None else {}


def _cleaned_after(instance: dg.DagsterInstance, storage_id: int) -> set[str]:
    """Months of the cleaned calls materialized after the event `storage_id`."""
    months: set[str] = set()
    cursor = None
    while True:
        page = instance.fetch_materializations(
            dg.AssetRecordsFilter(
                asset_key=dg.AssetKey(CLEANED_CALLS), after_storage_id=storage_id
            ),
            limit=1000,
            cursor=cursor,
        )
        months.update(r.partition_key for r in page.records if r.partition_key)
        if not page.has_more:
            return months
        cursor = page.cursor


def _run_months(monthly: dg.PartitionsDefinition, run: dg.DagsterRun) -> set[str]:
    tags = run.tags
    if PARTITION_TAG in tags:
        return {tags[PARTITION_TAG]}
    first, last = tags.get(RANGE_START_TAG), tags.get(RANGE_END_TAG)
    if not first or not last:
        return set()
    return {key for key in monthly.get_partition_keys() if first <= key <= last}


def _months_in_flight(instance: dg.DagsterInstance, monthly: dg.PartitionsDefinition) -> set[str]:
    """Months of the cleaned calls that a queued or running run will build."""
    months: set[str] = set()
    runs = instance.get_runs(filters=dg.RunsFilter(statuses=list(IN_FLIGHT)))
    for run in runs:
        if dg.AssetKey(CLEANED_CALLS) in (run.asset_selection or set()):
            months |= _run_months(monthly, run)
    return months


def _unfinished_run_building_cleaned(
    instance: dg.DagsterInstance, record: dg.EventLogRecord
) -> str | None:
    """The run that stored the export, if it builds the cleaned calls too and has not ended."""
    run = instance.get_run_by_id(record.run_id) if record.run_id else None
    if run is None or run.status not in IN_FLIGHT:
        return None
    return run.run_id if dg.AssetKey(CLEANED_CALLS) in (run.asset_selection or set()) else None


def build_raw_month_change_sensor(monthly: dg.PartitionsDefinition) -> dg.SensorDefinition:
    @dg.sensor(
        name=RAW_MONTH_SENSOR_NAME,
        minimum_interval_seconds=tick_interval_seconds(),
        default_status=dg.DefaultSensorStatus.RUNNING,
        asset_selection=list(MONTHS_FROM_SENSOR),
        description=(
            "After each raw_911_calls materialization, requests the cleaned calls of exactly the "
            "months whose content changed (per-month fingerprints) and of the months never "
            "built; the rest of the call-level chain follows through automation."
        ),
    )
    def raw_month_change_sensor(context: dg.SensorEvaluationContext):
        instance = context.instance
        records = instance.fetch_materializations(dg.AssetKey(RAW_CALLS), limit=2).records
        if not records:
            return dg.SkipReason(f"{RAW_CALLS} has not been materialized yet")
        latest = records[0]
        cursor = json.loads(context.cursor) if context.cursor else None
        if cursor and cursor["storage_id"] == latest.storage_id:
            return dg.SkipReason(f"no new {RAW_CALLS} materialization")
        # The daily job stores the export and builds its months in one run: what that run
        # builds needs no second run. Decide once it has ended (the cursor stays put).
        pending = _unfinished_run_building_cleaned(instance, latest)
        if pending:
            return dg.SkipReason(f"run {pending} builds the months of this export itself")
        previous: dict[str, str] = {}
        if cursor:
            previous = cursor["months"]
        elif len(records) > 1:  # first tick: compare with the export before
            previous = _fingerprints(records[1])
        current = _fingerprints(latest)
        changed = set(changed_months(monthly, previous, current))
        built = instance.get_materialized_partitions(dg.AssetKey(CLEANED_CALLS))
        never_built = (
            set(monthly.get_partition_keys()) - built - _months_in_flight(instance, monthly)
        )
        months = sorted((changed | never_built) - _cleaned_after(instance, latest.storage_id))
        new_cursor = json.dumps({"storage_id": latest.storage_id, "months": current})
        if not months:
            return dg.SensorResult(
                skip_reason=dg.SkipReason("the new export changed no month"), cursor=new_cursor
            )
        requests = [
            dg.RunRequest(
                run_key=f"raw-{latest.storage_id}-{first}-{last}",
                asset_selection=[dg.AssetKey(name) for name in MONTHS_FROM_SENSOR],
                tags={**PIPELINE_RUN_TAGS, **months_tags(monthly, first, last)},
            )
            for first, last in month_spans(monthly, months)
        ]
        context.log.info(
            f"months changed by the new export: {', '.join(sorted(changed)) or 'none'}; "
            f"never built: {len(never_built - changed)}"
        )
        return dg.SensorResult(run_requests=requests, cursor=new_cursor)

    return raw_month_change_sensor
