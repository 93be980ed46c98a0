"""After each new raw calls export, request the cleaned calls of exactly the months it changed.

Cleaned calls read the whole raw export but only their own months; the raw asset records a
fingerprint per month, so the months whose rows changed are known without reading any data.
"""

from __future__ import annotations

import json

import dagster as dg

from ...asset_names import CLEANED_CALLS, QUARANTINED_CALLS, RAW_CALLS
from ..partitions import MONTH_FINGERPRINTS_KEY, months_tags

RAW_MONTH_SENSOR_NAME = "raw_month_change_sensor"
MONTHS_FROM_SENSOR = (CLEANED_CALLS, QUARANTINED_CALLS)
# A few changed months get a run each (only they re-run); more (a first load) share one run.
MAX_SEPARATE_MONTH_RUNS = 3


def changed_months(
    monthly: dg.PartitionsDefinition, previous: dict[str, str], current: dict[str, str]
) -> list[str]:
    """Months whose fingerprint differs (new months included), within the partitions."""
    valid = set(monthly.get_partition_keys())
    return sorted(k for k, v in current.items() if previous.get(k) != v and k in valid)


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


def build_raw_month_change_sensor(monthly: dg.PartitionsDefinition) -> dg.SensorDefinition:
    @dg.sensor(
        name=RAW_MONTH_SENSOR_NAME,
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
        instance = context.instance
        records = instance.fetch_materializations(dg.AssetKey(RAW_CALLS), limit=2).records
        if not records:
            return dg.SkipReason(f"{RAW_CALLS} has not been materialized yet")
        latest = records[0]
        cursor = json.loads(context.cursor) if context.cursor else None
        if cursor and cursor["storage_id"] == latest.storage_id:
            return dg.SkipReason(f"no new {RAW_CALLS} materialization")
        previous: dict[str, str] = {}
        if cursor:
            previous = cursor["months"]
        elif len(records) > 1:  # first tick: compare with the export before
            previous = _fingerprints(records[1])
        current = _fingerprints(latest)
        # Months already rebuilt from this export (the daily job runs raw and cleaned together)
        # need no second run.
        months = sorted(
            set(changed_months(monthly, previous, current))
            - _cleaned_after(instance, latest.storage_id)
        )
        new_cursor = json.dumps({"storage_id": latest.storage_id, "months": current})
        if not months:
            return dg.SensorResult(
                skip_reason=dg.SkipReason("the new export changed no month"), cursor=new_cursor
            )
        spans = (
            [(m, m) for m in months]
            if len(months) <= MAX_SEPARATE_MONTH_RUNS
            else [(months[0], months[-1])]
        )
        requests = [
            dg.RunRequest(
                run_key=f"raw-{latest.storage_id}-{first}-{last}",
                asset_selection=[dg.AssetKey(name) for name in MONTHS_FROM_SENSOR],
                tags=months_tags(monthly, first, last),
            )
            for first, last in spans
        ]
        context.log.info(f"months changed by the new export: {', '.join(months)}")
        return dg.SensorResult(run_requests=requests, cursor=new_cursor)

    return raw_month_change_sensor
