"""The per-month aggregates split at the event days, behind the baseline call rates and the
event impact model (assets `baseline_call_counts` and `event_day_call_cells`).

The baseline's rates (`event_impact.baseline_rates`) divide integer counts, the located calls on
days that were not event days at their block group, per (block group, weekday, hour), by that
weekday's comparable days. Counts add up over months, so each month keeps its own
(`ordinary_day_counts`): one row per (block group, weekday) with the 24 hours as columns, at most
7 per block group whatever the number of calls. The event impact model needs, of the call cells,
only those of the linked calls' block groups and dates, all of which are event days
(`event_day_cells`, a small share of the cells). A new day recounts one month, and the rates and
the model read every month's small tables instead of every month's call cells.

An event day is decided per month exactly as the rates decide it over the whole history (the
link rule's `event_geo_days`, plus any linked call's block group and date), so the rates summed
from the months equal `baseline_rates_from_cells` over every month's cells, and the model fitted
from the event-day cells equals `fit_event_impact_from_cells`. No dagster here.
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from .cell_arrays import NO_DAY, CellArrays
from .counting import summed_per_key
from .event_impact import (
    DAYS,
    HOURS,
    _day_numbers,
    event_geo_days,
    rates_of_counts,
    weekday_of,
)

if TYPE_CHECKING:
    import pyarrow as pa

HOUR_COLUMNS: tuple[str, ...] = tuple(f"hour_{hour:02d}" for hour in range(HOURS))
BASELINE_COUNT_COLUMNS = ["geo_id", "day_of_week_index", *HOUR_COLUMNS]


def ordinary_day_counts(
    cells: pd.DataFrame | CellArrays, event_days_by_geo: pd.DataFrame, by: pd.Series | None = None
) -> pd.DataFrame:
    """The located calls of the call cells (`event_impact.call_cells`) on days that are not
    event days at their block group (`event_days_by_geo`: geo_id, date), counted per block
    group, weekday and hour: one row per (value of `by`, e.g. the month: column `by`; block
    group; weekday) with at least one such call, the hours as columns `hour_00`..`hour_23`.
    Sorted by `by`, block group and weekday."""
    arrays = CellArrays.of(cells)
    kept = (
        (arrays.geo_code >= 0) & (arrays.day != NO_DAY) & ~_on_event_days(arrays, event_days_by_geo)
    )
    if by is None:
        by_codes, by_values = np.zeros(len(arrays), dtype="int64"), np.array([None], dtype=object)
    else:
        by_codes, by_values = pd.factorize(by.to_numpy(dtype=object), sort=True)
    # One key per (by, block group, weekday); only the keys that occur are kept (sorted).
    places = max(len(arrays.geo_ids), 1)
    group = (by_codes[kept].astype("int64") * places + arrays.geo_code[kept]) * DAYS
    keys, row = np.unique(group + weekday_of(arrays.day[kept]), return_inverse=True)
    # Integer weights: the float sums are exact.
    counts = np.bincount(
        row.reshape(-1) * HOURS + arrays.hour[kept],
        weights=arrays.calls[kept],
        minlength=len(keys) * HOURS,
    ).reshape(len(keys), HOURS)
    table = pd.DataFrame(
        {
            "geo_id": np.asarray(arrays.geo_ids, dtype=object)[keys // DAYS % places],
            "day_of_week_index": (keys % DAYS).astype("int64"),
            # A month's count per (block group, weekday, hour) is small: half the bytes of
            # int64 for the hundreds of months the rates sum at ten times Austin.
            **{column: counts[:, hour].astype("int32") for hour, column in enumerate(HOUR_COLUMNS)},
        }
    )
    if by is not None:
        table.insert(0, "by", np.asarray(by_values, dtype=object)[keys // DAYS // places])
    return table


def event_day_cells(
    cells: pd.DataFrame | CellArrays, event_days_by_geo: pd.DataFrame
) -> pd.DataFrame:
    """The call cells (`event_impact.call_cells`) of a located block group on one of its event
    days (`event_days_by_geo`: geo_id, date), in their order, every column kept."""
    arrays = CellArrays.of(cells)
    on_event_day = _on_event_days(arrays, event_days_by_geo)
    return arrays.frame[on_event_day].reset_index(drop=True)


def _on_event_days(cells: CellArrays, event_days_by_geo: pd.DataFrame) -> np.ndarray:
    """Which cells lie on an event day of their block group."""
    event_geo = event_days_by_geo["geo_id"].to_numpy(dtype=object)
    event_day = _day_numbers(event_days_by_geo["date"]) if len(event_geo) else np.array([], "int64")
    return cells.on_block_group_days(event_geo, event_day)


def baseline_rates_from_counts(
    counts: pd.DataFrame | pa.Table, event_days_by_geo: pd.DataFrame, first: date, last: date
) -> pd.DataFrame:
    """`baseline_rates` from the monthly counts (`ordinary_day_counts`, every month
    concatenated: a frame, or the lake's Arrow table, summed per block group and weekday in
    Arrow before pandas sees it) and the history span [first, last] (the first and last call
    date): the very same rates as `baseline_rates_from_cells` on the cells counted."""
    if not isinstance(counts, pd.DataFrame):
        counts = summed_per_key(counts, ["geo_id", "day_of_week_index"], HOUR_COLUMNS)
    codes, geo_ids = pd.factorize(counts["geo_id"].to_numpy(dtype=object), sort=True)
    group = codes.astype("int64") * DAYS + counts["day_of_week_index"].to_numpy(dtype="int64")
    summed = np.zeros((len(geo_ids) * DAYS, HOURS), dtype="int64")
    for hour, column in enumerate(HOUR_COLUMNS):
        summed[:, hour] = np.bincount(
            group, weights=counts[column].to_numpy(dtype="int64"), minlength=len(summed)
        ).astype("int64")
    return rates_of_counts(
        np.asarray(geo_ids, dtype=object), summed.reshape(-1), event_days_by_geo, first, last
    )


def with_linked_days(event_days: pd.DataFrame, links: pd.DataFrame) -> tuple[pd.DataFrame, int]:
    """The event days (geo_id, date) plus every linked call's (geo_id, call_date) that is not
    one of them, and how many such linked days there were. Every link lies on an event day by
    construction; a link outside them would mean the links were built with another radius or
    other events, and its day is an event day for the baseline all the same."""
    linked_days = links[["geo_id", "call_date"]].dropna().drop_duplicates()
    known = pd.MultiIndex.from_frame(event_days[["geo_id", "date"]])
    stray = ~pd.MultiIndex.from_arrays(
        [linked_days["geo_id"], pd.to_datetime(linked_days["call_date"])]
    ).isin(known)
    extra = linked_days[stray].set_axis(["geo_id", "date"], axis=1)
    return pd.concat([event_days, extra], ignore_index=True), int(stray.sum())


def baseline_event_days(
    events: pd.DataFrame,
    geo: pd.DataFrame,
    links: pd.DataFrame,
    radius_km: float,
    span: tuple[date, date] | None,
) -> tuple[pd.DataFrame, int]:
    """The (geo_id, date) the baseline leaves out within the history span [first, last]: the
    link rule's event days (`event_geo_days`) and every linked call's day (`with_linked_days`),
    with the number of linked days outside the link rule. None for the span: no history, no
    rule days."""
    days = (
        event_geo_days(events, geo, radius_km, *span)
        if span
        else pd.DataFrame({"geo_id": pd.Series(dtype=object), "date": pd.Series(dtype="<M8[ns]")})
    )
    return with_linked_days(days, links)
