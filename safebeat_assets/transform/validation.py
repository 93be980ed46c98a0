"""Value rules shared by the cleaners: what a value must be to reach the lake and the warehouse.

A parsed value can still be unusable: a number too large for its warehouse column (the COPY of
a whole month would fail on it), a negative duration, a date centuries away, a point outside
the configured counties. Cleaning nulls such a value and counts it per column, or quarantines
the row when the value is part of its key; the rest of the load proceeds.

Integer bounds are the narrower of a plausible range and the warehouse column's type as
declared in `storage/tables.py`, so a type change there tightens the check here.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from safebeat_assets.domain import DEFAULT_COUNTY_FIPS, DEFAULT_STATE_FP, full_county_fips
from safebeat_assets.storage.tables import DIM_EVENT, FACT_911_CALLS, TableSpec

_INT_TYPE_BOUNDS = {
    "smallint": (-(2**15), 2**15 - 1),
    "integer": (-(2**31), 2**31 - 1),
    "bigint": (-(2**63), 2**63 - 1),
}
# Seconds in a year: no call waits, and no set of units stays on scene, longer.
_YEAR_SECONDS = 366 * 86_400


def warehouse_bounds(spec: TableSpec, column: str) -> tuple[int, int]:
    """The value range of an integer column of a warehouse table."""
    pg_type = spec.column(column).pg_type
    if pg_type not in _INT_TYPE_BOUNDS:
        raise TypeError(f"{spec.name}.{column} is {pg_type}, not an integer column")
    return _INT_TYPE_BOUNDS[pg_type]


def _within(plausible: tuple[int, int], spec: TableSpec | None, column: str) -> tuple[int, int]:
    if spec is None or column not in spec.column_names:
        return plausible
    low, high = warehouse_bounds(spec, column)
    return max(plausible[0], low), min(plausible[1], high)


# Calls: every integer measure, with its inclusive plausible range.
CALL_INTEGER_RANGES: dict[str, tuple[int, int]] = {
    name: _within(plausible, FACT_911_CALLS, name)
    for name, plausible in {
        "number_of_units_arrived": (0, 1_000),
        "unit_time_on_scene": (0, _YEAR_SECONDS),
        "response_time": (0, _YEAR_SECONDS),
        "officer_injured_killed_count": (0, 1_000),
        "subject_injured_killed_count": (0, 1_000),
        "other_injured_killed_count": (0, 1_000),
        # Austin's council has ten districts; 0 marks a call outside the city.
        "council_district": (0, 10),
    }.items()
}
# Incident numbers are positive (9 digits in practice, counted separately when not).
INCIDENT_NUMBER_RANGE = _within((1, 2**63 - 1), FACT_911_CALLS, "incident_number")

# Events.
EVENT_ID_RANGE = _within((1, 2**63 - 1), DIM_EVENT, "event_id")
EVENT_TIER_RANGE = _within((0, 99), DIM_EVENT, "tier")

# Response datetimes before this are not CAD records of today's APD (and before any data the
# city publishes); an earlier SAFEBEAT_PARTITION_START does not move it.
EARLIEST_PLAUSIBLE_CALL = pd.Timestamp("1990-01-01")
# Clock differences between APD's CAD and this machine, and late-evening exports.
FUTURE_TOLERANCE = pd.Timedelta(days=1)
# A first-unit-arrived or call-closed time this far before/after its response is a typo.
SECONDARY_BEFORE_RESPONSE = pd.Timedelta(days=1)
SECONDARY_AFTER_RESPONSE = pd.Timedelta(days=366)
# Permits are issued up to a few years ahead.
EARLIEST_PLAUSIBLE_EVENT = pd.Timestamp("1990-01-01")
EVENT_HORIZON = pd.Timedelta(days=5 * 366)

# County extents (west, south, east, north; degrees, NAD83, rounded outwards) of the counties
# APD calls fall in, so event points can be checked against the configured geography.
COUNTY_BOXES: dict[str, tuple[float, float, float, float]] = {
    "48453": (-98.18, 30.02, -97.36, 30.63),  # Travis
    "48209": (-98.30, 29.75, -97.62, 30.36),  # Hays
    "48491": (-98.05, 30.48, -97.15, 30.91),  # Williamson
    "48021": (-97.65, 29.78, -97.02, 30.42),  # Bastrop
}
# Margin around each county box: points on the county line, GPS error.
COUNTY_BOX_MARGIN = 0.05
# Texas (same margins as the block-group reader's check): the box for a county not listed above.
TEXAS_BOX = (-107.0, 25.0, -93.0, 37.0)
# No county extents are kept outside Texas: such a county's points are only checked for being
# coordinates at all.
ANYWHERE_BOX = (-180.0, -90.0, 180.0, 90.0)


@dataclass(frozen=True)
class Area:
    """Boxes (west, south, east, north) a point must fall in: the configured counties'."""

    boxes: tuple[tuple[float, float, float, float], ...]

    @classmethod
    def of_counties(cls, county_fips: Iterable[str] = DEFAULT_COUNTY_FIPS) -> Area:
        boxes = []
        for code in full_county_fips(county_fips):
            box = COUNTY_BOXES.get(code)
            if box is None:
                boxes.append(TEXAS_BOX if code.startswith(DEFAULT_STATE_FP) else ANYWHERE_BOX)
                continue
            west, south, east, north = box
            m = COUNTY_BOX_MARGIN
            boxes.append((west - m, south - m, east + m, north + m))
        return cls(tuple(dict.fromkeys(boxes)) or (TEXAS_BOX,))

    def contains(self, latitude: pd.Series, longitude: pd.Series) -> np.ndarray:
        """Where (latitude, longitude) lies in one of the boxes; False for NaN."""
        lat = latitude.to_numpy(dtype="float64")
        lon = longitude.to_numpy(dtype="float64")
        inside = np.zeros(len(lat), dtype=bool)
        with np.errstate(invalid="ignore"):
            for west, south, east, north in self.boxes:
                inside |= (lat >= south) & (lat <= north) & (lon >= west) & (lon <= east)
        return inside


def out_of_range(values: pd.Series, low: int, high: int) -> np.ndarray:
    """Where a nullable integer column holds a value outside [low, high]."""
    array = values.to_numpy(dtype="float64", na_value=np.nan)
    with np.errstate(invalid="ignore"):
        return ~np.isnan(array) & ((array < low) | (array > high))


def null_out(values: pd.Series, mask: np.ndarray) -> pd.Series:
    """`values` with the masked positions set to the dtype's missing value."""
    if not mask.any():
        return values
    return values.mask(pd.Series(mask, index=values.index))


def truncate_to_microseconds(values: pd.Series) -> tuple[pd.Series, int]:
    """Datetimes cut to whole microseconds (the warehouse's precision; a nanosecond part would
    make the COPY's timestamp cast fail), and how many values changed."""
    floored = values.dt.floor("us")
    changed = int((floored != values).fillna(False).sum()) if len(values) else 0
    return floored, changed


def column_counts(
    stats: Mapping[str, int], columns: Sequence[str], suffixes: Sequence[str]
) -> dict:
    """{column: count} summed over `<column><suffix>` stats keys, non-zero ones only: the
    per-column value rejections an asset publishes."""
    counts = {}
    for column in columns:
        total = sum(int(stats.get(f"{column}{suffix}", 0)) for suffix in suffixes)
        if total:
            counts[column] = total
    return counts


def null_counts(frame: pd.DataFrame) -> dict[str, int]:
    """NULLs per column of a cleaned frame (the columns that have any)."""
    counts = frame.isna().sum()
    return {str(name): int(count) for name, count in counts.items() if count}
