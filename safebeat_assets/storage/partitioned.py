"""The one convention by which a monthly asset hands its rows to an IO manager.

A partitioned asset returns one frame for all partitions of its run, with a `partition_key`
column naming each row's partition. The lake writes one object per partition from it and the
warehouse replaces the slice of each partition; neither stores the column itself.

Every partition of the run is written, one without rows as an empty object (see
`rows_by_partition`): an absent object therefore always means "never built", which the lake
reports as `MissingPartitionError` instead of handing a consumer an empty month.
"""

from __future__ import annotations

from typing import Any

import dagster as dg
import numpy as np
import pandas as pd
import pyarrow as pa

PARTITION_COLUMN = "partition_key"


def partition_keys(context: dg.OutputContext, frame: Any) -> pd.Series:
    """Each row's partition key, checked: a missing column, or rows of partitions outside the
    run, are errors."""
    asset = context.asset_key.to_user_string()
    names = frame.column_names if isinstance(frame, pa.Table) else frame.columns
    if PARTITION_COLUMN not in names:
        raise dg.DagsterInvariantViolationError(
            f"partitioned asset {asset} must return a {PARTITION_COLUMN!r} column"
        )
    keys = frame[PARTITION_COLUMN]
    if isinstance(keys, pa.ChunkedArray):
        keys = keys.to_pandas()
    run_keys = list(context.asset_partition_keys)
    stray = set(keys.unique()) - set(run_keys)
    if stray:
        raise dg.DagsterInvariantViolationError(
            f"{asset} returned rows for partitions outside this run: {sorted(map(str, stray))[:5]}"
        )
    return keys


def rows_by_partition(context: dg.OutputContext, frame: Any) -> dict[str, np.ndarray]:
    """Row positions of each of the run's partitions (an empty array for a partition without
    rows), after `partition_keys` checked them."""
    keys = partition_keys(context, frame)
    run_keys = list(context.asset_partition_keys)
    positions = keys.groupby(keys.to_numpy(), sort=False).indices
    empty = np.empty(0, dtype=np.int64)
    return {key: positions.get(key, empty) for key in run_keys}
