"""Cleaning of ACE permit rows and their aggregation to one event per permit (folderrsn).

ACE rows are road-closure *segments*: a permit repeats once per closed street, so every field
is parsed per row and then aggregated: min start, max end, any-of flags,
closure_segments = row count, location = median of the valid GPS points, name/type/tier/
status/organiser = first non-null in source order.

A row whose FOLDERRSN is not a positive integer cannot be attributed to a permit: it is
quarantined (returned with a reason, and counted). A value that parses but cannot be right
becomes NULL and is counted: a date outside the plausible window, a GPS point outside the
configured counties, a tier outside its range; an end before the start leaves the event's
length NULL (never a negative duration).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from safebeat_assets.domain import DEFAULT_COUNTY_FIPS, LOCAL_TZ, full_county_fips
from safebeat_assets.sources.columns import ACE_REQUIRED_COLUMNS, SourceSchemaError
from safebeat_assets.transform.parsing import (
    DATETIME_MISSING,
    DATETIME_UNPARSED,
    clean_text,
    contains_text,
    parse_bool,
    parse_datetimes,
    parse_float,
    parse_int,
)
from safebeat_assets.transform.validation import (
    EARLIEST_PLAUSIBLE_EVENT,
    EVENT_HORIZON,
    EVENT_ID_RANGE,
    EVENT_TIER_RANGE,
    Area,
    null_out,
    out_of_range,
)

# The three documented formats first, then what our XLSX reader prints for native date cells,
# then the obvious variants of the documented ones. No free-form guessing.
EVENT_DATE_FORMATS: tuple[str, ...] = (
    "%b %d, %Y",
    "%B %d, %Y %H:%M",
    "%Y-%m-%dT%H:%M:%S.%f",
    "%Y-%m-%dT%H:%M:%S",
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%d",
    "%B %d, %Y",
    "%b %d, %Y %H:%M",
)

REJECT_UNPARSEABLE_EVENT_ID = "unparseable_event_id"
REJECT_EVENT_ID_OUT_OF_RANGE = "event_id_out_of_range"
REJECT_REASONS: tuple[str, ...] = (REJECT_UNPARSEABLE_EVENT_ID, REJECT_EVENT_ID_OUT_OF_RANGE)

CLEANED_EVENT_COLUMNS: tuple[str, ...] = (
    "event_id",
    "event_name",
    "event_type",
    "status",
    "tier",
    "organizer",
    "start_date",
    "end_date",
    "event_length_days",
    "event_year",
    "event_month",
    "has_alcohol",
    "alcohol_unknown",
    "has_amplified_sound",
    "amplified_sound_unknown",
    "has_road_closure",
    "has_full_road_closure",
    "closure_segments",
    "event_lat",
    "event_lon",
    "has_valid_location",
    "expected_attendance",
)


@dataclass
class CleanedEvents:
    events: pd.DataFrame
    stats: dict = field(default_factory=dict)
    # Raw rows that belong to no permit, with `reject_reason`.
    quarantined: pd.DataFrame = field(default_factory=pd.DataFrame)


@dataclass(frozen=True)
class EventRules:
    """Plausible event dates [start, end] (end None: today + EVENT_HORIZON, taken when
    cleaning starts, in the city's `time_zone`) and the counties (5-digit FIPS; 3-digit ones are
    Texas's) event GPS points must fall in."""

    start: pd.Timestamp = EARLIEST_PLAUSIBLE_EVENT
    end: pd.Timestamp | None = None
    county_fips: tuple[str, ...] = DEFAULT_COUNTY_FIPS
    time_zone: str = LOCAL_TZ

    def __post_init__(self) -> None:
        object.__setattr__(self, "county_fips", full_county_fips(self.county_fips))

    @classmethod
    def for_counties(cls, county_fips: Iterable[str], time_zone: str = LOCAL_TZ) -> EventRules:
        return cls(county_fips=tuple(county_fips), time_zone=time_zone)

    def resolved_end(self) -> pd.Timestamp:
        if self.end is not None:
            return self.end
        today = pd.Timestamp.now(tz=self.time_zone).tz_localize(None).normalize()
        return today + EVENT_HORIZON


def clean_events(raw: pd.DataFrame, rules: EventRules | None = None) -> CleanedEvents:
    """raw_events (one row per segment) -> cleaned_events (one row per permit), with counts.

    Rows whose folderrsn is not a positive integer cannot be attributed to a permit: they are
    quarantined with a reason (`quarantined`) and counted (`rows_without_event_id`). Row
    accounting: rows_in = segments + rows_quarantined.
    """
    missing = set(ACE_REQUIRED_COLUMNS) - set(raw.columns)
    if missing:
        raise SourceSchemaError("raw_events frame", missing=missing)
    rules = rules or EventRules()
    raw = raw.reset_index(drop=True)
    stats: dict[str, int] = {"rows_in": len(raw)}

    rows, row_stats, id_problems = _parse_rows(raw, rules)
    stats.update(row_stats)
    reason = np.select(id_problems, list(REJECT_REASONS), "").astype(object)
    attributable = reason == ""
    quarantined = (
        raw.iloc[np.flatnonzero(~attributable)]
        .assign(reject_reason=reason[~attributable])
        .reset_index(drop=True)
    )
    stats["rows_quarantined"] = int((~attributable).sum())
    for name in REJECT_REASONS:
        stats[f"quarantined_{name}"] = int((reason == name).sum())
    stats["rows_without_event_id"] = stats["rows_quarantined"]
    rows = rows[attributable].astype({"event_id": "int64"})
    stats["segments"] = len(rows)

    events = _aggregate(rows)
    stats["events_out"] = len(events)
    stats["events_with_valid_location"] = int(events["has_valid_location"].sum())
    stats["events_without_dates"] = int(
        (events["start_date"].isna() | events["end_date"].isna()).sum()
    )
    stats["events_end_before_start"] = int((events["end_date"] < events["start_date"]).sum())
    return CleanedEvents(events, stats, quarantined)


def _column(raw: pd.DataFrame, name: str) -> pd.Series:
    """An optional raw column, or all-null when the file did not have it."""
    if name in raw.columns:
        return raw[name]
    return pd.Series(None, index=raw.index, dtype=object)


def _parse_rows(
    raw: pd.DataFrame, rules: EventRules
) -> tuple[pd.DataFrame, dict[str, int], list[np.ndarray]]:
    """Typed rows, counts, and the masks of rows whose event id is unparseable / out of range
    (in REJECT_REASONS order)."""
    stats: dict[str, int] = {}
    event_id = parse_int(raw["folderrsn"])
    id_out_of_range = out_of_range(event_id.values, *EVENT_ID_RANGE) | event_id.overflow
    id_problems = [event_id.values.isna().to_numpy() & ~id_out_of_range, id_out_of_range]

    dates = {}
    unparsed = missing = implausible = 0
    earliest, latest = rules.start, rules.resolved_end()
    for name in ("start_date", "end_date"):
        parsed = parse_datetimes(raw[name], EVENT_DATE_FORMATS)
        day = parsed.values.dt.normalize()  # calendar dates: the linkage compares days
        outside = ((day < earliest) | (day > latest)).to_numpy(dtype=bool)
        dates[name] = null_out(day, outside)
        unparsed += int((parsed.format_index == DATETIME_UNPARSED).sum())
        missing += int((parsed.format_index == DATETIME_MISSING).sum())
        implausible += int(outside.sum())
    stats["dates_unparsed"] = unparsed
    stats["dates_missing"] = missing
    stats["dates_out_of_range"] = implausible

    latitude = parse_float(raw["gpslatitude"]).values
    longitude = parse_float(raw["gpslongitude"]).values
    blank = clean_text(raw["gpslatitude"]).isna() | clean_text(raw["gpslongitude"]).isna()
    valid = pd.Series(
        Area.of_counties(rules.county_fips).contains(latitude, longitude), index=raw.index
    )
    stats["location_missing"] = int(blank.sum())
    stats["location_invalid"] = int((~blank & ~valid).sum())
    tier = parse_int(_column(raw, "tier_type"))
    tier_implausible = out_of_range(tier.values, *EVENT_TIER_RANGE)
    stats["tier_type_invalid"] = tier.invalid_count - tier.overflow_count
    stats["tier_type_out_of_range"] = int(tier_implausible.sum()) + tier.overflow_count

    alcohol_parsed = parse_bool(_column(raw, "alcohol_served"))
    sound_parsed = parse_bool(_column(raw, "amplified_sound"))
    # Text that is neither yes-like nor no-like counts as "not served" and is reported here.
    stats["alcohol_served_unparsed"] = alcohol_parsed.invalid_count
    stats["amplified_sound_unparsed"] = sound_parsed.invalid_count
    alcohol, sound = alcohol_parsed.values, sound_parsed.values
    closure_type = _column(raw, "type_of_road_closure")
    rows = pd.DataFrame(
        {
            "event_id": event_id.values,
            "event_name": clean_text(raw["foldername"]),
            "event_type": clean_text(_column(raw, "foldertype")),
            "status": clean_text(_column(raw, "status")),
            "tier": null_out(tier.values, tier_implausible),
            "organizer": clean_text(_column(raw, "event_applicant_organization")),
            "start_date": dates["start_date"],
            "end_date": dates["end_date"],
            "alcohol_yes": alcohol.eq(True).fillna(False).astype(bool),
            "alcohol_known": alcohol.notna(),
            "sound_yes": sound.eq(True).fillna(False).astype(bool),
            "sound_known": sound.notna(),
            "road_closure": clean_text(_column(raw, "road_closure")).notna(),
            "full_road_closure": contains_text(closure_type, "full road"),
            "latitude": latitude.where(valid),
            "longitude": longitude.where(valid),
            "valid_location": valid,
        }
    )
    return rows, stats, id_problems


def _aggregate(rows: pd.DataFrame) -> pd.DataFrame:
    grouped = rows.groupby("event_id", sort=True)
    # `first` skips nulls, so it is the first non-null value in source order.
    events = grouped.agg(
        event_name=("event_name", "first"),
        event_type=("event_type", "first"),
        status=("status", "first"),
        tier=("tier", "first"),
        organizer=("organizer", "first"),
        start_date=("start_date", "min"),
        end_date=("end_date", "max"),
        has_alcohol=("alcohol_yes", "any"),
        alcohol_known=("alcohol_known", "any"),
        has_amplified_sound=("sound_yes", "any"),
        amplified_sound_known=("sound_known", "any"),
        has_road_closure=("road_closure", "any"),
        has_full_road_closure=("full_road_closure", "any"),
        closure_segments=("event_id", "size"),
        event_lat=("latitude", "median"),
        event_lon=("longitude", "median"),
        has_valid_location=("valid_location", "any"),
    ).reset_index()

    # Blank alcohol/sound on every row counts as "no", and is recorded as unknown.
    events["alcohol_unknown"] = ~events.pop("alcohol_known")
    events["amplified_sound_unknown"] = ~events.pop("amplified_sound_known")
    length = (events["end_date"] - events["start_date"]).dt.days + 1
    # An end before the start is kept (and counted); its length is unknown, not negative.
    events["event_length_days"] = pd.array(length.where(length > 0), dtype="Int64")
    events["event_year"] = pd.array(events["start_date"].dt.year, dtype="Int64")
    events["event_month"] = pd.array(events["start_date"].dt.month, dtype="Int64")
    events["expected_attendance"] = pd.array([pd.NA] * len(events), dtype="Int64")
    events["tier"] = events["tier"].astype("Int64")
    events["closure_segments"] = events["closure_segments"].astype("int64")
    for name in ("event_name", "event_type", "status", "organizer"):
        events[name] = events[name].astype(object).where(events[name].notna(), None)
    for name in ("event_lat", "event_lon"):
        events[name] = events[name].astype("float64")
    return events[list(CLEANED_EVENT_COLUMNS)]


def rejected_event_values(stats: dict[str, int]) -> dict[str, int]:
    """Row values set to NULL per raw column (unparseable or implausible), non-zero ones."""
    counts = {
        "start_date/end_date": stats.get("dates_unparsed", 0) + stats.get("dates_out_of_range", 0),
        "gpslatitude/gpslongitude": stats.get("location_invalid", 0),
        "tier_type": stats.get("tier_type_invalid", 0) + stats.get("tier_type_out_of_range", 0),
        "alcohol_served": stats.get("alcohol_served_unparsed", 0),
        "amplified_sound": stats.get("amplified_sound_unparsed", 0),
    }
    return {column: int(count) for column, count in counts.items() if count}
