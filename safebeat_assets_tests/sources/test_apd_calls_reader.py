"""read_apd_calls: both APD layouts bound by header name, schema errors, CSV and XLSX."""

from __future__ import annotations

import csv
import datetime as dt
import random
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from safebeat_assets.sources import SourceSchemaError, file_sha256, read_apd_calls
from safebeat_assets.sources.columns import APD_CORE_COLUMNS, APD_RAW_COLUMNS, canonical_name

HEADER_25 = [
    "Incident Number", "Incident Type", "Mental Health Flag", "Priority Level",
    "Response Datetime", "Response Day of Week", "Response Hour", "First Unit Arrived Datetime",
    "Call Closed Datetime", "Sector", "Initial Problem Description", "Initial Problem Category",
    "Final Problem Description", "Final Problem Category", "Number of Units Arrived",
    "Unit Time on Scene", "Call Disposition Description", "Report Written Flag", "Response Time",
    "Officer Injured/Killed Count", "Subject Injured/Killed Count", "Other Injured/Killed Count",
    "Geo ID", "Census Block Group", "Council District",
]  # fmt: skip
HEADER_27 = [
    "Incident Number", "Incident Type", "Council District", "Mental Health Flag",
    "Priority Level", "Response Datetime", "Response Year", "Response Month",
    "Response Day of Week", "Response Hour", "First Unit Arrived Datetime",
    "Call Closed Datetime", "Sector", "Initial Problem Description", "Initial Problem Category",
    "Final Problem Description", "Final Problem Category", "Number of Units Arrived",
    "Unit Time on Scene", "Call Disposition Description", "Report Written Flag", "Response Time",
    "Officer Injured/Killed Count", "Subject Injured/Killed Count", "Other Injured/Killed Count",
    "Geo ID", "Census Block Group",
]  # fmt: skip

# Two real rows of the published dispatched-calls data, by header.
ROW_1 = {
    "Incident Number": "253041790", "Incident Type": "Dispatched Incident",
    "Mental Health Flag": "Not Mental Health Incident", "Priority Level": "Priority 2",
    "Response Datetime": "2025 Oct 31 11:59:47 PM", "Response Day of Week": "Fri",
    "Response Hour": "23", "First Unit Arrived Datetime": "2025 Nov 01 12:13:18 AM",
    "Call Closed Datetime": "2025 Nov 01 12:18:22 AM", "Sector": "Frank",
    "Initial Problem Description": "Alarm Burglar", "Initial Problem Category": "Alarms",
    "Final Problem Description": "False Burglar Alarm", "Final Problem Category": "Alarms",
    "Number of Units Arrived": "1", "Unit Time on Scene": "304",
    "Call Disposition Description": "False Alarm", "Report Written Flag": "0",
    "Response Time": "853", "Officer Injured/Killed Count": "0",
    "Subject Injured/Killed Count": "0", "Other Injured/Killed Count": "0",
    "Geo ID": "484530412002", "Census Block Group": "4530412002", "Council District": "2",
    "Response Year": "2025", "Response Month": "Oct",
}  # fmt: skip
ROW_2 = {
    **ROW_1,
    "Incident Number": "253041786", "Response Datetime": "2025 Oct 31 11:59:15 PM",
    "First Unit Arrived Datetime": "2025 Nov 01 02:11:29 AM",
    "Call Closed Datetime": "2025 Nov 01 02:23:13 AM", "Sector": "George",
    "Unit Time on Scene": "704", "Call Disposition Description": "Unable To Locate",
    "Response Time": "7,953", "Council District": "9", "Geo ID": "",
}  # fmt: skip


def write_csv(path: Path, header: list[str], rows: list[dict[str, str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        for row in rows:
            writer.writerow([row.get(name, "") for name in header])
    return path


def test_canonical_names_and_aliases():
    assert canonical_name(" Officer Injured/Killed Count ") == "officer_injured_killed_count"
    assert canonical_name("Response Day of Week") == "response_day_of_week"
    assert canonical_name("geoid") == "geo_id"
    assert canonical_name("blkgpnm") == "census_block_group"
    assert canonical_name("\ufeffIncident Number") == "incident_number"


@pytest.mark.parametrize("header", [HEADER_25, HEADER_27], ids=["25-col", "27-col"])
def test_both_layouts_give_the_same_frame(tmp_path, header):
    path = write_csv(tmp_path / "calls.csv", header, [ROW_1, ROW_2])
    raw = read_apd_calls(path)

    assert list(raw.columns) == [*APD_RAW_COLUMNS, "source_file", "source_sha256", "source_row"]
    assert raw["incident_number"].tolist() == ["253041790", "253041786"]
    assert raw["council_district"].tolist() == ["2", "9"]  # bound by name, not position
    assert raw["response_time"].tolist() == ["853", "7,953"]  # text exactly as read
    assert raw["geo_id"].tolist() == ["484530412002", None]  # blank -> None, never "nan"
    assert raw["source_file"].unique().tolist() == ["calls.csv"]
    assert raw["source_sha256"].unique().tolist() == [file_sha256(path)]
    assert raw["source_row"].tolist() == [1, 2]
    assert raw["source_row"].dtype == "int64"
    if header is HEADER_25:
        assert raw["response_year"].isna().all() and raw["response_month"].isna().all()
    else:
        assert raw["response_month"].tolist() == ["Oct", "Oct"]
    content = raw[list(APD_CORE_COLUMNS)]
    assert all(isinstance(v, str) or v is None for v in content.to_numpy().ravel())


def test_shuffled_column_order_is_bound_by_name(tmp_path):
    straight = read_apd_calls(write_csv(tmp_path / "a.csv", HEADER_25, [ROW_1, ROW_2]))
    shuffled_header = HEADER_25.copy()
    random.Random(7).shuffle(shuffled_header)
    shuffled = read_apd_calls(write_csv(tmp_path / "b.csv", shuffled_header, [ROW_1, ROW_2]))
    columns = list(APD_RAW_COLUMNS)
    pd.testing.assert_frame_equal(straight[columns], shuffled[columns])


def test_socrata_json_names_are_accepted(tmp_path):
    header = [canonical_name(h) for h in HEADER_25]
    header[header.index("geo_id")] = "geoid"
    header[header.index("census_block_group")] = "blkgpnm"
    rows = [{canonical_name(k) if k not in ("Geo ID", "Census Block Group") else
             {"Geo ID": "geoid", "Census Block Group": "blkgpnm"}[k]: v for k, v in ROW_1.items()}]  # fmt: skip
    raw = read_apd_calls(write_csv(tmp_path / "api.csv", header, rows))
    assert raw.loc[0, "geo_id"] == "484530412002"
    assert raw.loc[0, "census_block_group"] == "4530412002"


def test_missing_and_unknown_columns_are_all_named(tmp_path):
    header = [h for h in HEADER_25 if h not in ("Geo ID", "Sector")] + ["Extra Thing", "Notes"]
    path = write_csv(tmp_path / "broken.csv", header, [ROW_1])
    with pytest.raises(SourceSchemaError) as error:
        read_apd_calls(path)
    message = str(error.value)
    for name in ("geo_id", "sector", "extra_thing", "notes", "broken.csv"):
        assert name in message
    assert error.value.missing == ["geo_id", "sector"]
    assert error.value.unknown == ["extra_thing", "notes"]


def test_repeated_header_is_a_schema_error(tmp_path):
    path = write_csv(tmp_path / "dup.csv", [*HEADER_25, "Sector"], [ROW_1])
    with pytest.raises(SourceSchemaError, match="sector"):
        read_apd_calls(path)


def test_unsupported_suffix_is_a_clear_error(tmp_path):
    path = tmp_path / "calls.json"
    path.write_text("[]")
    with pytest.raises(ValueError, match="unsupported file type"):
        read_apd_calls(path)


def test_xlsx_round_trip_native_cells(tmp_path):
    """XLSX: native datetimes -> `YYYY-MM-DD HH:MM:SS`, floats -> repr, ints -> digits."""
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(HEADER_27)
    typed = {
        **ROW_1,
        "Incident Number": 253041790,
        "Response Datetime": dt.datetime(2025, 10, 31, 23, 59, 47),
        # Excel day fractions can come back a microsecond short; rounds to the second.
        "First Unit Arrived Datetime": dt.datetime(2025, 11, 1, 0, 13, 17, 999_999),
        "Call Closed Datetime": dt.datetime(2025, 11, 1, 0, 18, 22),
        # An integral float is stored as `484530412002` in the sheet XML and read back as an
        # int; only genuinely fractional cells come back as floats (printed with repr).
        "Geo ID": 484530412002.0,
        "Census Block Group": 4530412002,
        "Response Time": 7953,
        "Unit Time on Scene": 304.5,
        "Report Written Flag": 0,
        "Response Year": 2025,
    }
    sheet.append([typed[h] for h in HEADER_27])
    sheet.append([ROW_2[h] if h != "Geo ID" else None for h in HEADER_27])
    path = tmp_path / "calls.xlsx"
    workbook.save(path)

    raw = read_apd_calls(path)
    first = raw.iloc[0]
    assert first["incident_number"] == "253041790"
    assert first["response_datetime"] == "2025-10-31 23:59:47"
    assert first["first_unit_arrived_datetime"] == "2025-11-01 00:13:18"
    assert first["geo_id"] == "484530412002"
    assert first["census_block_group"] == "4530412002"
    assert first["response_time"] == "7953"
    assert first["unit_time_on_scene"] == "304.5"
    assert first["report_written_flag"] == "0"
    assert first["council_district"] == "2"
    assert raw.iloc[1]["geo_id"] is None
    assert raw.iloc[1]["response_time"] == "7,953"
    assert raw["source_row"].tolist() == [1, 2]


def test_xlsx_sample_cleans_without_quarantine(tmp_path):
    """Generated XLSX (native datetime cells incl. exact midnights, numeric Geo IDs) reads and
    cleans like the CSV export of the same calls."""
    from safebeat_assets.sample import generate_sample
    from safebeat_assets.transform import clean_calls

    xlsx = generate_sample(tmp_path / "x", n_calls=3_000, seed=5, calls_format="xlsx")
    csv = generate_sample(tmp_path / "c", n_calls=3_000, seed=5)
    from_xlsx = clean_calls(read_apd_calls(xlsx.calls))
    from_csv = clean_calls(read_apd_calls(csv.calls))
    assert from_xlsx.stats["rows_quarantined"] == 0
    assert len(from_xlsx.calls) == len(from_csv.calls)
    assert (
        from_xlsx.calls["response_datetime"].values == from_csv.calls["response_datetime"].values
    ).all()
    assert from_xlsx.calls["geo_id"].equals(from_csv.calls["geo_id"])
