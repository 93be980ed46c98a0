"""Monthly partitions of the call-level assets, keyed on the call's local (America/Chicago) month.

Partitioned assets run as single-run backfills (one run may cover many months). A lake asset
returns one frame with a `partition_key` column and the lake writes one object per month; the
warehouse replaces only the run's months. Which months changed is decided from the raw export's
per-month fingerprints (see `raw_month_change_sensor`), so a new day re-runs one month.
"""

import dagster as dg
import pandas as pd

from ..settings import load_settings
from ..storage.lake import PARTITION_COLUMN
from ..transform.months import month_key_of
from .common import content_version

MONTHLY = dg.MonthlyPartitionsDefinition(
    start_date=load_settings().partition_start, timezone="America/Chicago", end_offset=1
)
SINGLE_RUN = dg.BackfillPolicy.single_run()
__all__ = ["MONTHLY", "SINGLE_RUN", "month_key_of", "months_tags", "monthly_output"]
MONTH_FINGERPRINTS_KEY = "month_fingerprints"
RANGE_START_TAG = "dagster/asset_partition_range_start"
RANGE_END_TAG = "dagster/asset_partition_range_end"


def months_tags(first: str | None = None, last: str | None = None) -> dict[str, str]:
    """Run tags for one run covering the months [first, last] (default: every month)."""
    return {
        RANGE_START_TAG: first or MONTHLY.get_first_partition_key(),
        RANGE_END_TAG: last or MONTHLY.get_last_partition_key(),
    }


def monthly_output(
    context: dg.AssetExecutionContext,
    frame: pd.DataFrame,
    keys: pd.Series,
    metadata: dict | None = None,
    output_name: str = "result",
    with_key_column: bool = True,
) -> dg.Output:
    """The run's months as one Output: rows tagged with their month for the lake (a column
    added to `frame` itself), row counts
    per month in metadata, and a data version from the content (one per run: Dagster 1.13
    records the same version for every partition a run materializes)."""
    counts = pd.Series(keys.to_numpy()).value_counts()
    meta = dict(metadata or {})
    meta["rows_by_month"] = {k: int(counts[k]) for k in context.partition_keys if k in counts}
    version = dg.DataVersion(content_version(frame))
    if with_key_column:
        # In place: `assign` would copy every column of an 835K-row frame for one more.
        frame[PARTITION_COLUMN] = keys.to_numpy()
    return dg.Output(frame, output_name=output_name, metadata=meta, data_version=version)
