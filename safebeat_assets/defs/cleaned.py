"""Cleaned stage: typed, de-duplicated calls (with a quarantine) and per-permit events.

The asset bodies call the pure cleaners and publish their counts: rows quarantined per reason,
values set to NULL per column (unparseable or implausible), NULLs per output column."""

from contextlib import closing

import dagster as dg
import numpy as np
import pandas as pd

from ..asset_names import RAW_CALLS
from ..resources import PipelineSettings
from ..retries import TRANSIENT_RETRY, fail_fast_unless_transient_fn
from ..settings import CLEANED_BUCKET, RAW_BUCKET
from ..storage.background import read_ahead
from ..storage.object_store import LakeStorage
from ..storage.raw_fragments import RawCallFragments
from ..transform.calls import (
    call_rules_for_partitions,
    clean_calls_by_group,
    combine_cleaned,
    rejected_values_by_column,
)
from ..transform.events import EventRules, clean_events, rejected_event_values
from ..transform.months import month_key_of
from ..transform.validation import null_counts
from .conventions import BOUNDED_RUNS, DATA_OWNERS, json_metadata, lake_stage, versioned
from .partitions import monthly_output

# Quarantined event rows shown in the metadata (all are counted).
_LISTED_QUARANTINED_EVENTS = 20

CLEANED = lake_stage("cleaned", CLEANED_BUCKET, DATA_OWNERS, kinds={"pandas"})


def build_cleaned_calls(monthly: dg.PartitionsDefinition) -> dg.AssetsDefinition:
    """Cleaned and quarantined calls, one multi-asset partitioned by `monthly`."""

    @dg.multi_asset(
        group_name=CLEANED.group,
        ins={"raw_911_calls": dg.AssetIn()},
        partitions_def=monthly,
        backfill_policy=BOUNDED_RUNS,
        retry_policy=TRANSIENT_RETRY,
        outs={
            "cleaned_911_calls": CLEANED.out(
                code_version="2",
                description=(
                    "Typed 911 calls: local datetimes (the city's zone; Austin: America/Chicago), "
                    "priority 0-3 (unknown "
                    "is NULL, never a sentinel), 12-digit Geo IDs, durations in seconds, date "
                    "parts. Keyed on (incident_number, response_datetime); exact duplicates "
                    "dropped."
                ),
            ),
            "quarantined_911_calls": CLEANED.out(
                code_version="2",
                description=(
                    "Raw call rows that could not be cleaned, with the reason: unparseable or "
                    "out-of-range incident number, unparseable response datetime, or one dated "
                    "before the first monthly partition (kept in the first) or in the future "
                    "(kept in the last). Nothing is dropped silently."
                ),
            ),
        },
    )
    @fail_fast_unless_transient_fn
    def cleaned_911_calls(
        context: dg.AssetExecutionContext,
        raw_911_calls: pd.DataFrame,
        pipeline: PipelineSettings,
        lake_storage: LakeStorage,
    ):
        # raw_911_calls is the export's manifest: only the run's months are read from their
        # fragments, one month at a time, so a run never holds the whole export.
        first, last = monthly.get_first_partition_key(), monthly.get_last_partition_key()
        rules = call_rules_for_partitions(
            first, last, tuple(pipeline.county_fips), time_zone=pipeline.time_zone
        )
        fragments = RawCallFragments.in_lake(lake_storage, RAW_BUCKET, RAW_CALLS)
        months = sorted(context.partition_keys)
        parts = []
        # The next month's fragments are read while this one is cleaned.
        with closing(
            read_ahead(fragments.read_partition(raw_911_calls, m, first, last) for m in months)
        ) as raws:
            for month, raw in zip(months, raws, strict=True):
                if raw is not None:
                    parts.append(clean_calls_by_group(raw, np.full(raw.num_rows, month), rules))
        result = combine_cleaned(parts, rules)
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
                "values_nulled_by_column": json_metadata(rejected_values_by_column(stats)),
                "null_counts": json_metadata(null_counts(result.calls)),
                "accepted_response_datetimes": f"{rules.start} .. {rules.end} (local, end excluded)",
            },
        )
        quarantined = result.quarantined
        reasons = quarantined["reject_reason"].value_counts().to_dict() if len(quarantined) else {}
        yield monthly_output(
            context,
            quarantined,
            pd.Series(result.quarantined_groups, dtype=object),
            output_name="quarantined_911_calls",
            metadata={"rows_by_reason": json_metadata(reasons)},
        )

    return cleaned_911_calls


@CLEANED.asset(
    code_version="2",
    description=(
        "ACE permits aggregated to one event per FOLDERRSN: first start to last end date "
        "(three date formats parsed), any-of alcohol/sound/closure flags, closure segment count "
        "and the median of valid GPS points inside the configured counties. Rows without a "
        "positive integer FOLDERRSN are quarantined (counted and listed in the metadata); "
        "implausible dates, points and tiers become NULL, counted per column."
    ),
)
def cleaned_events(
    context: dg.AssetExecutionContext, raw_events: pd.DataFrame, pipeline: PipelineSettings
) -> dg.Output[pd.DataFrame]:
    result = clean_events(
        raw_events, EventRules.for_counties(pipeline.county_fips, pipeline.time_zone)
    )
    quarantined = result.quarantined
    if len(quarantined):
        context.log.warning(
            f"{len(quarantined):,} ACE row(s) quarantined: no positive integer FOLDERRSN"
        )
    listed = [
        c for c in ("source_file", "source_row", "folderrsn", "reject_reason") if c in quarantined
    ]
    return versioned(
        result.events,
        {
            "cleaning_stats": json_metadata(result.stats),
            "events_with_location": int(result.events["has_valid_location"].sum()),
            "rows_quarantined": len(quarantined),
            "rows_by_reason": json_metadata(
                quarantined["reject_reason"].value_counts().to_dict() if len(quarantined) else {}
            ),
            "quarantined_rows": dg.MetadataValue.md(
                quarantined[listed].head(_LISTED_QUARANTINED_EVENTS).to_markdown(index=False)
                if len(quarantined)
                else "none"
            ),
            "values_nulled_by_column": json_metadata(rejected_event_values(result.stats)),
            "null_counts": json_metadata(null_counts(result.events)),
        },
    )
