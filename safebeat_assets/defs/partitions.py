"""Monthly partitions of the call-level assets, keyed on the call's local month (the city's zone).

The calendar starts at the settings' `partition_start`, so it is built by `build_definitions`
and handed to every asset, sensor and schedule that needs it. Partitioned assets run as
single-run backfills (one run may cover many months) and return their rows in the storage
partition convention (`storage/partitioned.py`). Which months changed is decided from the raw
export's per-month fingerprints (the raw-month sensor), so a new day re-runs one month.
"""

import dagster as dg
import pandas as pd

from ..domain import LOCAL_TZ
from ..storage.partitioned import PARTITION_COLUMN
from .conventions import content_version

MONTH_FINGERPRINTS_KEY = "month_fingerprints"
RANGE_START_TAG = "dagster/asset_partition_range_start"
RANGE_END_TAG = "dagster/asset_partition_range_end"


def monthly_partitions(start: str, time_zone: str = LOCAL_TZ) -> dg.MonthlyPartitionsDefinition:
    """Months from `start` (YYYY-MM-01) up to and including the current one in `time_zone`."""
    return dg.MonthlyPartitionsDefinition(start_date=start, timezone=time_zone, end_offset=1)


def months_tags(
    monthly: dg.PartitionsDefinition, first: str | None = None, last: str | None = None
) -> dict[str, str]:
    """Run tags for one run covering the months [first, last] (default: every month)."""
    return {
        RANGE_START_TAG: first or monthly.get_first_partition_key(),
        RANGE_END_TAG: last or monthly.get_last_partition_key(),
    }


def monthly_output(
    context: dg.AssetExecutionContext,
    frame: pd.DataFrame,
    keys: pd.Series,
    metadata: dict | None = None,
    output_name: str = "result",
) -> dg.Output:
    """The run's months as one Output in the partition convention (a key column added to
    `frame` itself), row counts per month in metadata, and a data version from the content
    (one per run: Dagster 1.13 records the same version for every partition a run
    materializes)."""
    counts = pd.Series(keys.to_numpy()).value_counts()
    meta = dict(metadata or {})
    meta["rows_by_month"] = {k: int(counts[k]) for k in context.partition_keys if k in counts}
    version = dg.DataVersion(content_version(frame))
    # In place: `assign` would copy every column of every call for one more.
    frame[PARTITION_COLUMN] = keys.to_numpy()
    return dg.Output(frame, output_name=output_name, metadata=meta, data_version=version)
