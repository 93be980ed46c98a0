"""The call cells (`event_impact.call_cells`, every month concatenated) as the integer arrays
the baseline rates and the event impact model count with.

Every month of `calls_by_block_group_hour` is millions of cells at ten times Austin, nearly one
per call: the block groups are factorized once (codes into the sorted distinct block groups),
the dates turned into day numbers once, and a cell's (block group, day) is looked up in a flag
per block group and day of the history instead of sorting millions of keys (`np.isin`).
No dagster here.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

NO_DAY = np.iinfo("int64").min  # a cell without a date (a NaT's day number), outside any span


@dataclass(frozen=True)
class CellArrays:
    """Cells as arrays: block group codes into the sorted distinct block groups (-1: NULL),
    day numbers (days since 1970-01-01, `NO_DAY` without a date), hours and calls; `frame`
    keeps the other columns (measures, priority, category)."""

    geo_ids: np.ndarray  # object: the distinct non-NULL block groups, sorted
    geo_code: np.ndarray  # int64 per cell
    day: np.ndarray  # int64 per cell
    hour: np.ndarray  # int64 per cell
    calls: np.ndarray  # int64 per cell
    frame: pd.DataFrame

    def __len__(self) -> int:
        return len(self.calls)

    @classmethod
    def of(cls, cells: pd.DataFrame | CellArrays) -> CellArrays:
        if isinstance(cells, CellArrays):
            return cells
        from .event_impact import _day_numbers

        codes, geo_ids = pd.factorize(cells["geo_id"].to_numpy(dtype=object), sort=True)
        return cls(
            geo_ids=np.asarray(geo_ids, dtype=object),
            geo_code=codes.astype("int64"),
            day=_day_numbers(cells["date"]) if len(cells) else np.array([], dtype="int64"),
            hour=cells["hour"].to_numpy(dtype="int64"),
            calls=cells["calls"].to_numpy(dtype="int64"),
            frame=cells,
        )

    def history_days(self) -> tuple[int, int] | None:
        """First and last day number of the cells with a date, or None."""
        dated = self.day[self.day != NO_DAY]
        return (int(dated.min()), int(dated.max())) if len(dated) else None

    def on_block_group_days(self, geo_ids: np.ndarray, days: np.ndarray) -> np.ndarray:
        """Which cells lie on one of the (block group, day number) pairs given."""
        span = self.history_days()
        keep = np.zeros(len(self), dtype=bool)
        if span is None or not len(geo_ids):
            return keep
        first, width = span[0], span[1] - span[0] + 1
        codes = pd.Index(self.geo_ids).get_indexer(np.asarray(geo_ids, dtype=object))
        days = np.asarray(days, dtype="int64")
        inside = (codes >= 0) & (days >= first) & (days < first + width)
        flags = np.zeros(len(self.geo_ids) * width, dtype=bool)
        flags[codes[inside] * width + (days[inside] - first)] = True
        located = (self.geo_code >= 0) & (self.day != NO_DAY)
        keep[located] = flags[self.geo_code[located] * width + (self.day[located] - first)]
        return keep
