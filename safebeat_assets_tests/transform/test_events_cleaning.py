"""clean_events: per-permit aggregation of ACE road-closure segments."""

from __future__ import annotations

import pandas as pd
import pytest

from safebeat_assets.sources import SourceSchemaError
from safebeat_assets.sources.columns import ACE_KNOWN_COLUMNS
from safebeat_assets.transform import clean_events
from safebeat_assets.transform.events import CLEANED_EVENT_COLUMNS


def raw_events(*rows: dict[str, object]) -> pd.DataFrame:
    records = []
    for number, row in enumerate(rows, start=1):
        record = dict.fromkeys(ACE_KNOWN_COLUMNS)
        record.update(source_file="ace.csv", source_sha256="abc", source_row=number)
        record.update(row)
        records.append(record)
    return pd.DataFrame(records).astype({c: object for c in ACE_KNOWN_COLUMNS})


FESTIVAL = {
    "folderrsn": "12345",
    "foldertype": "SE",
    "foldername": "Pecan Street Festival",
    "status": "Active",
    "tier_type": "4",
    "event_applicant_organization": "Pecan Street Assn",
    "start_date": "Aug 02, 2019",
    "end_date": "Aug 03, 2019",
    "alcohol_served": "No",
    "amplified_sound": "Yes",
    "road_closure": "E 6th St",
    "type_of_road_closure": "Lane Closure",
    "gpslatitude": "30.2672",
    "gpslongitude": "-97.7431",
}


def test_segments_aggregate_to_one_event():
    raw = raw_events(
        FESTIVAL,
        # Second segment: later end in the long format, alcohol yes, full closure, a blank name.
        {**FESTIVAL, "foldername": None, "end_date": "August 04, 2019 22:00",
         "alcohol_served": "yes", "type_of_road_closure": "Full Road Closure",
         "gpslatitude": "30.2690", "gpslongitude": "-97.7400"},
        # Third segment: ISO start earlier, GPS outside the Austin box (ignored).
        {**FESTIVAL, "start_date": "2019-08-01T00:00:00.000", "road_closure": "",
         "gpslatitude": "0", "gpslongitude": "0"},
    )  # fmt: skip
    result = clean_events(raw)
    events = result.events
    assert list(events.columns) == list(CLEANED_EVENT_COLUMNS)
    assert len(events) == 1
    event = events.iloc[0]
    assert event["event_id"] == 12345
    assert event["event_name"] == "Pecan Street Festival"
    assert event["event_type"] == "SE"
    assert event["status"] == "Active"
    assert event["tier"] == 4
    assert event["organizer"] == "Pecan Street Assn"
    assert event["start_date"] == pd.Timestamp("2019-08-01")
    assert event["end_date"] == pd.Timestamp("2019-08-04")  # a date: time of day dropped
    assert event["event_length_days"] == 4  # inclusive: 1, 2, 3, 4 August
    assert (event["event_year"], event["event_month"]) == (2019, 8)
    assert event["has_alcohol"] and not event["alcohol_unknown"]
    assert event["has_amplified_sound"] and not event["amplified_sound_unknown"]
    assert event["has_road_closure"] and event["has_full_road_closure"]
    assert event["closure_segments"] == 3
    assert event["event_lat"] == pytest.approx((30.2672 + 30.2690) / 2)  # median of valid only
    assert event["event_lon"] == pytest.approx((-97.7431 + -97.7400) / 2)
    assert event["has_valid_location"]
    assert pd.isna(event["expected_attendance"])
    assert result.stats["rows_in"] == 3
    assert result.stats["segments"] == 3
    assert result.stats["events_out"] == 1
    assert result.stats["location_invalid"] == 1


def test_contract_dtypes():
    events = clean_events(raw_events(FESTIVAL)).events
    expected = {
        "event_id": "int64", "event_name": "object", "event_type": "object", "status": "object",
        "tier": "Int64", "organizer": "object", "start_date": "datetime64[ns]",
        "end_date": "datetime64[ns]", "event_length_days": "Int64", "event_year": "Int64",
        "event_month": "Int64", "has_alcohol": "bool", "alcohol_unknown": "bool",
        "has_amplified_sound": "bool", "amplified_sound_unknown": "bool",
        "has_road_closure": "bool", "has_full_road_closure": "bool", "closure_segments": "int64",
        "event_lat": "float64", "event_lon": "float64", "has_valid_location": "bool",
        "expected_attendance": "Int64",
    }  # fmt: skip
    assert {c: str(events[c].dtype) for c in events.columns} == expected


def test_unknown_flags_missing_location_and_bad_dates():
    raw = raw_events(
        {**FESTIVAL, "folderrsn": "1", "alcohol_served": None, "amplified_sound": "",
         "gpslatitude": None, "start_date": "someday", "end_date": "September 27, 2025 10:00"},
        {**FESTIVAL, "folderrsn": "2", "road_closure": None, "gpslongitude": "-101.0"},
        {**FESTIVAL, "folderrsn": "not-a-number"},
    )  # fmt: skip
    result = clean_events(raw)
    events = result.events.set_index("event_id")
    assert events.index.tolist() == [1, 2]
    assert not events.loc[1, "has_alcohol"] and events.loc[1, "alcohol_unknown"]
    assert events.loc[1, "amplified_sound_unknown"]
    assert pd.isna(events.loc[1, "start_date"])
    assert events.loc[1, "end_date"] == pd.Timestamp("2025-09-27")
    assert pd.isna(events.loc[1, "event_length_days"])
    assert not events.loc[1, "has_valid_location"] and pd.isna(events.loc[1, "event_lat"])
    assert not events.loc[2, "has_road_closure"]
    assert not events.loc[2, "has_valid_location"]
    stats = result.stats
    assert stats["rows_without_event_id"] == 1
    assert stats["dates_unparsed"] == 1
    assert stats["location_missing"] == 1
    assert stats["location_invalid"] == 1
    assert stats["events_with_valid_location"] == 0
    assert stats["events_without_dates"] == 1


def test_xlsx_style_dates_and_lower_case_months():
    raw = raw_events({**FESTIVAL, "start_date": "2025-09-27 00:00:00", "end_date": "sep 28, 2025"})
    event = clean_events(raw).events.iloc[0]
    assert event["start_date"] == pd.Timestamp("2025-09-27")
    assert event["end_date"] == pd.Timestamp("2025-09-28")
    assert event["event_length_days"] == 2


def test_missing_required_columns_raise():
    with pytest.raises(SourceSchemaError, match="gpslatitude"):
        clean_events(raw_events(FESTIVAL).drop(columns=["gpslatitude"]))


def test_optional_columns_may_be_absent():
    raw = raw_events(FESTIVAL)[["folderrsn", "foldername", "start_date", "end_date",
                                "gpslatitude", "gpslongitude"]]  # fmt: skip
    event = clean_events(raw).events.iloc[0]
    assert event["alcohol_unknown"] and not event["has_road_closure"]
    assert event["event_type"] is None
