"""clean_calls: the contract frame, awkward fields, DST, duplicates, quarantine, stats."""

from __future__ import annotations

import pandas as pd
import pytest

from safebeat_assets.sources import SourceSchemaError
from safebeat_assets.sources.apd_calls import RAW_CALL_COLUMNS
from safebeat_assets.transform import clean_calls
from safebeat_assets.transform.calls import CLEANED_CALL_COLUMNS

# Two real rows of the published dispatched-calls data (canonical names, raw text).
REAL_ROW_1 = {
    "incident_number": "253041790",
    "incident_type": "Dispatched Incident",
    "mental_health_flag": "Not Mental Health Incident",
    "priority_level": "Priority 2",
    "response_datetime": "2025 Oct 31 11:59:47 PM",
    "response_day_of_week": "Fri",
    "response_hour": "23",
    "first_unit_arrived_datetime": "2025 Nov 01 12:13:18 AM",
    "call_closed_datetime": "2025 Nov 01 12:18:22 AM",
    "sector": "Frank",
    "initial_problem_description": "Alarm Burglar",
    "initial_problem_category": "Alarms",
    "final_problem_description": "False Burglar Alarm",
    "final_problem_category": "Alarms",
    "number_of_units_arrived": "1",
    "unit_time_on_scene": "304",
    "call_disposition_description": "False Alarm",
    "report_written_flag": "0",
    "response_time": "853",
    "officer_injured_killed_count": "0",
    "subject_injured_killed_count": "0",
    "other_injured_killed_count": "0",
    "geo_id": "484530412002",
    "census_block_group": "4530412002",
    "council_district": "2",
}
REAL_ROW_2 = {
    **REAL_ROW_1,
    "incident_number": "253041786",
    "response_datetime": "2025 Oct 31 11:59:15 PM",
    "first_unit_arrived_datetime": "2025 Nov 01 02:11:29 AM",
    "call_closed_datetime": "2025 Nov 01 02:23:13 AM",
    "sector": "George",
    "unit_time_on_scene": "704",
    "call_disposition_description": "Unable To Locate",
    "response_time": "7,953",
    "council_district": "9",
    "geo_id": "484530440002",
    "census_block_group": "4530440002",
}

CONTRACT_DTYPES = {
    "incident_number": "int64",
    "response_datetime": "datetime64[ns, America/Chicago]",
    "response_date": "datetime64[ns]",
    "response_year": "int64",
    "response_month": "int64",
    "response_hour": "int64",
    "response_month_key": "object",
    "response_day_of_week": "object",
    "day_of_week_index": "int64",
    "is_weekend": "bool",
    "time_of_day": "object",
    "first_unit_arrived_datetime": "datetime64[ns, America/Chicago]",
    "call_closed_datetime": "datetime64[ns, America/Chicago]",
    "is_known_final_category": "bool",
    "priority_level": "object",
    "priority_numeric": "Int64",
    "is_mental_health": "boolean",
    "report_written": "boolean",
    "number_of_units_arrived": "Int64",
    "unit_time_on_scene": "Int64",
    "response_time": "Int64",
    "council_district": "Int64",
    "geo_id": "object",
    "geo_id_status": "object",
    "census_block_group": "object",
    "is_duplicate_incident_number": "bool",
    "source_file": "object",
}


def raw_calls(*rows: dict[str, object]) -> pd.DataFrame:
    """A raw_911_calls frame: each row starts from REAL_ROW_1 with the given overrides."""
    records = []
    for number, overrides in enumerate(rows, start=1):
        record = {c: None for c in RAW_CALL_COLUMNS}
        record.update(REAL_ROW_1)
        record.update(source_file="calls.csv", source_sha256="abc", source_row=number)
        record.update(overrides)
        records.append(record)
    frame = pd.DataFrame(records, columns=list(RAW_CALL_COLUMNS))
    return frame.astype({c: object for c in RAW_CALL_COLUMNS if c != "source_row"})


def test_contract_columns_and_dtypes():
    result = clean_calls(raw_calls(REAL_ROW_1, REAL_ROW_2))
    assert list(result.calls.columns) == list(CLEANED_CALL_COLUMNS)
    for column, dtype in CONTRACT_DTYPES.items():
        assert str(result.calls[column].dtype) == dtype, column


def test_the_two_real_rows():
    calls = clean_calls(raw_calls(REAL_ROW_1, REAL_ROW_2)).calls
    # Chronological order: 11:59:15 PM before 11:59:47 PM.
    assert calls["incident_number"].tolist() == [253041786, 253041790]
    row = calls.iloc[1]
    assert row["response_datetime"] == pd.Timestamp("2025-10-31 23:59:47", tz="America/Chicago")
    # 12:13:18 AM is 00:13:18 the next day.
    assert row["first_unit_arrived_datetime"] == pd.Timestamp(
        "2025-11-01 00:13:18", tz="America/Chicago"
    )
    assert row["call_closed_datetime"] == pd.Timestamp("2025-11-01 00:18:22", tz="America/Chicago")
    assert row["response_date"] == pd.Timestamp("2025-10-31")
    assert (row["response_year"], row["response_month"], row["response_hour"]) == (2025, 10, 23)
    assert row["response_month_key"] == "2025-10"
    assert (row["response_day_of_week"], row["day_of_week_index"]) == ("Fri", 4)
    assert not row["is_weekend"]
    assert row["time_of_day"] == "Evening"
    assert row["priority_level"] == "Priority 2" and row["priority_numeric"] == 2
    assert not row["is_mental_health"]
    assert not row["report_written"]  # "0" in the e687 export
    assert row["unit_time_on_scene"] == 304 and row["response_time"] == 853
    assert row["geo_id"] == "484530412002" and row["geo_id_status"] == "valid"
    assert row["census_block_group"] == "4530412002"
    assert row["council_district"] == 2
    assert row["is_known_final_category"]
    assert calls.iloc[0]["response_time"] == 7953  # "7,953"
    assert calls.iloc[0]["sector"] == "George"
    assert not calls["is_duplicate_incident_number"].any()


def test_awkward_integers_are_parsed_or_counted():
    result = clean_calls(
        raw_calls(
            {
                "incident_number": "250000001",
                "unit_time_on_scene": "1,409",
                "number_of_units_arrived": "4.0",
            },
            {"incident_number": "250000002", "unit_time_on_scene": "0.0", "response_time": ""},
            {
                "incident_number": "250000003",
                "unit_time_on_scene": "4.5",
                "council_district": "ten",
            },
        )
    )
    calls = result.calls.set_index("incident_number")
    assert calls["unit_time_on_scene"].tolist() == [1409, 0, pd.NA]
    assert calls.loc[250000001, "number_of_units_arrived"] == 4
    assert pd.isna(calls.loc[250000002, "response_time"])
    assert result.stats["unit_time_on_scene_invalid"] == 1
    assert result.stats["council_district_invalid"] == 1
    assert result.stats["response_time_invalid"] == 0  # blank is missing, not invalid


def test_geo_ids_and_their_counts():
    result = clean_calls(
        raw_calls(
            {"incident_number": "250000001", "geo_id": "484530412002.0"},
            {"incident_number": "250000002", "geo_id": 484530412002.0},
            {"incident_number": "250000003", "geo_id": "4.845300e+11"},
            {"incident_number": "250000004", "geo_id": ""},
            {"incident_number": "250000005", "geo_id": None, "census_block_group": None},
        )
    )
    calls = result.calls
    assert calls["geo_id"].tolist() == ["484530412002", "484530412002", None, None, None]
    assert calls["geo_id_status"].tolist() == ["valid", "valid", "invalid", "missing", "missing"]
    assert (
        result.stats["geo_id_valid"],
        result.stats["geo_id_invalid"],
        result.stats["geo_id_missing"],
    ) == (2, 1, 2)
    assert not calls["geo_id"].astype(str).str.contains("nan").any()


def test_census_block_group_mismatch_is_flagged_not_dropped():
    result = clean_calls(
        raw_calls(
            {"incident_number": "250000001", "census_block_group": "4530412002.0"},
            {"incident_number": "250000002", "census_block_group": "2090101001"},
        )
    )
    assert result.calls["census_block_group"].tolist() == ["4530412002", "2090101001"]
    assert result.stats["census_block_group_mismatch"] == 1
    assert result.stats["rows_out"] == 2


def test_priority_unknown_is_na_not_nine():
    result = clean_calls(
        raw_calls(
            {"incident_number": "250000001", "priority_level": "Priority 0"},
            {"incident_number": "250000002", "priority_level": "Priority 3"},
            {"incident_number": "250000003", "priority_level": ""},
            {"incident_number": "250000004", "priority_level": "Priority 9"},
        )
    )
    calls = result.calls
    assert calls["priority_numeric"].tolist() == [0, 3, pd.NA, pd.NA]
    assert calls["priority_level"].tolist() == ["Priority 0", "Priority 3", "Unknown", "Priority 9"]
    assert calls["priority_numeric"].mean() == pytest.approx(1.5)
    assert result.stats["priority_unknown"] == 2


def test_report_written_flag_mapping():
    flags = ["Yes", "No", "1", "0", "true", "N", "pending", ""]
    result = clean_calls(
        raw_calls(
            *(
                {"incident_number": f"25000000{i}", "report_written_flag": f}
                for i, f in enumerate(flags)
            )
        )
    )
    assert result.calls["report_written"].tolist() == [
        True,
        False,
        True,
        False,
        True,
        False,
        pd.NA,
        pd.NA,
    ]
    assert result.stats["report_written_unparsed"] == 1


def test_categoricals_unknown_and_vocabulary():
    result = clean_calls(
        raw_calls(
            {
                "incident_number": "250000001",
                "sector": "",
                "final_problem_category": "Welfare  Check",
            },
            {"incident_number": "250000002", "final_problem_category": "Mystery Category"},
            {"incident_number": "250000003", "final_problem_category": None},
        )
    )
    calls = result.calls
    assert calls["sector"].tolist() == ["Unknown", "Frank", "Frank"]
    assert calls["final_problem_category"].tolist() == [
        "Welfare  Check",
        "Mystery Category",
        "Unknown",
    ]
    assert calls["is_known_final_category"].tolist() == [True, False, False]
    assert result.stats["unknown_final_category"] == 1
    assert result.stats["final_category_missing"] == 1


def test_dst_fall_back_and_spring_forward():
    result = clean_calls(
        raw_calls(
            {"incident_number": "253060001", "response_datetime": "2025 Nov 02 01:30:00 AM",
             "response_hour": "1", "response_day_of_week": "Sun"},
            {"incident_number": "250680001", "response_datetime": "2025 Mar 09 02:30:00 AM",
             "response_hour": "2", "response_day_of_week": "Sun"},
        )
    )  # fmt: skip
    calls = result.calls.set_index("incident_number")
    fall_back = calls.loc[253060001, "response_datetime"]
    assert fall_back == pd.Timestamp("2025-11-02 06:30:00", tz="UTC")  # first occurrence, CDT
    assert calls.loc[253060001, "response_hour"] == 1
    spring = calls.loc[250680001, "response_datetime"]
    assert spring == pd.Timestamp("2025-03-09 03:00:00", tz="America/Chicago")
    assert calls.loc[250680001, "response_date"] == pd.Timestamp("2025-03-09")
    assert result.stats["dst_ambiguous_first_occurrence"] == 1
    assert result.stats["dst_nonexistent_shifted_forward"] == 1


def test_other_datetime_layouts():
    result = clean_calls(
        raw_calls(
            {"incident_number": "250000001", "response_datetime": "2025-10-31 23:59:47",
             "first_unit_arrived_datetime": "2025-11-01 00:13:18", "call_closed_datetime": ""},
            {"incident_number": "250000002", "response_datetime": "2025-01-01T00:00:00.000"},
            {"incident_number": "250000003", "response_datetime": "2025-01-01 10:05",
             "call_closed_datetime": "soon"},
        )
    )  # fmt: skip
    calls = result.calls.set_index("incident_number")
    assert calls.loc[250000001, "response_datetime"] == pd.Timestamp(
        "2025-10-31 23:59:47", tz="America/Chicago"
    )
    assert pd.isna(calls.loc[250000001, "call_closed_datetime"])
    assert calls.loc[250000002, "response_datetime"] == pd.Timestamp(
        "2025-01-01", tz="America/Chicago"
    )
    assert calls.loc[250000003, "response_datetime"] == pd.Timestamp(
        "2025-01-01 10:05", tz="America/Chicago"
    )
    assert result.stats["datetime_fallback_parsed"] == 1
    assert result.stats["response_datetime_format_xlsx"] == 1
    assert result.stats["call_closed_datetime_unparsed"] == 1


def test_quarantine_keeps_raw_values_and_reasons():
    raw = raw_calls(
        {"incident_number": "250000001"},
        {"incident_number": "ABC123"},
        {"incident_number": "250000003", "response_datetime": "Oct 31 2025 late"},
        {"incident_number": "", "response_datetime": ""},
    )
    result = clean_calls(raw)
    assert result.calls["incident_number"].tolist() == [250000001]
    quarantined = result.quarantined
    assert list(quarantined.columns) == [*RAW_CALL_COLUMNS, "reject_reason"]
    assert quarantined["incident_number"].tolist() == ["ABC123", "250000003", ""]
    assert quarantined["reject_reason"].tolist() == [
        "unparseable_incident_number",
        "unparseable_response_datetime",
        "unparseable_incident_number",
    ]
    assert quarantined["source_row"].tolist() == [2, 3, 4]
    assert result.stats["rows_quarantined"] == 3
    assert result.stats["quarantined_unparseable_incident_number"] == 2
    assert result.stats["quarantined_unparseable_response_datetime"] == 1


def test_duplicates():
    different_call = {
        "incident_number": "230990471",
        "response_datetime": "2023 Apr 09 04:38:00 PM",
        "sector": "Frank",
        "final_problem_category": "Other",
    }
    raw = raw_calls(
        # 230990471 is two different calls (Alarms/Baker 07:33, Other/Frank 16:38): keep both.
        {"incident_number": "230990471", "response_datetime": "2023 Apr 09 07:33:00 AM",
         "sector": "Baker", "final_problem_category": "Alarms"},
        different_call,
        # An exact duplicate row (e.g. overlapping exports) is dropped, whatever its file.
        {**different_call, "source_file": "other.csv", "source_row": 9},
        # Same key, different content: the last one in source order wins.
        {"incident_number": "250000001", "sector": "Adam"},
        {"incident_number": "250000001", "sector": "David"},
    )  # fmt: skip
    result = clean_calls(raw)
    calls = result.calls
    repeat = calls[calls["incident_number"] == 230990471]
    assert repeat["sector"].tolist() == ["Baker", "Frank"]
    assert repeat["is_duplicate_incident_number"].all()
    assert calls.loc[calls["incident_number"] == 250000001, "sector"].tolist() == ["David"]
    assert not calls.loc[
        calls["incident_number"] == 250000001, "is_duplicate_incident_number"
    ].any()
    assert result.stats["exact_duplicates_dropped"] == 1
    assert result.stats["key_duplicates_dropped"] == 1
    assert result.stats["duplicate_incident_numbers"] == 1
    assert calls.duplicated(["incident_number", "response_datetime"]).sum() == 0
    stats = result.stats
    assert stats["rows_in"] == (
        stats["rows_out"] + stats["rows_quarantined"]
        + stats["exact_duplicates_dropped"] + stats["key_duplicates_dropped"]
    )  # fmt: skip


def test_invariant_checks_are_counted():
    result = clean_calls(
        raw_calls(
            {"incident_number": "250000001", "response_hour": "22", "response_day_of_week": "Mon"},
            {"incident_number": "250000002", "call_closed_datetime": "2025 Oct 31 01:00:00 PM"},
        )
    )
    assert result.stats["response_hour_mismatch"] == 1
    assert result.stats["response_day_of_week_mismatch"] == 1
    assert result.stats["datetime_order_violations"] == 1
    assert result.stats["rows_out"] == 2


def test_required_stats_keys_present():
    stats = clean_calls(raw_calls(REAL_ROW_1)).stats
    for key in (
        "rows_in", "rows_out", "rows_quarantined", "quarantined_unparseable_incident_number",
        "quarantined_unparseable_response_datetime", "exact_duplicates_dropped",
        "key_duplicates_dropped", "duplicate_incident_numbers", "geo_id_valid", "geo_id_missing",
        "geo_id_invalid", "priority_unknown", "datetime_fallback_parsed",
        "unknown_final_category", "report_written_unparsed",
    ):  # fmt: skip
        assert isinstance(stats[key], int), key


def test_empty_input_gives_empty_contract_frame():
    result = clean_calls(raw_calls().iloc[0:0])
    assert list(result.calls.columns) == list(CLEANED_CALL_COLUMNS)
    assert len(result.calls) == 0 and len(result.quarantined) == 0
    assert str(result.calls["response_datetime"].dtype) == "datetime64[ns, America/Chicago]"


def test_missing_raw_columns_raise():
    with pytest.raises(SourceSchemaError, match="geo_id"):
        clean_calls(raw_calls(REAL_ROW_1).drop(columns=["geo_id"]))


def test_cleaning_by_month_equals_cleaning_each_month_alone(sample_landing):
    import numpy as np
    import pyarrow as pa

    from safebeat_assets.sources import read_apd_calls_table
    from safebeat_assets.transform.calls import clean_calls, clean_calls_by_group
    from safebeat_assets.transform.months import text_month_keys

    table = read_apd_calls_table(next((sample_landing / "calls").glob("*.csv")))
    months = text_month_keys(table["response_datetime"])
    chosen = np.where(np.isin(months, ["2025-02-01", "2025-04-01"]), months, None)
    together = clean_calls_by_group(table, chosen)
    alone = [
        clean_calls(table.filter(pa.array(months == month)).to_pandas())
        for month in ("2025-02-01", "2025-04-01")
    ]
    expected = pd.concat([a.calls for a in alone], ignore_index=True)
    pd.testing.assert_frame_equal(together.calls, expected)
    assert together.stats["rows_in"] == sum(a.stats["rows_in"] for a in alone)
    assert together.calls["response_month_key"].unique().tolist() == ["2025-02", "2025-04"]


def test_cleaning_by_month_does_not_need_rows_in_time_order(sample_landing):
    import numpy as np

    from safebeat_assets.sources import read_apd_calls_table
    from safebeat_assets.transform.calls import clean_calls_by_group
    from safebeat_assets.transform.months import text_month_keys

    table = read_apd_calls_table(next((sample_landing / "calls").glob("*.csv")))
    shuffled = table.take(np.random.default_rng(1).permutation(table.num_rows))
    ordered = clean_calls_by_group(table, text_month_keys(table["response_datetime"]))
    mixed = clean_calls_by_group(shuffled, text_month_keys(shuffled["response_datetime"]))
    key = ["incident_number", "response_datetime"]
    assert len(mixed.calls) == len(ordered.calls)
    assert (mixed.calls[key].to_numpy() == ordered.calls[key].to_numpy()).all()


def test_an_arrow_table_cleans_exactly_as_its_pandas_frame():
    """Months are cleaned straight from their Arrow tables (no Python string per value): every
    awkward value must come out as it does from the pandas frame, stats and quarantine included."""
    import pyarrow as pa

    awkward = [
        {},
        REAL_ROW_2,
        REAL_ROW_2,  # exact duplicate
        {**REAL_ROW_2, "sector": "Adam"},  # key duplicate
        {"incident_number": " 253,041,791 ", "response_datetime": "2025-10-31 23:59:47"},
        {"incident_number": "x", "response_datetime": "2025 Oct 31 11:59:48 PM"},
        {"incident_number": "253041792", "response_datetime": "2025 Öct 31 11:59:47 PM"},
        {"incident_number": "253041793", "response_datetime": " 2025 oct 31 11:59:49 pm "},
        {"incident_number": "253041794", "response_datetime": "2025 Oct 1 1:59:47 PM"},
        {"incident_number": "253041795", "response_datetime": "2025-10-31T23:59:47.123"},
        {"incident_number": "253041796", "call_closed_datetime": "2025 Nov 01 12:18:22 AMX"},
        {"incident_number": "253041797", "first_unit_arrived_datetime": "nan", "geo_id": ""},
        {"incident_number": "253041798", "priority_level": "  priority  3 ", "sector": None},
        {
            "incident_number": "253041799",
            "response_day_of_week": " friday ",
            "response_hour": "4.0",
        },
        {"incident_number": "253041800", "geo_id": "4.84530412002e+11", "response_time": "1,2"},
        {"incident_number": "253041801", "mental_health_flag": "YES", "report_written_flag": "1.0"},
        {
            "incident_number": "253041802",
            "final_problem_category": "NULL",
            "council_district": "99",
        },
    ]
    frame = raw_calls(*awkward)
    from_frame = clean_calls(frame)
    from_table = clean_calls(pa.Table.from_pandas(frame, preserve_index=False))
    pd.testing.assert_frame_equal(from_table.calls, from_frame.calls)
    pd.testing.assert_frame_equal(from_table.quarantined, from_frame.quarantined)
    assert from_table.stats == from_frame.stats
    assert from_frame.stats["rows_quarantined"] >= 1
    assert from_frame.stats["exact_duplicates_dropped"] == 1
