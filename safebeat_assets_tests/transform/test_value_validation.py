"""Bad values are row problems: quarantined (key columns) or set NULL and counted per column,
never a failed run or a failed warehouse COPY later."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from safebeat_assets.storage.tables import FACT_911_CALLS
from safebeat_assets.transform.calls import (
    CallRules,
    call_rules_for_partitions,
    clean_calls,
    clean_calls_by_group,
    rejected_values_by_column,
)
from safebeat_assets.transform.events import EventRules, clean_events, rejected_event_values
from safebeat_assets.transform.months import month_row_counts, partition_month_keys
from safebeat_assets.transform.validation import (
    CALL_INTEGER_RANGES,
    Area,
    null_counts,
    warehouse_bounds,
)
from safebeat_assets_tests.transform.test_calls_cleaning import raw_calls
from safebeat_assets_tests.transform.test_events_cleaning import FESTIVAL, raw_events

RULES = CallRules(
    start=pd.Timestamp("2023-01-01"), end=pd.Timestamp("2026-01-01"), county_fips=("453",)
)


def test_integer_bounds_follow_the_warehouse_types():
    assert warehouse_bounds(FACT_911_CALLS, "council_district") == (-(2**15), 2**15 - 1)
    assert warehouse_bounds(FACT_911_CALLS, "response_time") == (-(2**31), 2**31 - 1)
    with pytest.raises(TypeError):
        warehouse_bounds(FACT_911_CALLS, "sector")
    for column, (low, high) in CALL_INTEGER_RANGES.items():
        if column in FACT_911_CALLS.column_names:
            type_low, type_high = warehouse_bounds(FACT_911_CALLS, column)
            assert type_low <= low <= high <= type_high, column


def test_implausible_integers_become_null_and_are_counted():
    result = clean_calls(
        raw_calls(
            {"incident_number": "250000001", "response_time": "-5", "council_district": "70000"},
            {"incident_number": "250000002", "unit_time_on_scene": "99999999999999999999"},
            {"incident_number": "250000003", "number_of_units_arrived": "2147483648"},
            {"incident_number": "250000004", "council_district": "11", "response_time": "abc"},
        ),
        RULES,
    )
    calls = result.calls.set_index("incident_number")
    assert pd.isna(calls.loc[250000001, "response_time"])
    assert pd.isna(calls.loc[250000001, "council_district"])
    assert pd.isna(calls.loc[250000002, "unit_time_on_scene"])
    assert pd.isna(calls.loc[250000003, "number_of_units_arrived"])
    assert pd.isna(calls.loc[250000004, "council_district"])
    stats = result.stats
    assert stats["response_time_out_of_range"] == 1 and stats["response_time_invalid"] == 1
    assert stats["council_district_out_of_range"] == 2
    assert stats["unit_time_on_scene_out_of_range"] == 1
    assert stats["unit_time_on_scene_invalid"] == 0  # too large, not malformed
    assert stats["number_of_units_arrived_out_of_range"] == 1
    assert rejected_values_by_column(stats) == {
        "number_of_units_arrived": 1,
        "unit_time_on_scene": 1,
        "response_time": 2,
        "council_district": 2,
    }
    assert stats["rows_out"] == 4 and stats["rows_quarantined"] == 0
    assert null_counts(result.calls)["council_district"] == 2


def test_key_problems_and_dates_outside_the_window_are_quarantined():
    result = clean_calls(
        raw_calls(
            {"incident_number": "250000001"},
            {"incident_number": "-250000002"},
            {"incident_number": "0"},
            {"incident_number": "1234567890123456789012"},
            {"incident_number": "250000005", "response_datetime": "1899 Jan 01 10:00:00 AM"},
            {"incident_number": "250000006", "response_datetime": "2022-12-31 23:59:59"},
            {"incident_number": "250000007", "response_datetime": "2026-01-01 00:00:00"},
            {"incident_number": "250000008", "response_datetime": "9999-12-31T00:00:00"},
            {"incident_number": "250000009", "response_datetime": "'; DROP TABLE x; --"},
        ),
        RULES,
    )
    assert result.calls["incident_number"].tolist() == [250000001]
    quarantined = result.quarantined
    assert quarantined["reject_reason"].tolist() == [
        "incident_number_out_of_range",
        "incident_number_out_of_range",
        "incident_number_out_of_range",
        "response_datetime_before_start",
        "response_datetime_before_start",
        "response_datetime_in_future",
        "unparseable_response_datetime",  # beyond what a timestamp can hold
        "unparseable_response_datetime",
    ]
    assert quarantined["source_row"].tolist() == [2, 3, 4, 5, 6, 7, 8, 9]
    stats = result.stats
    assert stats["rows_in"] == stats["rows_out"] + stats["rows_quarantined"] == 9
    assert stats["quarantined_response_datetime_before_start"] == 2


def test_default_window_rejects_the_far_past_and_the_future():
    far = (pd.Timestamp.now() + pd.Timedelta(days=3)).strftime("%Y-%m-%d %H:%M:%S")
    result = clean_calls(
        raw_calls(
            {"incident_number": "250000001"},
            {"incident_number": "250000002", "response_datetime": "1985-06-01 10:00:00"},
            {"incident_number": "250000003", "response_datetime": far},
        )
    )
    assert result.quarantined["reject_reason"].tolist() == [
        "response_datetime_before_start",
        "response_datetime_in_future",
    ]


def test_datetimes_are_cut_to_microseconds():
    result = clean_calls(
        raw_calls(
            {"incident_number": "250000001",
             "response_datetime": "2025-10-31T23:59:47.123456789",
             "call_closed_datetime": "2025-11-01T00:10:00.000000500"},
        ),
        RULES,
    )  # fmt: skip
    row = result.calls.iloc[0]
    assert row["response_datetime"] == pd.Timestamp(
        "2025-10-31 23:59:47.123456", tz="America/Chicago"
    )
    assert row["call_closed_datetime"].nanosecond == 0
    assert result.stats["response_datetime_truncated_to_microseconds"] == 1
    assert result.stats["call_closed_datetime_truncated_to_microseconds"] == 1


def test_secondary_datetimes_far_from_the_response_become_null():
    result = clean_calls(
        raw_calls(
            {"incident_number": "250000001", "first_unit_arrived_datetime": "2025 Oct 29 10:00:00 AM"},
            {"incident_number": "250000002", "call_closed_datetime": "2099 Nov 01 12:18:22 AM"},
            {"incident_number": "250000003", "first_unit_arrived_datetime": "2025 Oct 31 11:50:00 PM"},
        ),
        RULES,
    )  # fmt: skip
    calls = result.calls.set_index("incident_number")
    assert pd.isna(calls.loc[250000001, "first_unit_arrived_datetime"])
    assert pd.isna(calls.loc[250000002, "call_closed_datetime"])
    # Minutes before the response: a real-data exception, kept and counted as before.
    assert calls.loc[250000003, "first_unit_arrived_datetime"] == pd.Timestamp(
        "2025-10-31 23:50:00", tz="America/Chicago"
    )
    assert result.stats["first_unit_arrived_datetime_out_of_range"] == 1
    assert result.stats["call_closed_datetime_out_of_range"] == 1


def test_geo_ids_outside_the_configured_counties_are_counted():
    result = clean_calls(
        raw_calls(
            {"incident_number": "250000001"},
            {"incident_number": "250000002", "geo_id": "480210001001"},
        ),
        RULES,
    )
    assert result.stats["geo_id_outside_counties"] == 1
    assert result.calls["geo_id"].tolist()[1] == "480210001001"  # kept: it stays unmatched


def test_rules_of_the_partition_calendar():
    now = pd.Timestamp("2025-03-10 12:00", tz="America/Chicago")
    rules = call_rules_for_partitions("2025-01-01", "2025-03-01", ("453", "209"), now=now)
    assert rules.start == pd.Timestamp("2025-01-01")
    assert rules.end == pd.Timestamp("2025-03-11 12:00")  # now + a day, before April
    later = call_rules_for_partitions("2025-01-01", "2025-03-01", now=pd.Timestamp("2026-01-01"))
    assert later.end == pd.Timestamp("2025-04-01")
    assert call_rules_for_partitions("1900-01-01", "2025-03-01").start == pd.Timestamp("1990-01-01")


def test_rows_outside_the_partitions_are_routed_to_the_edges_and_quarantined():
    raw = raw_calls(
        {"incident_number": "250000001", "response_datetime": "2025 Feb 01 10:00:00 AM"},
        {"incident_number": "250000002", "response_datetime": "2019 May 05 10:00:00 AM"},
        {"incident_number": "250000003", "response_datetime": "2031-01-01 00:00:00"},
        {"incident_number": "250000004", "response_datetime": "garbage"},
        {"incident_number": "250000005", "response_datetime": "2025 Mar 05 10:00:00 AM"},
    )
    table = pa.Table.from_pandas(raw, preserve_index=False)
    months = partition_month_keys(table["response_datetime"], "2025-01-01", "2025-03-01")
    assert months.tolist() == ["2025-02-01", "2025-01-01", "2025-03-01", "2025-03-01", "2025-03-01"]
    assert month_row_counts(months) == {"2025-01-01": 1, "2025-02-01": 1, "2025-03-01": 3}
    rules = call_rules_for_partitions("2025-01-01", "2025-03-01", now=pd.Timestamp("2025-06-01"))
    result = clean_calls_by_group(table, months, rules)
    assert result.calls["incident_number"].tolist() == [250000001, 250000005]
    reasons = dict(
        zip(result.quarantined["incident_number"], result.quarantined["reject_reason"], strict=True)
    )
    assert reasons == {
        "250000002": "response_datetime_before_start",
        "250000003": "response_datetime_in_future",
        "250000004": "unparseable_response_datetime",
    }
    groups = dict(
        zip(result.quarantined["incident_number"], result.quarantined_groups, strict=True)
    )
    assert groups == {
        "250000002": "2025-01-01",
        "250000003": "2025-03-01",
        "250000004": "2025-03-01",
    }
    # Only the run's months: the others are left out entirely.
    only_january = clean_calls_by_group(
        table, np.where(months == "2025-01-01", months, None), rules
    )
    assert len(only_january.calls) == 0 and only_january.quarantined_groups.tolist() == [
        "2025-01-01"
    ]
    nothing = clean_calls_by_group(table, np.full(len(months), None), rules)
    assert len(nothing.quarantined) == 0 and len(nothing.quarantined_groups) == 0


# --- events ------------------------------------------------------------------------------------

EVENT_RULES = EventRules(
    start=pd.Timestamp("1990-01-01"), end=pd.Timestamp("2030-12-31"), county_fips=("453",)
)


def test_events_without_a_usable_id_are_quarantined():
    raw = raw_events(
        FESTIVAL,
        {**FESTIVAL, "folderrsn": "-7"},
        {**FESTIVAL, "folderrsn": "12345678901234567890"},
        {**FESTIVAL, "folderrsn": "'; DROP TABLE x; --"},
    )
    result = clean_events(raw, EVENT_RULES)
    assert result.events["event_id"].tolist() == [12345]
    assert result.quarantined["reject_reason"].tolist() == [
        "event_id_out_of_range",
        "event_id_out_of_range",
        "unparseable_event_id",
    ]
    assert result.quarantined["source_row"].tolist() == [2, 3, 4]
    stats = result.stats
    assert stats["rows_in"] == stats["segments"] + stats["rows_quarantined"] == 4
    assert stats["rows_without_event_id"] == 3


def test_implausible_event_values_become_null():
    raw = raw_events(
        {**FESTIVAL, "folderrsn": "1", "start_date": "Jan 01, 1850", "tier_type": "70000"},
        {**FESTIVAL, "folderrsn": "2", "end_date": "2099-01-01", "gpslatitude": "30.45",
         "gpslongitude": "-97.20"},  # inside the old Austin box, but in Williamson County
        {**FESTIVAL, "folderrsn": "3", "start_date": "Aug 05, 2019", "end_date": "Aug 01, 2019"},
    )  # fmt: skip
    result = clean_events(raw, EVENT_RULES)
    events = result.events.set_index("event_id")
    assert pd.isna(events.loc[1, "start_date"]) and pd.isna(events.loc[1, "tier"])
    assert pd.isna(events.loc[2, "end_date"]) and not events.loc[2, "has_valid_location"]
    assert pd.isna(events.loc[3, "event_length_days"])  # end before start: not negative
    assert result.stats["dates_out_of_range"] == 2
    assert result.stats["tier_type_out_of_range"] == 1
    assert rejected_event_values(result.stats) == {
        "start_date/end_date": 2,
        "gpslatitude/gpslongitude": 1,
        "tier_type": 1,
    }
    williamson = clean_events(raw, EventRules(county_fips=("453", "491")))
    assert williamson.events.set_index("event_id").loc[2, "has_valid_location"]


def test_area_of_counties():
    travis = Area.of_counties(["453"])
    lat, lon = pd.Series([30.27, 30.45, np.nan, 0.0]), pd.Series([-97.74, -97.2, -97.7, 0.0])
    assert travis.contains(lat, lon).tolist() == [True, False, False, False]
    # A county without a known extent falls back to Texas.
    assert Area.of_counties(["113"]).contains(lat, lon).tolist() == [True, True, False, False]
