"""Counting distinct rows fast: what the per-month aggregates are made of."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    import pyarrow as pa

COUNT_COLUMN = "calls"


def count_rows(frame: pd.DataFrame, count_column: str = COUNT_COLUMN) -> pd.DataFrame:
    """The distinct rows of `frame` with how many times each occurs (`count_column`), sorted by
    the columns in order, a missing value being a value of its own that sorts last: what
    `frame.groupby(list(frame.columns), dropna=False, sort=True).size()` gives, without
    pandas' multi-key groupby on object columns (several times slower). Each distinct row is
    its first occurrence, so every column keeps its dtype and values."""
    table, _, counts = distinct_rows(frame)
    table[count_column] = counts
    return table


def distinct_rows(frame: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """(`count_rows`' distinct rows without the count, each row's position among them, the
    count of each): the positions let a caller sum other columns per distinct row."""
    key = np.zeros(len(frame), dtype=np.int64)
    combinations = 1.0
    for column in frame.columns:
        code, unique = pd.factorize(frame[column], sort=True, use_na_sentinel=True)
        size = len(unique) + 1
        combinations *= size
        if combinations >= 2**62:
            raise ValueError("too many distinct values to combine into one integer key")
        key = key * size + np.where(code < 0, len(unique), code)  # missing sorts last
    _, first, inverse, counts = np.unique(
        key, return_index=True, return_inverse=True, return_counts=True
    )
    table = frame.iloc[first].reset_index(drop=True)
    return table, inverse.reshape(-1), counts.astype(np.int64)


def summed_per_key(
    table: pa.Table, keys: Sequence[str], value: str | Sequence[str]
) -> pd.DataFrame:
    """`value` (a column, or several) summed per distinct combination of `keys` (a missing key
    is a value of its own), sorted by the keys: what `frame.groupby(keys, dropna=False,
    sort=True)[value].sum()` gives for a frame of integer counts, computed in Arrow so that the
    millions of rows of every month of an aggregate become one row per combination before
    pandas sees them. Integer sums do not depend on the order of addition, so the totals are
    exact (int64 whatever the integer type summed)."""
    import pyarrow as pa  # imported here: only the model steps that sum months need it

    keys = list(keys)
    values = [value] if isinstance(value, str) else list(value)
    summed = table.select([*keys, *values]).group_by(keys).aggregate([(v, "sum") for v in values])
    ordered = summed.sort_by([(key, "ascending") for key in keys])
    columns = {key: ordered.column(key) for key in keys}
    columns.update({v: ordered.column(f"{v}_sum") for v in values})
    return pa.table(columns).to_pandas()
