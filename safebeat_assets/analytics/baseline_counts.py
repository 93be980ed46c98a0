"""Per-month counts behind the baseline call rates (asset `baseline_call_counts`), and the rates
summed from them.

The baseline's rates (`event_impact.baseline_rates`) divide integer counts, the located calls on
days that were not event days at their block group, per (block group, weekday, hour), by that
weekday's comparable days. Counts add up over months, so each month keeps its own: one row per
(block group, weekday) with the 24 hours as columns, at most 7 per block group whatever the
number of calls. A new day recounts one month, and the rates sum every month's small table
instead of every month's call cells.

An event day is decided per month exactly as the rates decide it over the whole history (the
link rule's `event_geo_days`, plus any linked call's block group and date), so the rates summed
from the months equal `baseline_rates_from_cells` over every month's cells. No dagster here.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd

from .cell_arrays import NO_DAY, CellArrays
from .event_impact import (
    DAYS,
    HOURS,
    _day_numbers,
    event_geo_days,
    rates_of_counts,
    weekday_of,
)

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
    event_geo = event_days_by_geo["geo_id"].to_numpy(dtype=object)
    event_day = _day_numbers(event_days_by_geo["date"]) if len(event_geo) else np.array([], "int64")
    kept = (
        (arrays.geo_code >= 0)
        & (arrays.day != NO_DAY)
        & ~arrays.on_block_group_days(event_geo, event_day)
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
            **{column: counts[:, hour].astype("int64") for hour, column in enumerate(HOUR_COLUMNS)},
        }
    )
    if by is not None:
        table.insert(0, "by", np.asarray(by_values, dtype=object)[keys // DAYS // places])
    return table


def baseline_rates_from_counts(
    counts: pd.DataFrame, event_days_by_geo: pd.DataFrame, first: date, last: date
) -> pd.DataFrame:
    """`baseline_rates` from the monthly counts (`ordinary_day_counts`, every month
    concatenated) and the history span [first, last] (the first and last call date): the very
    same rates as `baseline_rates_from_cells` on the cells the counts were made from."""
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
