"""The call cells (`event_impact.call_cells`, every month) as the integer arrays the baseline
rates and the event impact model count with.

Every month of `calls_by_block_group_hour` is millions of cells at ten times Austin, nearly one
per call. Converted to pandas, each cell's block group becomes a Python string: that was most
of the two models' time. Read as Arrow instead, the block groups are dictionary-encoded
(integer codes into a few hundred distinct strings) and the dates and counts are plain integer
buffers; only the few cells the model looks at one by one (those of linked event-days) are
ever converted to pandas. Both paths give the same arrays, so the models give the same results.
No dagster here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    import pyarrow as pa

NO_DAY = np.iinfo("int64").min  # a cell without a date: a NaT's day number, outside any span
_NS_PER_DAY = 86_400 * 10**9


@dataclass(frozen=True)
class CellArrays:
    """Cells as arrays: block group codes into the sorted distinct block groups (-1: NULL),
    day numbers (days since 1970-01-01, `NO_DAY` without a date), hours and calls. `source`
    keeps the other columns (measures, priority, category), read only where needed."""

    geo_ids: np.ndarray  # object: the distinct non-NULL block groups, sorted
    geo_code: np.ndarray  # int64 per cell
    day: np.ndarray  # int64 per cell
    hour: np.ndarray  # int64 per cell
    calls: np.ndarray  # int64 per cell
    source: pd.DataFrame | pa.Table

    def __len__(self) -> int:
        return len(self.calls)

    @classmethod
    def of(cls, cells: pd.DataFrame | pa.Table | CellArrays) -> CellArrays:
        if isinstance(cells, CellArrays):
            return cells
        if isinstance(cells, pd.DataFrame):
            return _of_frame(cells)
        return _of_table(cells)

    def history_days(self) -> tuple[int, int] | None:
        """First and last day number of the cells with a date, or None."""
        dated = self.day[self.day != NO_DAY]
        return (int(dated.min()), int(dated.max())) if len(dated) else None

    def column_sum(self, column: str) -> float:
        """The sum of a numeric column over every cell (NULLs as 0), in float64 like pandas."""
        values = self.numeric(column, np.ones(len(self), dtype=bool))
        return float(values.sum())

    def numeric(self, column: str, rows: np.ndarray) -> np.ndarray:
        """A numeric column's values (float64, NULL as 0) of the selected rows (a mask)."""
        if isinstance(self.source, pd.DataFrame):
            values = self.source[column].to_numpy(dtype="float64", na_value=0.0)
            return values[rows]
        import pyarrow.compute as pc

        column_values = pc.fill_null(self.source.column(column), 0)
        return _flat(column_values).astype("float64", copy=False)[rows]

    def frame(self, columns: list[str]) -> pd.DataFrame:
        """Those columns of every cell as pandas (for the rarely needed ones)."""
        if isinstance(self.source, pd.DataFrame):
            return self.source[columns]
        return self.source.select(columns).to_pandas()


def _of_frame(cells: pd.DataFrame) -> CellArrays:
    from .event_impact import _day_numbers

    codes, geo_ids = pd.factorize(cells["geo_id"].to_numpy(dtype=object), sort=True)
    return CellArrays(
        geo_ids=np.asarray(geo_ids, dtype=object),
        geo_code=codes.astype("int64"),
        day=_day_numbers(cells["date"]) if len(cells) else np.array([], dtype="int64"),
        hour=cells["hour"].to_numpy(dtype="int64"),
        calls=cells["calls"].to_numpy(dtype="int64"),
        source=cells,
    )


def _of_table(table: pa.Table) -> CellArrays:
    return CellArrays(
        *_geo_codes(table.column("geo_id")),
        day=_day_numbers_of(table.column("date")),
        hour=_flat(table.column("hour")).astype("int64", copy=False),
        calls=_flat(table.column("calls")).astype("int64", copy=False),
        source=table,
    )


def _flat(column: pa.ChunkedArray) -> np.ndarray:
    """A chunked column without NULLs as one numpy array."""
    if column.num_chunks == 0:
        return np.array([], dtype=column.type.to_pandas_dtype())
    return np.concatenate([chunk.to_numpy(zero_copy_only=False) for chunk in column.chunks])


def _geo_codes(column: pa.ChunkedArray) -> tuple[np.ndarray, np.ndarray]:
    """(sorted distinct non-NULL values as objects, each row's code into them or -1), as
    `pd.factorize(values, sort=True)` gives, without a Python string per row."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if pa.types.is_null(column.type) or len(column) == 0:
        return np.array([], dtype=object), np.full(len(column), -1, dtype="int64")
    encoded = pc.dictionary_encode(column.cast(pa.string())).unify_dictionaries()
    dictionary = encoded.chunk(0).dictionary.to_numpy(zero_copy_only=False).astype(object)
    indices = np.concatenate(
        [pc.fill_null(chunk.indices, -1).to_numpy().astype("int64") for chunk in encoded.chunks]
    )
    # Only the values some row holds, as pd.factorize has them (a month's dictionary can hold
    # more), sorted.
    used = np.flatnonzero(np.bincount(indices[indices >= 0], minlength=len(dictionary)))
    order = used[np.argsort(dictionary[used], kind="stable")]
    code_of = np.full(len(dictionary) + 1, -1, dtype="int64")
    code_of[order] = np.arange(len(order))
    return dictionary[order], code_of[indices]  # indices -1 -> the last entry, -1


def _day_numbers_of(column: pa.ChunkedArray) -> np.ndarray:
    """Day numbers (NO_DAY for NULL) of a timestamp or date column."""
    import pyarrow as pa
    import pyarrow.compute as pc

    kind = column.type
    if pa.types.is_timestamp(kind) and kind.tz is None and kind.unit == "ns":
        stamps = pc.fill_null(column.cast(pa.int64()), NO_DAY)
        values = _flat(stamps)
        return np.where(values == NO_DAY, NO_DAY, values // _NS_PER_DAY)
    if pa.types.is_date32(kind):
        values = _flat(pc.fill_null(column.cast(pa.int32()).cast(pa.int64()), NO_DAY))
        return values.astype("int64", copy=False)
    from .event_impact import _day_numbers  # any other type: as the pandas path reads it

    return _day_numbers(column.to_pandas())
