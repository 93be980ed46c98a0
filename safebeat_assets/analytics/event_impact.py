"""Event impact: how many 911 calls does a permitted event add around it?

Permits are day-level and calls are located by block group only, so everything here is counted
per event-day within the link radius, with the link rule of `transform.linkage` (a block
group's internal point within `radius_km` of the event point, the call's local date within the
event's dates).

1. **Baseline rates** (`baseline_rates`, the `call_baseline_rates` table): per block group,
   weekday (0 = Mon) and hour, the mean number of calls per *comparable day*: calls on days
   without an event at that block group, divided by the number of that weekday's days in the
   history span (first to last call date, the same span for every block group) that were not
   event days there. A (block group, date) is an event day when some event lies within the
   link radius and runs that date (`event_geo_days`), whether or not a call was linked.
2. **Training frame** (`event_day_frame`): one row per historical event-day, with the calls
   linked that day and its baseline: the sum over the block groups within the radius of their
   rates for that weekday, all 24 hours (`RateTable`, the same arithmetic as the planner).
3. **Model**: Poisson log-linear with offset log(baseline), E[linked] = baseline · exp(b0 + b·x)
   (sklearn `PoissonRegressor` on linked/baseline with sample_weight = baseline, a small ridge
   `ALPHA`), on tier (one-hot against the most frequent tier), alcohol, amplified sound, road
   closure and log1p(expected attendance) with a missing indicator; a feature constant in the
   training rows (ACE delivers no attendance) is dropped and named. Chronological backtest:
   fit on the earliest 80 % of event-days (whole dates), score the rest against a naive model
   (baseline + the training part's mean uplift of the event's tier); then refit on every
   event-day for the served model. Fewer than `MIN_EVENT_DAYS` usable event-days (or a failed
   fit) serve the naive model instead, said so in `fallback_reason`, with no backtest claimed.
4. **Mixes** for the planner: priority and category shares of linked calls (overall and per
   tier), mean unit time on scene and units arrived, the event-day hourly profile.

The model is stored as data (`EventImpactModel.to_summary`, plain JSON), never a pickle.
No dagster here.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from typing import Any

import numpy as np
import pandas as pd

from ..domain import DEFAULT_LINK_RADIUS_KM
from ..transform.linkage import _eligible_events, _expand_to_days, _pairs_within_radius
from .cell_arrays import CellArrays

# --- contracts -----------------------------------------------------------------------------------

BASELINE_RATE_COLUMNS = ["geo_id", "day_of_week_index", "hour", "calls_per_day", "comparable_days"]
IMPACT_MODEL_COLUMNS = [
    "event_id",
    "event_name",
    "date",
    "tier",
    "has_alcohol",
    "has_amplified_sound",
    "has_road_closure",
    "expected_attendance",
    "linked_calls",
    "baseline_calls",
    "uplift",
    "predicted_calls",
    "naive_predicted_calls",
    "backtest_predicted_calls",
    "split",
]
# What `predict` reads per event (a mapping or frame columns).
RAW_FEATURES = (
    "tier",
    "has_alcohol",
    "has_amplified_sound",
    "has_road_closure",
    "expected_attendance",
)
FLAG_FEATURES = ("has_alcohol", "has_amplified_sound", "has_road_closure")
ATTENDANCE_FEATURES = ("log1p_attendance", "attendance_missing")

# --- settings of the method ----------------------------------------------------------------------

POISSON = "poisson_log_linear"
NAIVE = "naive_tier_uplift"
ALPHA = 1e-4  # ridge penalty of the Poisson fit: only keeps collinear dummies finite
MIN_EVENT_DAYS = 30  # fewer usable event-days: the naive model is served, no backtest
BACKTEST_FRACTION = 0.2
MIN_BACKTEST_ROWS = 5
MIN_CALLS_FOR_TIER_MIX = 200  # a tier with fewer linked calls uses the overall mixes
TOP_CATEGORIES = 8  # category mix: the most frequent categories, the rest as "Other"
HOUR_PROFILE_PRIOR_CALLS = 10.0  # shrinks each hour's event-day ratio towards the day's
MIN_VALUES_FOR_LINKED_MEAN = 30  # fewer linked calls with a unit time: the mean of all calls
PRIORITY_LABELS = ("P0", "P1", "P2", "P3", "unknown")
OTHER_CATEGORY = "Other"
SUMMARY_ATTR = "model_summary"  # the frame attribute carrying the summary (= defs.ml.MODEL_SUMMARY)

DAYS, HOURS = 7, 24
_EPOCH_WEEKDAY = 3  # 1970-01-01 was a Thursday (0 = Monday)


# --- dates ---------------------------------------------------------------------------------------


def _day_numbers(values: Any) -> np.ndarray:
    """Calendar dates (datetimes, dates or strings; tz-aware ones by their own local date) ->
    days since 1970-01-01."""
    stamps = pd.to_datetime(pd.Series(values) if not isinstance(values, pd.Series) else values)
    if getattr(stamps.dt, "tz", None) is not None:
        stamps = stamps.dt.tz_localize(None)
    return stamps.to_numpy(dtype="datetime64[ns]").astype("datetime64[D]").astype("int64")


def weekday_of(day_numbers: np.ndarray) -> np.ndarray:
    """0 = Monday .. 6 = Sunday of days since 1970-01-01."""
    return (np.asarray(day_numbers, dtype="int64") + _EPOCH_WEEKDAY) % DAYS


def _as_date(day_number: int) -> date:
    return date.fromordinal(date(1970, 1, 1).toordinal() + int(day_number))


def _day_number(value: date) -> int:
    return value.toordinal() - date(1970, 1, 1).toordinal()


def history_range(calls: pd.DataFrame, column: str = "response_date") -> tuple[date, date] | None:
    """First and last local call date (`response_date`; `date` of the call cells), or None
    without calls."""
    if calls is None or calls.empty:
        return None
    days = _day_numbers(calls[column].dropna())
    if not len(days):
        return None
    return _as_date(days.min()), _as_date(days.max())


# --- geography -----------------------------------------------------------------------------------


def _geo_points(geo: pd.DataFrame) -> pd.DataFrame:
    points = geo[["geo_id", "latitude_centroid", "longitude_centroid"]]
    points = points[points["latitude_centroid"].notna() & points["longitude_centroid"].notna()]
    return points.drop_duplicates("geo_id").reset_index(drop=True)


def geos_within_radius(
    geo: pd.DataFrame, latitude: float, longitude: float, radius_km: float
) -> pd.DataFrame:
    """The block groups (dim_geo rows) whose internal point lies within `radius_km` of the
    point, by the link rule: geo_id, distance_km, nearest first."""
    points = _geo_points(geo)
    event = pd.DataFrame({"event_lat": [float(latitude)], "event_lon": [float(longitude)]})
    pairs = _pairs_within_radius(
        event,
        points["latitude_centroid"].to_numpy(dtype="float64"),
        points["longitude_centroid"].to_numpy(dtype="float64"),
        radius_km,
    )
    found = pd.DataFrame(
        {
            "geo_id": points["geo_id"].to_numpy(dtype=object)[pairs["geo_code"].to_numpy()],
            "distance_km": pairs["distance_km"].to_numpy(dtype="float64"),
        }
    )
    return found.sort_values(["distance_km", "geo_id"], kind="mergesort").reset_index(drop=True)


def _event_geo_day_pairs(
    events: pd.DataFrame, geo: pd.DataFrame, radius_km: float, first: date, last: date
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """(eligible events, dim_geo points, one row per (event, block group within the radius,
    event day in [first, last])) with event_pos, geo_code, distance_km, day."""
    eligible = _eligible_events(events)
    points = _geo_points(geo)
    if not len(eligible) or not len(points):
        empty = pd.DataFrame(
            {
                "event_pos": np.array([], "int64"),
                "geo_code": np.array([], "int64"),
                "distance_km": np.array([], "float64"),
                "day": np.array([], "int64"),
            }
        )
        return eligible, points, empty
    pairs = _pairs_within_radius(
        eligible,
        points["latitude_centroid"].to_numpy(dtype="float64"),
        points["longitude_centroid"].to_numpy(dtype="float64"),
        radius_km,
    )
    return eligible, points, _expand_to_days(pairs, eligible, _day_number(first), _day_number(last))


def event_geo_days(
    events: pd.DataFrame,
    geo: pd.DataFrame,
    radius_km: float = DEFAULT_LINK_RADIUS_KM,
    first: date | None = None,
    last: date | None = None,
) -> pd.DataFrame:
    """Every (geo_id, date) that is an event day for that block group: an eligible event lies
    within the link radius of its internal point and runs that date (clipped to [first, last]
    when given). Distinct rows, columns geo_id, date."""
    first = first or date(1990, 1, 1)
    last = last or date(2100, 1, 1)
    _, points, pair_days = _event_geo_day_pairs(events, geo, radius_km, first, last)
    keys = pair_days[["geo_code", "day"]].drop_duplicates()
    return pd.DataFrame(
        {
            "geo_id": points["geo_id"].to_numpy(dtype=object)[keys["geo_code"].to_numpy()],
            "date": keys["day"]
            .to_numpy(dtype="int64")
            .astype("datetime64[D]")
            .astype("datetime64[ns]"),
        }
    ).reset_index(drop=True)


# --- per-month aggregate: call cells ------------------------------------------------------------

CALL_CELL_COLUMNS = [
    "geo_id",
    "date",
    "hour",
    "priority_numeric",
    "final_problem_category",
    "calls",
    "unit_time_on_scene_sum",
    "unit_time_on_scene_calls",
    "number_of_units_arrived_sum",
    "number_of_units_arrived_calls",
]
# The call measures whose means the model states: summed (with the count of known values).
MEAN_MEASURES = ("unit_time_on_scene", "number_of_units_arrived")


def call_cells(calls: pd.DataFrame, by: pd.Series | None = None) -> pd.DataFrame:
    """The event-impact aggregate (asset `calls_by_block_group_hour`): calls per block group,
    local date, hour, priority and category (and value of `by`, e.g. the month: column `by`),
    with the sum and count of the known unit times on scene and units arrived. Every call is
    counted (a NULL geo_id, priority or category is a value of its own), so both assets
    recompute from it what they take from the calls: the history span, the baseline counts,
    the linked calls' hours and means (a call is linked to an event for its block group and
    date, so a link's calls are its cell's: `fit_event_impact_from_cells`) and the all-calls
    fallbacks. Integer values: the sums are exact.

    `calls`: geo_id (the matched block group), response_date, response_hour, priority_numeric,
    final_problem_category, unit_time_on_scene, number_of_units_arrived."""
    from .counting import distinct_rows

    keys = pd.DataFrame(
        {
            "geo_id": calls["geo_id"].astype(object).where(calls["geo_id"].notna(), None),
            "date": pd.to_datetime(calls["response_date"]).astype("datetime64[ns]"),
            "hour": calls["response_hour"].astype("int64"),
            "priority_numeric": pd.to_numeric(calls["priority_numeric"], errors="coerce").astype(
                "Int64"
            ),
            "final_problem_category": calls["final_problem_category"]
            .astype(object)
            .where(calls["final_problem_category"].notna(), None),
        }
    )
    if by is not None:
        keys.insert(0, "by", by.to_numpy())
    table, cell, counts = distinct_rows(keys)
    table["calls"] = counts
    for measure in MEAN_MEASURES:
        values = pd.to_numeric(calls[measure], errors="coerce").astype("Float64")
        known = values.notna().to_numpy()
        filled = values.to_numpy(dtype="float64", na_value=0.0)
        table[f"{measure}_sum"] = np.bincount(cell, weights=filled, minlength=len(table))
        table[f"{measure}_calls"] = np.bincount(cell, weights=known, minlength=len(table)).astype(
            "int64"
        )
    return table


CALL_MIX_COLUMNS = [
    "priority_numeric",
    "final_problem_category",
    "calls",
    *(f"{measure}_{part}" for measure in MEAN_MEASURES for part in ("sum", "calls")),
]


def call_mix(cells: pd.DataFrame, by: pd.Series | None = None) -> pd.DataFrame:
    """The call cells (`call_cells`) summed per priority and category (and value of `by`, e.g.
    the month: column `by`), sorted, NULL keys last: every call's mix and means, which the event
    impact model falls back to without enough linked calls (asset `calls_by_priority_category`,
    a few hundred rows a month). Integer values: the sums are exact."""
    from .counting import distinct_rows

    keys = cells[["priority_numeric", "final_problem_category"]].copy()
    if by is not None:
        keys.insert(0, "by", by.to_numpy())
    table, row, _ = distinct_rows(keys)
    for column in CALL_MIX_COLUMNS[2:]:
        summed = np.bincount(row, weights=cells[column].to_numpy(), minlength=len(table))
        table[column] = summed.astype("int64") if column.endswith("calls") else summed
    return table


# --- baseline rates ------------------------------------------------------------------------------


def empty_baseline_rates() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "geo_id": pd.Series(dtype="object"),
            "day_of_week_index": pd.Series(dtype="int64"),
            "hour": pd.Series(dtype="int64"),
            "calls_per_day": pd.Series(dtype="float64"),
            "comparable_days": pd.Series(dtype="int64"),
        }
    )


def baseline_rates(
    calls: pd.DataFrame,
    event_days_by_geo: pd.DataFrame,
    first: date | None = None,
    last: date | None = None,
) -> pd.DataFrame:
    """Contract call_baseline_rates: per (geo_id, day_of_week_index, hour) with at least one
    call on a non-event day, calls_per_day = those calls / comparable_days, where
    comparable_days = that weekday's days in [first, last] (default: the calls' first and last
    date) that were not event days at the block group.

    `calls`: geo_id (NULL: not located, ignored), response_date, response_hour.
    `event_days_by_geo`: geo_id, date (e.g. `event_geo_days`). Vectorised: one pass of integer
    codes over the calls, no per-row Python. The all-calls reference of
    `baseline_rates_from_cells` (the asset's path, from the per-month call cells)."""
    if first is None or last is None:
        span = history_range(calls)
        if span is None:
            return empty_baseline_rates()
        first, last = first or span[0], last or span[1]
    codes, geo_ids = pd.factorize(calls["geo_id"].to_numpy(dtype=object), sort=True)
    return _baseline_rates(
        np.asarray(geo_ids, dtype=object),
        codes.astype("int64"),
        _day_numbers(calls["response_date"]) if len(calls) else np.array([], "int64"),
        calls["response_hour"].to_numpy(dtype="int64"),
        np.ones(len(calls), dtype="int64"),
        event_days_by_geo,
        first,
        last,
    )


def cells_history_range(cells: pd.DataFrame | CellArrays) -> tuple[date, date] | None:
    """`history_range` of the call cells (the frame or its arrays)."""
    days = CellArrays.of(cells).history_days()
    return (_as_date(days[0]), _as_date(days[1])) if days else None


def baseline_rates_from_cells(
    cells: pd.DataFrame | CellArrays,
    event_days_by_geo: pd.DataFrame,
    first: date | None = None,
    last: date | None = None,
) -> pd.DataFrame:
    """`baseline_rates` from the call cells (`call_cells`, every month concatenated): the very
    same rates, each cell counting its calls."""
    arrays = CellArrays.of(cells)
    if first is None or last is None:
        span = cells_history_range(arrays)
        if span is None:
            return empty_baseline_rates()
        first, last = first or span[0], last or span[1]
    return _baseline_rates(
        arrays.geo_ids,
        arrays.geo_code,
        arrays.day,
        arrays.hour,
        arrays.calls,
        event_days_by_geo,
        first,
        last,
    )


def _baseline_rates(
    geo_ids: np.ndarray,
    geo_code: np.ndarray,
    day: np.ndarray,
    hour: np.ndarray,
    calls: np.ndarray,
    event_days_by_geo: pd.DataFrame,
    first: date,
    last: date,
) -> pd.DataFrame:
    """`baseline_rates` of rows (a call, or a cell of `calls` calls) at a block group (a code
    into the sorted `geo_ids`, -1 for none), day number and hour."""
    first_day, last_day = _day_number(first), _day_number(last)
    if last_day < first_day:
        return empty_baseline_rates()
    located = (geo_code >= 0) & (day >= first_day) & (day <= last_day)
    # Only the block groups with a located call in the span, as factorizing those calls gives
    # (counted, not sorted: millions of cells at ten times Austin).
    codes = geo_code[located]
    used = np.bincount(codes, minlength=len(geo_ids)) > 0
    if not used.any():
        return empty_baseline_rates()
    geo_ids = geo_ids[used]
    codes = (np.cumsum(used) - 1)[codes]
    day = day[located]
    hour = hour[located]
    calls = calls[located]
    span_days = last_day - first_day + 1

    # Distinct event days per block group (only those with calls matter), within the span.
    event_keys = _event_keys(geo_ids, event_days_by_geo, first_day, last_day)

    # A flag per (block group, day) of the span, looked up per row (no sort of the rows).
    is_event_day = np.zeros(len(geo_ids) * span_days, dtype=bool)
    is_event_day[event_keys] = True
    ordinary = ~is_event_day[codes.astype("int64") * span_days + (day - first_day)]
    cell = (codes.astype("int64") * DAYS + weekday_of(day)) * HOURS + hour
    # Integer weights: the float counts are exact, as are the rates divided from them.
    counts = np.bincount(
        cell[ordinary], weights=calls[ordinary], minlength=len(geo_ids) * DAYS * HOURS
    ).astype("int64")
    return _rates_of_counts(geo_ids, counts, event_keys, first_day, last_day)


def _event_keys(
    geo_ids: np.ndarray, event_days_by_geo: pd.DataFrame, first_day: int, last_day: int
) -> np.ndarray:
    """The distinct event days within the span of the block groups in `geo_ids` (sorted), as
    keys geo code * span days + day offset."""
    span_days = last_day - first_day + 1
    ev_code = pd.Index(geo_ids).get_indexer(event_days_by_geo["geo_id"].to_numpy(dtype=object))
    ev_day = _day_numbers(event_days_by_geo["date"]) if len(event_days_by_geo) else ev_code
    keep = (ev_code >= 0) & (ev_day >= first_day) & (ev_day <= last_day)
    return np.unique(ev_code[keep].astype("int64") * span_days + (ev_day[keep] - first_day))


def rates_of_counts(
    geo_ids: np.ndarray,
    counts: np.ndarray,
    event_days_by_geo: pd.DataFrame,
    first: date,
    last: date,
) -> pd.DataFrame:
    """`baseline_rates` of the calls on non-event days already counted: `counts` per (block
    group of the sorted `geo_ids`, weekday, hour), flat in that order."""
    first_day, last_day = _day_number(first), _day_number(last)
    if last_day < first_day or not len(geo_ids):
        return empty_baseline_rates()
    event_keys = _event_keys(geo_ids, event_days_by_geo, first_day, last_day)
    return _rates_of_counts(geo_ids, counts, event_keys, first_day, last_day)


def _rates_of_counts(
    geo_ids: np.ndarray, counts: np.ndarray, event_keys: np.ndarray, first_day: int, last_day: int
) -> pd.DataFrame:
    span_days = last_day - first_day + 1
    days_per_weekday = np.bincount(weekday_of(np.arange(first_day, last_day + 1)), minlength=DAYS)
    event_geo = event_keys // span_days
    event_weekday = weekday_of(event_keys % span_days + first_day)
    event_days = np.bincount(event_geo * DAYS + event_weekday, minlength=len(geo_ids) * DAYS)
    comparable = days_per_weekday[None, :] - event_days.reshape(len(geo_ids), DAYS)

    found = np.flatnonzero(counts)
    geo_code, weekday, hour_of = found // (DAYS * HOURS), (found // HOURS) % DAYS, found % HOURS
    comparable_days = comparable[geo_code, weekday]
    return pd.DataFrame(
        {
            "geo_id": np.asarray(geo_ids, dtype=object)[geo_code],
            "day_of_week_index": weekday.astype("int64"),
            "hour": hour_of.astype("int64"),
            "calls_per_day": counts[found] / comparable_days,
            "comparable_days": comparable_days.astype("int64"),
        }
    )


@dataclass(frozen=True)
class RateTable:
    """call_baseline_rates as an array (block group x weekday x hour), absent cells 0: the one
    place where baselines are summed, for the training frame and the planner alike."""

    geo_index: pd.Index
    rates: np.ndarray  # shape (block groups, 7, 24), calls per comparable day

    @classmethod
    def from_frame(cls, rates: pd.DataFrame) -> RateTable:
        codes, geo_ids = pd.factorize(rates["geo_id"].to_numpy(dtype=object), sort=True)
        array = np.zeros((len(geo_ids), DAYS, HOURS), dtype="float64")
        array[
            codes,
            rates["day_of_week_index"].to_numpy(dtype="int64"),
            rates["hour"].to_numpy(dtype="int64"),
        ] = rates["calls_per_day"].to_numpy(dtype="float64")
        return cls(pd.Index(geo_ids), array)

    def by_hour(self, geo_ids: Any, day_of_week_index: int) -> np.ndarray:
        """Calls per comparable day of each block group (rows) and hour (columns) on that
        weekday; a block group without rates has zeros."""
        codes = self.geo_index.get_indexer(np.asarray(geo_ids, dtype=object))
        out = np.zeros((len(codes), HOURS), dtype="float64")
        known = codes >= 0
        out[known] = self.rates[codes[known], int(day_of_week_index)]
        return out

    def codes(self, geo_ids: Any) -> np.ndarray:
        return self.geo_index.get_indexer(np.asarray(geo_ids, dtype=object))


def place_baseline_by_hour(
    rates: pd.DataFrame | RateTable,
    geo: pd.DataFrame,
    latitude: float,
    longitude: float,
    days: Any,
    radius_km: float,
) -> np.ndarray:
    """Calls per hour (24 values) expected at a place on `days` without an event: the rates of
    the block groups within the radius (the link rule), each day's weekday, summed over days."""
    table = _as_rate_table(rates)
    near = geos_within_radius(geo, latitude, longitude, radius_km)["geo_id"].to_numpy(dtype=object)
    total = np.zeros(HOURS, dtype="float64")
    for day in days:
        total += table.by_hour(near, day.weekday()).sum(axis=0)
    return total


def _as_rate_table(rates: pd.DataFrame | RateTable) -> RateTable:
    return rates if isinstance(rates, RateTable) else RateTable.from_frame(rates)


# --- training frame ------------------------------------------------------------------------------


@dataclass
class EventDays:
    """The training frame and what it took to build it."""

    frame: pd.DataFrame  # one row per usable event-day (IMPACT_MODEL_COLUMNS up to `uplift`)
    hourly_baseline: np.ndarray  # (24,) summed baseline of the frame's event-days per hour
    eligible: int = 0  # event-days of eligible events within the history
    excluded: dict[str, int] = field(default_factory=dict)  # why the others are not in frame


def _event_attributes(eligible: pd.DataFrame) -> pd.DataFrame:
    tier = pd.to_numeric(eligible["tier"], errors="coerce").astype("Float64")
    attendance = (
        pd.to_numeric(eligible["expected_attendance"], errors="coerce").astype("Float64")
        if "expected_attendance" in eligible
        else pd.Series(pd.NA, index=eligible.index, dtype="Float64")
    )
    attributes = pd.DataFrame(
        {
            "event_id": eligible["event_id"].to_numpy(dtype="int64"),
            "event_name": eligible["event_name"].astype(object).to_numpy()
            if "event_name" in eligible
            else None,
            "tier": tier.round().astype("Int64").array,
            "expected_attendance": attendance.round().astype("Int64").array,
        }
    )
    for flag in FLAG_FEATURES:
        attributes[flag] = (
            eligible[flag].astype("boolean").fillna(False).to_numpy(dtype=bool)
            if flag in eligible
            else False
        )
    return attributes


def event_day_frame(
    events: pd.DataFrame,
    geo: pd.DataFrame,
    links: pd.DataFrame,
    rates: pd.DataFrame | RateTable,
    first: date,
    last: date,
    radius_km: float = DEFAULT_LINK_RADIUS_KM,
) -> EventDays:
    """One row per historical event-day (event_id, date) in [first, last] of an eligible event
    (linkage's rule) with a known tier and a baseline > 0: linked_calls (rows of `links` that
    day), baseline_calls (the block groups within the radius, that weekday, all 24 hours),
    uplift = linked − baseline, and the event's attributes. Sorted by (date, event_id)."""
    table = _as_rate_table(rates)
    eligible, points, pair_days = _event_geo_day_pairs(events, geo, radius_km, first, last)
    excluded = dict.fromkeys(("no_block_group_in_radius", "no_baseline", "unknown_tier"), 0)
    if not len(eligible):
        return EventDays(_empty_event_days(), np.zeros(HOURS), 0, excluded)

    start = np.maximum(_day_numbers(eligible["start_date"]), _day_number(first))
    end = np.minimum(_day_numbers(eligible["end_date"]), _day_number(last))
    total = int(np.maximum(end - start + 1, 0).sum())

    # Baseline per (event, day): the pairs' rates for the day's weekday, summed.
    rate_code = table.codes(points["geo_id"].to_numpy(dtype=object))[
        pair_days["geo_code"].to_numpy()
    ]
    day = pair_days["day"].to_numpy(dtype="int64")
    weekday = weekday_of(day)
    hourly = np.zeros((len(pair_days), HOURS))
    has_rate = rate_code >= 0
    hourly[has_rate] = table.rates[rate_code[has_rate], weekday[has_rate]]
    # One code per (event, day): the pair-days are grouped without a Python loop.
    span = _day_number(last) - _day_number(first) + 1
    event_pos = pair_days["event_pos"].to_numpy(dtype="int64")
    keys, group = np.unique(event_pos * span + (day - _day_number(first)), return_inverse=True)
    daily_hourly = np.zeros((len(keys), HOURS))
    np.add.at(daily_hourly, group, hourly)
    excluded["no_block_group_in_radius"] = total - len(keys)

    attributes = _event_attributes(eligible)
    frame = attributes.iloc[keys // span].reset_index(drop=True)
    frame["day"] = keys % span + _day_number(first)
    frame["baseline_calls"] = daily_hourly.sum(axis=1)

    linked = _linked_per_event_day(links)
    frame = frame.merge(linked, on=["event_id", "day"], how="left")
    frame["linked_calls"] = frame["linked_calls"].fillna(0).astype("int64")

    usable = (frame["baseline_calls"] > 0).to_numpy()
    excluded["no_baseline"] = int((~usable).sum())
    known_tier = frame["tier"].notna().to_numpy()
    excluded["unknown_tier"] = int((usable & ~known_tier).sum())
    keep = usable & known_tier
    frame, daily_hourly = frame[keep], daily_hourly[keep]
    frame = frame.assign(
        date=frame["day"].to_numpy().astype("datetime64[D]").astype("datetime64[ns]"),
        uplift=frame["linked_calls"] - frame["baseline_calls"],
        tier=frame["tier"].astype("int64"),
    )
    order = np.lexsort((frame["event_id"].to_numpy(), frame["day"].to_numpy()))
    frame = frame.iloc[order].reset_index(drop=True)
    columns = IMPACT_MODEL_COLUMNS[: IMPACT_MODEL_COLUMNS.index("uplift") + 1]
    return EventDays(frame[columns], daily_hourly.sum(axis=0), total, excluded)


def _linked_per_event_day(links: pd.DataFrame) -> pd.DataFrame:
    if links is None or links.empty:
        return pd.DataFrame(
            {
                "event_id": np.array([], "int64"),
                "day": np.array([], "int64"),
                "linked_calls": np.array([], "int64"),
            }
        )
    keys = pd.DataFrame(
        {
            "event_id": links["event_id"].to_numpy(dtype="int64"),
            "day": _day_numbers(links["call_date"]),
        }
    )
    return keys.groupby(["event_id", "day"]).size().rename("linked_calls").reset_index()


def _empty_event_days() -> pd.DataFrame:
    dtypes = {
        "event_id": "int64",
        "event_name": "object",
        "date": "datetime64[ns]",
        "tier": "int64",
        "has_alcohol": "bool",
        "has_amplified_sound": "bool",
        "has_road_closure": "bool",
        "expected_attendance": "Int64",
        "linked_calls": "int64",
        "baseline_calls": "float64",
        "uplift": "float64",
        "predicted_calls": "float64",
        "naive_predicted_calls": "float64",
        "backtest_predicted_calls": "float64",
        "split": "object",
    }
    columns = IMPACT_MODEL_COLUMNS[: IMPACT_MODEL_COLUMNS.index("uplift") + 1]
    return pd.DataFrame({c: pd.Series(dtype=dtypes[c]) for c in columns})


# --- features ------------------------------------------------------------------------------------


def candidate_features(known_tiers: tuple[int, ...], reference_tier: int | None) -> list[str]:
    tiers = [f"tier_{t}" for t in known_tiers if t != reference_tier]
    return [*tiers, *FLAG_FEATURES, *ATTENDANCE_FEATURES]


def encode_features(
    raw: pd.DataFrame | Mapping[str, Any], known_tiers: tuple[int, ...], reference_tier: int | None
) -> pd.DataFrame:
    """The numeric design columns (`candidate_features`) of raw event attributes
    (`RAW_FEATURES`): tier one-hot against the reference tier, flags as 0/1,
    log1p(expected_attendance) (0 when missing) and its missing indicator."""
    frame = pd.DataFrame([dict(raw)]) if isinstance(raw, Mapping) else raw
    tier = pd.to_numeric(frame["tier"], errors="coerce").to_numpy(dtype="float64")
    columns: dict[str, np.ndarray] = {}
    for t in known_tiers:
        if t != reference_tier:
            columns[f"tier_{t}"] = (tier == t).astype("float64")
    for flag in FLAG_FEATURES:
        values = frame[flag] if flag in frame else pd.Series(False, index=frame.index)
        columns[flag] = values.astype("boolean").fillna(False).to_numpy(dtype="float64")
    attendance = (
        pd.to_numeric(frame["expected_attendance"], errors="coerce").to_numpy(dtype="float64")
        if "expected_attendance" in frame
        else np.full(len(frame), np.nan)
    )
    missing = np.isnan(attendance)
    columns["log1p_attendance"] = np.where(missing, 0.0, np.log1p(np.clip(attendance, 0, None)))
    columns["attendance_missing"] = missing.astype("float64")
    return pd.DataFrame(columns, index=frame.index)


# --- the model as data ---------------------------------------------------------------------------


@dataclass(frozen=True)
class EventImpactModel:
    """The served event-impact model and everything the planner needs, as plain data.

    `kind` POISSON: E[calls on an event-day] = baseline · exp(intercept + Σ coefficients · x);
    NAIVE (the fallback): max(0, baseline + uplift_by_tier[tier], else mean_uplift)."""

    kind: str
    feature_names: tuple[str, ...]
    coefficients: tuple[float, ...]
    intercept: float
    alpha: float
    known_tiers: tuple[int, ...]
    reference_tier: int | None
    uplift_by_tier: Mapping[int, float]
    mean_uplift: float
    hourly_profile: tuple[float, ...]  # 24 event-day/baseline ratios, relative
    link_radius_km: float
    history_start: date
    history_end: date
    mixes: Mapping[str, Any]
    unit_time_on_scene_s: float | None
    unit_time_on_scene_source: str
    units_arrived_mean: float | None
    fallback_reason: str | None = None
    dropped_features: Mapping[str, str] = field(default_factory=dict)
    training_rows: int = 0
    trained_at: str | None = None  # UTC ISO when the caller says; None in the stored model
    backtest: Mapping[str, Any] = field(default_factory=dict)

    @property
    def is_fallback(self) -> bool:
        return self.kind != POISSON

    def to_summary(self) -> dict[str, Any]:
        """Plain JSON (the model output's summary carries these keys)."""
        return {
            "model": self.kind,
            "is_fallback": self.is_fallback,
            "fallback_reason": self.fallback_reason,
            "feature_names": list(self.feature_names),
            "coefficients": dict(zip(self.feature_names, self.coefficients, strict=True)),
            "intercept": self.intercept,
            "alpha": self.alpha,
            "known_tiers": list(self.known_tiers),
            "reference_tier": self.reference_tier,
            "dropped_features": dict(self.dropped_features),
            "naive_uplift_by_tier": {str(t): u for t, u in self.uplift_by_tier.items()},
            "naive_mean_uplift": self.mean_uplift,
            "hourly_profile": list(self.hourly_profile),
            "link_radius_km": self.link_radius_km,
            "history_start": self.history_start.isoformat(),
            "history_end": self.history_end.isoformat(),
            "mixes": dict(self.mixes),
            "unit_time_on_scene_s": self.unit_time_on_scene_s,
            "unit_time_on_scene_source": self.unit_time_on_scene_source,
            "units_arrived_mean": self.units_arrived_mean,
            "training_rows": self.training_rows,
            "trained_at": self.trained_at,
            "backtest": dict(self.backtest),
        }

    @classmethod
    def from_summary(cls, summary: Mapping[str, Any]) -> EventImpactModel:
        """The model from its summary (e.g. `event_impact_model`'s Parquet attributes)."""
        names = tuple(summary["feature_names"])
        coefficients = summary.get("coefficients") or {}
        return cls(
            kind=summary["model"],
            feature_names=names,
            coefficients=tuple(float(coefficients[n]) for n in names),
            intercept=float(summary.get("intercept") or 0.0),
            alpha=float(summary.get("alpha") or 0.0),
            known_tiers=tuple(int(t) for t in summary.get("known_tiers") or ()),
            reference_tier=summary.get("reference_tier"),
            uplift_by_tier={
                int(t): float(u) for t, u in (summary.get("naive_uplift_by_tier") or {}).items()
            },
            mean_uplift=float(summary.get("naive_mean_uplift") or 0.0),
            hourly_profile=tuple(float(v) for v in summary["hourly_profile"]),
            link_radius_km=float(summary["link_radius_km"]),
            history_start=date.fromisoformat(summary["history_start"]),
            history_end=date.fromisoformat(summary["history_end"]),
            mixes=summary.get("mixes") or {},
            unit_time_on_scene_s=summary.get("unit_time_on_scene_s"),
            unit_time_on_scene_source=summary.get("unit_time_on_scene_source") or "",
            units_arrived_mean=summary.get("units_arrived_mean"),
            fallback_reason=summary.get("fallback_reason"),
            dropped_features=summary.get("dropped_features") or {},
            training_rows=int(summary.get("training_rows") or 0),
            trained_at=summary.get("trained_at"),
            backtest=summary.get("backtest") or {},
        )


def model_from_output(frame: pd.DataFrame) -> EventImpactModel:
    """The served model of a stored `event_impact_model` frame (its summary attribute)."""
    summary = frame.attrs.get(SUMMARY_ATTR)
    if not summary:
        raise ValueError("the frame carries no event-impact model summary")
    return EventImpactModel.from_summary(summary)


def predict(
    model: EventImpactModel,
    features: pd.DataFrame | Mapping[str, Any],
    baseline: float | np.ndarray | pd.Series,
) -> float | np.ndarray:
    """Expected calls within the link radius on an event-day with these attributes
    (`RAW_FEATURES`) and this baseline (calls on a comparable day without an event). A mapping
    and a scalar baseline give a float; a frame gives one value per row."""
    single = isinstance(features, Mapping)
    base = np.asarray(baseline, dtype="float64").reshape(-1)
    frame = pd.DataFrame([dict(features)]) if single else features
    if model.kind == POISSON:
        design = encode_features(frame, model.known_tiers, model.reference_tier)
        x = design[list(model.feature_names)].to_numpy(dtype="float64")
        eta = model.intercept + x @ np.asarray(model.coefficients, dtype="float64")
        out = base * np.exp(eta)
    else:
        tier = pd.to_numeric(frame["tier"], errors="coerce").to_numpy(dtype="float64")
        uplift = np.array(
            [
                model.uplift_by_tier.get(int(t), model.mean_uplift)
                if np.isfinite(t)
                else model.mean_uplift
                for t in tier
            ]
        )  # one lookup per event-day (hundreds), not per call
        out = np.maximum(base + uplift, 0.0)
    return float(out[0]) if single else out


# --- fitting -------------------------------------------------------------------------------------


@dataclass
class _PoissonFit:
    feature_names: tuple[str, ...]
    coefficients: np.ndarray
    intercept: float
    std_errors: np.ndarray  # intercept first, quasi-Poisson
    dispersion: float
    dropped: dict[str, str]


def _fit_poisson(
    design: pd.DataFrame, linked: np.ndarray, baseline: np.ndarray, alpha: float
) -> _PoissonFit | None:
    """Poisson with offset log(baseline) as the equivalent weighted rate regression; None when
    the fit does not give finite coefficients."""
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import PoissonRegressor

    keep = [c for c in design.columns if design[c].nunique() > 1]
    dropped = {c: "constant in the training rows" for c in design.columns if c not in keep}
    x = design[keep].to_numpy(dtype="float64")
    regressor = PoissonRegressor(alpha=alpha, solver="newton-cholesky", max_iter=1000, tol=1e-10)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", ConvergenceWarning)
            regressor.fit(
                x if keep else np.zeros((len(linked), 0)), linked / baseline, sample_weight=baseline
            )
    except (ValueError, ConvergenceWarning, np.linalg.LinAlgError):
        return None
    coefficients = np.asarray(regressor.coef_, dtype="float64")
    intercept = float(regressor.intercept_)
    if not (np.isfinite(coefficients).all() and math.isfinite(intercept)):
        return None
    # Quasi-Poisson standard errors: inverse Fisher information, scaled by the Pearson
    # dispersion (events vary more than Poisson); the tiny ridge penalty is ignored.
    full = np.column_stack([np.ones(len(linked)), x])
    mu = baseline * np.exp(intercept + x @ coefficients)
    information = full.T @ (full * mu[:, None])
    degrees = max(len(linked) - full.shape[1], 1)
    dispersion = float(max(np.sum((linked - mu) ** 2 / np.maximum(mu, 1e-12)) / degrees, 1.0))
    covariance = np.linalg.pinv(information) * dispersion
    std_errors = np.sqrt(np.clip(np.diag(covariance), 0.0, None))
    return _PoissonFit(tuple(keep), coefficients, intercept, std_errors, dispersion, dropped)


def _naive_uplift(frame: pd.DataFrame) -> tuple[dict[int, float], float]:
    if frame.empty:
        return {}, 0.0
    by_tier = frame.groupby("tier")["uplift"].mean()
    return {int(t): float(u) for t, u in by_tier.items()}, float(frame["uplift"].mean())


def _metrics(actual: np.ndarray, predicted: np.ndarray) -> tuple[float, float]:
    error = predicted - actual
    return float(np.mean(np.abs(error))), float(np.sqrt(np.mean(error**2)))


def chronological_split(dates: pd.Series, fraction: float = BACKTEST_FRACTION) -> np.ndarray:
    """True for the training rows: the earliest ~(1 − fraction) of the rows, cut between two
    dates so no date is in both parts (all rows train when that leaves no backtest)."""
    days = _day_numbers(dates)
    n = len(days)
    if n == 0:
        return np.zeros(0, dtype=bool)
    ordered = np.sort(days)
    cut_index = min(max(int(math.ceil(n * (1.0 - fraction))), 1), n - 1) if n > 1 else 0
    cutoff = ordered[cut_index]  # the first backtest date
    train = days < cutoff
    if not train.any():  # one date only, or the first date holds 80 %+
        return np.ones(n, dtype=bool)
    return train


# --- mixes ---------------------------------------------------------------------------------------


def _instants(values: pd.Series) -> np.ndarray:
    stamps = pd.to_datetime(values)
    if getattr(stamps.dt, "tz", None) is None:
        stamps = stamps.dt.tz_localize(
            "America/Chicago", ambiguous=True, nonexistent="shift_forward"
        )
    return stamps.dt.tz_convert("UTC").dt.tz_localize(None).to_numpy("datetime64[ns]").view("int64")


def _numeric(values: pd.Series) -> np.ndarray:
    return (
        pd.to_numeric(values, errors="coerce")
        .astype("Float64")
        .to_numpy(dtype="float64", na_value=np.nan)
    )


def _link_rows(links: pd.DataFrame) -> pd.DataFrame:
    """One row per link: event_id, call day, the call's priority and category."""
    return pd.DataFrame(
        {
            "event_id": links["event_id"].to_numpy(dtype="int64"),
            "day": _day_numbers(links["call_date"]),
            "priority_numeric": _numeric(links["priority_numeric"]),
            "final_problem_category": links["final_problem_category"].astype(object).to_numpy(),
        }
    )


def linked_call_details(links: pd.DataFrame, calls: pd.DataFrame) -> pd.DataFrame:
    """The linked calls with the call columns the mixes need: event_id, call day, priority,
    category, response_hour, unit_time_on_scene, number_of_units_arrived (joined on the call
    key; a link whose call is missing keeps NULLs)."""
    left = _link_rows(links)
    left.insert(0, "incident_number", links["incident_number"].to_numpy(dtype="int64"))
    left.insert(1, "instant", _instants(links["response_datetime"]))
    wanted = ["response_hour", "unit_time_on_scene", "number_of_units_arrived"]
    # Only the linked calls' rows are converted (a few thousand of 835K).
    calls = calls[calls["incident_number"].isin(left["incident_number"].unique())]
    right = pd.DataFrame(
        {
            "incident_number": calls["incident_number"].to_numpy(dtype="int64"),
            "instant": _instants(calls["response_datetime"]),
            **{
                c: pd.to_numeric(calls[c], errors="coerce")
                .astype("Float64")
                .to_numpy(dtype="float64", na_value=np.nan)
                for c in wanted
                if c in calls
            },
        }
    ).drop_duplicates(["incident_number", "instant"])
    return left.merge(right, on=["incident_number", "instant"], how="left")


def _priority_shares(priority: np.ndarray, calls: np.ndarray | None = None) -> dict[str, float]:
    """Shares of the priorities, each row counting `calls` calls (default one)."""
    calls = np.ones(len(priority), dtype="int64") if calls is None else calls
    n = calls.sum()
    if n == 0:
        return dict.fromkeys(PRIORITY_LABELS, 0.0)
    shares = {f"P{p}": float(np.sum(calls[priority == p]) / n) for p in range(4)}
    shares["unknown"] = float(1.0 - sum(shares.values()))
    return shares


def _category_shares(
    categories: pd.Series, top: int = TOP_CATEGORIES, calls: np.ndarray | None = None
) -> dict[str, float]:
    """The `top` categories' shares and the rest's, each row counting `calls` calls."""
    named = categories.astype(object).fillna("Unknown")
    if calls is None:
        counts = named.value_counts()
    else:
        counts = pd.Series(calls, dtype="int64").groupby(named.to_numpy()).sum()
        counts = counts[counts > 0]
    n = counts.sum()
    if n == 0:
        return {}
    counts = counts.sort_index(kind="mergesort").sort_values(ascending=False, kind="mergesort")
    shares = {str(c): float(v / n) for c, v in counts.head(top).items()}
    rest = float(counts.iloc[top:].sum() / n)
    if rest > 0:
        shares[OTHER_CATEGORY] = rest
    return shares


def call_mixes(
    linked: pd.DataFrame, tiers: Mapping[int, int], calls: pd.DataFrame | None = None
) -> dict[str, Any]:
    """Priority and category shares of the linked calls, overall and per tier (a tier with
    fewer than MIN_CALLS_FOR_TIER_MIX linked calls has none: the planner uses the overall).
    Without any linked call the overall shares are those of all calls (`source` says which)."""
    return _call_mixes(linked, tiers, _shares_of_every_call(calls))


def _shares_of_every_call(
    calls: pd.DataFrame | None, weights: np.ndarray | None = None
) -> Callable[[], tuple[dict, dict, int]] | None:
    """The overall shares of every call (each row counting `weights` calls: the call cells),
    computed only when asked: the mixes take them only without a linked call."""
    if calls is None or not len(calls):
        return None
    return lambda: _overall_shares(
        _numeric(calls["priority_numeric"]), calls["final_problem_category"], weights
    )


def _overall_shares(
    priority: np.ndarray, categories: pd.Series, calls: np.ndarray | None = None
) -> tuple[dict[str, float], dict[str, float], int]:
    """Priority shares, category shares and number of the calls (rows counting `calls`)."""
    n = len(priority) if calls is None else int(calls.sum())
    return _priority_shares(priority, calls), _category_shares(categories, calls=calls), n


def _call_mixes(
    linked: pd.DataFrame,
    tiers: Mapping[int, int],
    every_call_shares: Callable[[], tuple[dict, dict, int]] | None,
) -> dict[str, Any]:
    source = "linked calls"
    if len(linked) == 0 and every_call_shares is not None:
        source = "all calls (no linked calls)"
        priority_shares, category_shares, calls = every_call_shares()
    else:
        priority_shares, category_shares, calls = _overall_shares(
            linked["priority_numeric"].to_numpy(dtype="float64"), linked["final_problem_category"]
        )
    tier_of = linked["event_id"].map(tiers)
    by_tier_priority, by_tier_category, calls_by_tier = {}, {}, {}
    for tier, rows in linked.groupby(tier_of, sort=True).groups.items():
        calls_by_tier[str(int(tier))] = len(rows)
        if len(rows) < MIN_CALLS_FOR_TIER_MIX:
            continue
        subset = linked.loc[rows]
        by_tier_priority[str(int(tier))] = _priority_shares(
            subset["priority_numeric"].to_numpy(dtype="float64")
        )
        by_tier_category[str(int(tier))] = _category_shares(subset["final_problem_category"])
    return {
        "source": source,
        "calls": calls,
        "calls_by_tier": calls_by_tier,
        "min_calls_for_tier_mix": MIN_CALLS_FOR_TIER_MIX,
        "priority_shares": {"overall": priority_shares, "by_tier": by_tier_priority},
        "category_shares": {"overall": category_shares, "by_tier": by_tier_category},
    }


def _mean_with_fallback(
    linked: pd.DataFrame, calls: pd.DataFrame, column: str, label: str
) -> tuple[float | None, str]:
    values = linked[column].dropna() if column in linked else pd.Series(dtype="float64")
    every = (
        pd.to_numeric(calls[column], errors="coerce").dropna()
        if column in calls
        else pd.Series(dtype="float64")
    )

    def mean(known: pd.Series) -> tuple[float | None, int]:
        return (float(known.mean()) if len(known) else None), len(known)

    return _chosen_mean(mean(values), mean(every), label)


def _chosen_mean(
    linked: tuple[float | None, int], every: tuple[float | None, int], label: str
) -> tuple[float | None, str]:
    """The linked calls' mean (of how many known values) when enough of them have one, else
    every call's, with its source in words."""
    (linked_mean, linked_known), (every_mean, every_known) = linked, every
    if linked_known >= MIN_VALUES_FOR_LINKED_MEAN:
        return linked_mean, f"mean {label} of {linked_known:,} linked calls"
    if every_known:
        return (
            every_mean,
            f"mean {label} of all {every_known:,} calls "
            f"(only {linked_known} linked calls have one)",
        )
    return None, f"no call has a {label}"


def hourly_profile(linked_hours: np.ndarray, hourly_baseline: np.ndarray) -> tuple[float, ...]:
    """Per hour, the event-day calls relative to the baseline, shrunk towards the all-day ratio
    with HOUR_PROFILE_PRIOR_CALLS pseudo-calls and divided by that ratio: 1 everywhere means
    events add calls in proportion to the usual hourly pattern."""
    linked_hours = np.asarray(linked_hours, dtype="float64")
    base = np.asarray(hourly_baseline, dtype="float64")
    if base.sum() <= 0 or linked_hours.sum() <= 0:
        return tuple([1.0] * HOURS)
    ratio = linked_hours.sum() / base.sum()
    prior = HOUR_PROFILE_PRIOR_CALLS
    profile = (linked_hours + prior) / (ratio * base + prior)
    return tuple(float(v) for v in profile)


# --- the whole fit -------------------------------------------------------------------------------


@dataclass
class EventImpactResult:
    frame: pd.DataFrame  # IMPACT_MODEL_COLUMNS
    model: EventImpactModel
    summary: dict[str, Any]


@dataclass
class _CallFacts:
    """What the fit takes from the calls (besides the links), for the frame's event-days."""

    linked: pd.DataFrame  # one row per link: event_id, priority_numeric, final_problem_category
    linked_hours: np.ndarray  # (24,) linked calls per local hour
    # Priority and category shares and number of every call: the mixes without a linked call.
    every_call_shares: Callable[[], tuple[dict, dict, int]] | None
    unit_time: tuple[float | None, str]  # mean unit time on scene (s), and its source
    units: tuple[float | None, str]  # mean units arrived, and its source


# The span of a history without calls.
NO_HISTORY = (date(1970, 1, 1), date(1970, 1, 1))


def fit_event_impact(
    calls: pd.DataFrame,
    links: pd.DataFrame,
    events: pd.DataFrame,
    geo: pd.DataFrame,
    rates: pd.DataFrame | RateTable,
    radius_km: float = DEFAULT_LINK_RADIUS_KM,
    alpha: float = ALPHA,
    trained_at: datetime | None = None,
) -> EventImpactResult:
    """Training frame, backtest, served model, mixes and summary (see the module docstring).

    `calls`: enriched calls (incident_number, response_datetime, response_date, response_hour,
    priority_numeric, final_problem_category, unit_time_on_scene, number_of_units_arrived);
    `links`: fact_event_incidents; `events`: dim_event; `geo`: dim_geo; `rates`:
    call_baseline_rates. `trained_at` goes into the summary when given; the asset leaves it
    out (None) so that identical inputs store identical bytes, the lake's invariant: the
    materialization (and the object's write time) says when the model was trained.

    The all-calls reference of `fit_event_impact_from_cells` (the asset's path)."""
    span = history_range(calls) or NO_HISTORY
    days = event_day_frame(events, geo, links, rates, span[0], span[1], radius_km)

    # Mixes and profiles from the links of the frame's event-days.
    details = linked_call_details(links, calls) if links is not None and len(links) else None
    if details is None:
        details = linked_call_details(_no_links(), calls.iloc[:0])
    details = details[_of_frame(details, days.frame)]
    facts = _CallFacts(
        linked=details,
        linked_hours=np.bincount(
            details["response_hour"].dropna().to_numpy(dtype="int64"), minlength=HOURS
        )[:HOURS],
        every_call_shares=_shares_of_every_call(calls),
        unit_time=_mean_with_fallback(
            details, calls, "unit_time_on_scene", "unit_time_on_scene (s)"
        ),
        units=_mean_with_fallback(
            details, calls, "number_of_units_arrived", "number_of_units_arrived"
        ),
    )
    return _fit(days, span, facts, radius_km, alpha, trained_at)


def fit_event_impact_from_cells(
    cells: pd.DataFrame | CellArrays,
    links: pd.DataFrame,
    events: pd.DataFrame,
    geo: pd.DataFrame,
    rates: pd.DataFrame | RateTable,
    radius_km: float = DEFAULT_LINK_RADIUS_KM,
    alpha: float = ALPHA,
    trained_at: datetime | None = None,
) -> EventImpactResult:
    """`fit_event_impact` from the call cells (`call_cells`, every month concatenated) instead
    of every call: the same result. A call is linked to an event by its block group and date
    alone (the link rule), so the calls linked to an event at a block group on a date are
    that block group's calls of that date: their hours and measures are the cells' sums.
    `links` also needs geo_id (fact_event_incidents' matched block group)."""
    arrays = CellArrays.of(cells)
    span = cells_history_range(arrays) or NO_HISTORY
    return fit_event_impact_from_aggregates(
        arrays, arrays.frame, span, links, events, geo, rates, radius_km, alpha, trained_at
    )


def fit_event_impact_from_aggregates(
    event_day_cells: pd.DataFrame | CellArrays,
    every_call: pd.DataFrame,
    span: tuple[date, date],
    links: pd.DataFrame,
    events: pd.DataFrame,
    geo: pd.DataFrame,
    rates: pd.DataFrame | RateTable,
    radius_km: float = DEFAULT_LINK_RADIUS_KM,
    alpha: float = ALPHA,
    trained_at: datetime | None = None,
) -> EventImpactResult:
    """`fit_event_impact_from_cells` from what it takes of the cells: those on the linked
    calls' (block group, date) (`event_day_cells`: any cells including them, e.g. the cells of
    every event day), every call's mix and measure sums (`every_call`: the cells themselves, or
    `call_mix`) and the history span (first and last call date). The same result."""
    arrays = CellArrays.of(event_day_cells)
    days = event_day_frame(events, geo, links, rates, span[0], span[1], radius_km)

    links = links if links is not None and len(links) else _no_links()
    linked = _link_rows(links).assign(geo_id=links["geo_id"].to_numpy(dtype=object))
    linked = linked[_of_frame(linked, days.frame)]
    matched = _cells_of_links(linked, arrays)

    def means(measure: str, label: str) -> tuple[float | None, str]:
        every = _mean_of_sums(every_call, measure)
        return _chosen_mean(_mean_of_sums(matched, measure), every, label)

    facts = _CallFacts(
        linked=linked,
        linked_hours=np.bincount(
            matched["hour"].to_numpy(dtype="int64"),
            weights=matched["calls"].to_numpy(dtype="int64"),
            minlength=HOURS,
        )[:HOURS].astype("int64"),
        every_call_shares=_shares_of_every_call(
            every_call, every_call["calls"].to_numpy(dtype="int64")
        ),
        unit_time=means("unit_time_on_scene", "unit_time_on_scene (s)"),
        units=means("number_of_units_arrived", "number_of_units_arrived"),
    )
    return _fit(days, span, facts, radius_km, alpha, trained_at)


def _of_frame(rows: pd.DataFrame, frame: pd.DataFrame) -> np.ndarray:
    """Which rows (event_id, day) belong to an event-day of the training frame."""
    in_frame = pd.MultiIndex.from_arrays(
        [frame["event_id"].to_numpy(), _day_numbers(frame["date"]) if len(frame) else []]
    )
    return pd.MultiIndex.from_arrays([rows["event_id"], rows["day"]]).isin(in_frame)


_CELL_MEASURES = [f"{m}_{part}" for m in MEAN_MEASURES for part in ("sum", "calls")]


def _cells_of_links(linked: pd.DataFrame, cells: CellArrays) -> pd.DataFrame:
    """The cells of the linked calls: per distinct (event_id, geo_id, day) of the links, the
    cells of that block group and date (columns hour, calls and the measures' sums)."""
    groups = linked[["event_id", "geo_id", "day"]].drop_duplicates()
    # Only the cells of a linked (block group, date) are kept (a few thousand of ~all calls'
    # cells), before anything is joined or copied.
    keep = cells.on_block_group_days(
        groups["geo_id"].to_numpy(dtype=object), groups["day"].to_numpy(dtype="int64")
    )
    near = cells.frame.loc[keep, _CELL_MEASURES]
    keyed = pd.DataFrame(
        {
            "geo_id": cells.geo_ids[cells.geo_code[keep]],
            "day": cells.day[keep],
            "hour": cells.hour[keep],
            "calls": cells.calls[keep],
            **{column: near[column].to_numpy() for column in _CELL_MEASURES},
        }
    )
    return groups.merge(keyed, on=["geo_id", "day"], how="inner")


def _mean_of_sums(cells: pd.DataFrame, measure: str) -> tuple[float | None, int]:
    known = int(cells[f"{measure}_calls"].sum())
    total = float(cells[f"{measure}_sum"].sum())
    return (total / known if known else None), known


def _fit(
    days: EventDays,
    span: tuple[date, date],
    facts: _CallFacts,
    radius_km: float,
    alpha: float,
    trained_at: datetime | None,
) -> EventImpactResult:
    trained = trained_at.astimezone(UTC).isoformat(timespec="seconds") if trained_at else None
    frame = days.frame
    tiers = dict(zip(frame["event_id"], frame["tier"], strict=False))
    mixes = _call_mixes(facts.linked, tiers, facts.every_call_shares)
    profile = hourly_profile(facts.linked_hours, days.hourly_baseline)
    unit_time, unit_time_source = facts.unit_time
    units, units_source = facts.units

    tier_counts = frame["tier"].value_counts()
    known_tiers = tuple(sorted(int(t) for t in tier_counts.index))
    # The most frequent tier (ties: the lowest) is the reference of the one-hot tiers.
    reference = (
        int(min(tier_counts[tier_counts == tier_counts.max()].index)) if len(tier_counts) else None
    )
    design = encode_features(frame, known_tiers, reference)
    linked = frame["linked_calls"].to_numpy(dtype="float64")
    baseline = frame["baseline_calls"].to_numpy(dtype="float64")

    common = {
        "alpha": alpha,
        "known_tiers": known_tiers,
        "reference_tier": reference,
        "hourly_profile": profile,
        "link_radius_km": float(radius_km),
        "history_start": span[0],
        "history_end": span[1],
        "mixes": mixes,
        "unit_time_on_scene_s": unit_time,
        "unit_time_on_scene_source": unit_time_source,
        "units_arrived_mean": units,
        "training_rows": len(frame),
        "trained_at": trained,
    }

    def naive_model(rows: pd.DataFrame, reason: str | None) -> EventImpactModel:
        by_tier, mean = _naive_uplift(rows)
        return EventImpactModel(
            kind=NAIVE,
            feature_names=(),
            coefficients=(),
            intercept=0.0,
            uplift_by_tier=by_tier,
            mean_uplift=mean,
            fallback_reason=reason,
            **common,
        )

    def poisson_model(fit: _PoissonFit, naive_rows: pd.DataFrame) -> EventImpactModel:
        by_tier, mean = _naive_uplift(naive_rows)  # kept for reference, not used to predict
        return EventImpactModel(
            kind=POISSON,
            feature_names=fit.feature_names,
            coefficients=tuple(float(c) for c in fit.coefficients),
            intercept=fit.intercept,
            uplift_by_tier=by_tier,
            mean_uplift=mean,
            dropped_features=fit.dropped,
            **common,
        )

    split = np.full(len(frame), "train", dtype=object)
    backtest_predicted = np.full(len(frame), np.nan)
    backtest: dict[str, Any] = dict.fromkeys(BACKTEST_KEYS)
    reason = _too_little(frame, linked)
    train = np.ones(len(frame), dtype=bool)
    fit: _PoissonFit | None = None
    if reason is None:
        train = chronological_split(frame["date"])
        n_test = int((~train).sum())
        if n_test < MIN_BACKTEST_ROWS:
            train[:] = True
            reason = (
                f"the chronological split leaves {n_test} backtest event-days "
                f"(< {MIN_BACKTEST_ROWS}): the naive model is served; no backtest"
            )
    if reason is None:
        split[~train] = "backtest"
        test = ~train
        naive_prediction = predict(naive_model(frame[train], None), frame[test], baseline[test])
        naive_mae, naive_rmse = _metrics(linked[test], naive_prediction)
        backtest.update(
            rows=int(test.sum()),
            train_rows=int(train.sum()),
            train_end=frame.loc[train, "date"].max().date().isoformat(),
            backtest_start=frame.loc[test, "date"].min().date().isoformat(),
            naive_mae=naive_mae,
            naive_rmse=naive_rmse,
        )
        held_out = _fit_poisson(design[train], linked[train], baseline[train], alpha)
        if held_out is not None:
            test_model = poisson_model(held_out, frame[train])
            backtest_predicted[test] = predict(test_model, frame[test], baseline[test])
            mae, rmse = _metrics(linked[test], backtest_predicted[test])
            skill = None if naive_mae == 0 else 1.0 - mae / naive_mae
            backtest.update(mae=mae, rmse=rmse, skill_vs_naive=skill)
        fit = _fit_poisson(design, linked, baseline, alpha)
        if fit is None:
            reason = "the Poisson fit on all event-days gave no finite coefficients: naive served"

    # The naive model of the frame's rows: fitted on the training part (all rows without one).
    naive = naive_model(frame[train], None)
    served = poisson_model(fit, frame[train]) if fit is not None and reason is None else None
    if served is None:
        served = naive_model(frame, reason)
    served = replace(served, backtest=backtest)

    out = frame.copy()
    out["predicted_calls"] = predict(served, frame, baseline) if len(frame) else 0.0
    out["naive_predicted_calls"] = predict(naive, frame, baseline) if len(frame) else 0.0
    out["backtest_predicted_calls"] = backtest_predicted
    out["split"] = split
    out = out[IMPACT_MODEL_COLUMNS].astype(
        {
            "predicted_calls": "float64",
            "naive_predicted_calls": "float64",
            "backtest_predicted_calls": "float64",
            "split": "object",
        }
    )
    poisson = fit if served.kind == POISSON else None
    summary = served.to_summary()
    summary.update(
        {
            "std_errors": dict(
                zip(poisson.feature_names, poisson.std_errors[1:].tolist(), strict=True)
            )
            if poisson
            else {},
            "intercept_std_error": float(poisson.std_errors[0]) if poisson else None,
            "dispersion": poisson.dispersion if poisson else None,
            "events": int(frame["event_id"].nunique()),
            "event_days_eligible": days.eligible,
            "event_days_excluded": days.excluded,
            "min_event_days": MIN_EVENT_DAYS,
            "units_arrived_source": units_source,
        }
    )
    return EventImpactResult(out.reset_index(drop=True), served, summary)


BACKTEST_KEYS = (
    "rows",
    "train_rows",
    "train_end",
    "backtest_start",
    "mae",
    "rmse",
    "naive_mae",
    "naive_rmse",
    "skill_vs_naive",
)


def _too_little(frame: pd.DataFrame, linked: np.ndarray) -> str | None:
    """Why the Poisson model cannot be fitted and backtested, or None."""
    if len(frame) < MIN_EVENT_DAYS:
        return (
            f"only {len(frame)} usable event-days (< {MIN_EVENT_DAYS}): the naive model "
            "(baseline + mean uplift of the tier over all event-days) is served; no backtest"
        )
    if linked.sum() == 0:
        return "no call was linked to any usable event-day: the naive model is served"
    return None


def _no_links() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "incident_number": pd.Series(dtype="int64"),
            "response_datetime": pd.Series(dtype="datetime64[ns, America/Chicago]"),
            "event_id": pd.Series(dtype="int64"),
            "call_date": pd.Series(dtype="datetime64[ns]"),
            "geo_id": pd.Series(dtype="object"),
            "priority_numeric": pd.Series(dtype="Int64"),
            "final_problem_category": pd.Series(dtype="object"),
        }
    )


def coefficient_table(summary: Mapping[str, Any]) -> pd.DataFrame:
    """feature, coefficient, rate_ratio (exp), std_error of a summary: intercept first."""
    rows = []
    if summary.get("model") == POISSON:
        errors = summary.get("std_errors") or {}
        rows.append(("intercept", summary["intercept"], summary.get("intercept_std_error")))
        rows += [(n, summary["coefficients"][n], errors.get(n)) for n in summary["feature_names"]]
    table = pd.DataFrame(rows, columns=["feature", "coefficient", "std_error"])
    table["rate_ratio"] = np.exp(table["coefficient"].astype("float64"))
    return table[["feature", "coefficient", "rate_ratio", "std_error"]]
