"""Cleaned stage: typed, de-duplicated calls (with a quarantine) and per-permit events."""

import dagster as dg
import numpy as np
import pandas as pd
import pyarrow as pa

from ..settings import CLEANED_BUCKET
from ..storage.lake import ARROW_METADATA_KEY
from ..transform.calls import clean_calls_by_group
from ..transform.events import clean_events
from ..transform.months import month_key_of, route_to_months, text_month_keys
from .conventions import DATA_OWNERS, SINGLE_RUN, json_metadata, lake_stage, versioned
from .partitions import monthly_output

CLEANED = lake_stage("cleaned", CLEANED_BUCKET, DATA_OWNERS, kinds={"pandas"})


def build_cleaned_calls(monthly: dg.PartitionsDefinition) -> dg.AssetsDefinition:
    """Cleaned and quarantined calls, one multi-asset partitioned by `monthly`."""

    @dg.multi_asset(
        group_name=CLEANED.group,
        ins={"raw_911_calls": dg.AssetIn(metadata={ARROW_METADATA_KEY: True})},
        partitions_def=monthly,
        backfill_policy=SINGLE_RUN,
        outs={
            "cleaned_911_calls": CLEANED.out(
                code_version="1",
                description=(
                    "Typed 911 calls: local datetimes (America/Chicago), priority 0-3 (unknown "
                    "is NULL, never a sentinel), 12-digit Geo IDs, durations in seconds, date "
                    "parts. Keyed on (incident_number, response_datetime); exact duplicates "
                    "dropped."
                ),
            ),
            "quarantined_911_calls": CLEANED.out(
                code_version="1",
                description=(
                    "Raw call rows that could not be cleaned (unparseable incident number or "
                    "response datetime), with the reason. Nothing is dropped silently."
                ),
            ),
        },
    )
    def cleaned_911_calls(context: dg.AssetExecutionContext, raw_911_calls: pa.Table):
        # Only the run's months, one at a time, become Python objects: a full run never holds
        # every call of the export as objects at once.
        months = text_month_keys(raw_911_calls["response_datetime"])
        months[pd.isna(months)] = monthly.get_last_partition_key()
        in_run = np.isin(months, list(context.partition_keys))
        result = clean_calls_by_group(raw_911_calls, np.where(in_run, months, None))
        stats = result.stats
        yield monthly_output(
            context,
            result.calls,
            month_key_of(result.calls["response_date"]),
            output_name="cleaned_911_calls",
            metadata={
                "cleaning_stats": json_metadata(stats),
                "rows_quarantined": int(stats.get("rows_quarantined", len(result.quarantined))),
                "exact_duplicates_dropped": int(stats.get("exact_duplicates_dropped", 0)),
                "duplicate_incident_numbers": int(stats.get("duplicate_incident_numbers", 0)),
                "priority_unknown": int(stats.get("priority_unknown", 0)),
            },
        )
        quarantined = result.quarantined
        reasons = quarantined["reject_reason"].value_counts().to_dict() if len(quarantined) else {}
        yield monthly_output(
            context,
            quarantined,
            route_to_months(quarantined["response_datetime"], monthly.get_last_partition_key()),
            output_name="quarantined_911_calls",
            metadata={"rows_by_reason": json_metadata(reasons)},
        )

    return cleaned_911_calls


@CLEANED.asset(
    code_version="1",
    description=(
        "ACE permits aggregated to one event per FOLDERRSN: first start to last end date "
        "(three date formats parsed), any-of alcohol/sound/closure flags, closure segment count "
        "and the median of valid GPS points inside the Austin box."
    ),
)
def cleaned_events(raw_events: pd.DataFrame) -> dg.Output[pd.DataFrame]:
    result = clean_events(raw_events)
    return versioned(
        result.events,
        {
            "cleaning_stats": json_metadata(result.stats),
            "events_with_location": int(result.events["has_valid_location"].sum()),
        },
    )
