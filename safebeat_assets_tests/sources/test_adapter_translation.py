"""Translating a city's export onto the raw APD layout cleaning reads: Austin onto itself
unchanged, Montgomery's split titles and hashed ids, Seattle's 12-hour datetimes, priority
tables and the counts a translation publishes."""

from __future__ import annotations

import io

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pytest

from safebeat_assets.sources.adapters import (
    NoAdapterMatchesError,
    adapt_calls,
    builtin_adapter,
    parse_adapter,
)
from safebeat_assets.sources.apd_calls import read_apd_calls_table
from safebeat_assets.sources.city_calls import read_city_calls_table
from safebeat_assets.sources.columns import APD_RAW_COLUMNS, PROVENANCE_COLUMNS, SourceSchemaError
from safebeat_assets.sources.files import read_text_table
from safebeat_assets.transform.calls import CallRules, clean_calls

# Rows as the public feeds publish them (Montgomery: the first rows of the Kaggle 911.csv;
# Seattle: the data dictionary's sample plus the JSON API's floating ISO form).
MONTGOMERY_CSV = """lat,lng,desc,zip,title,timeStamp,twp,addr,e
40.2978759,-75.5812935,REINDEER CT & DEAD END;  NEW HANOVER; Station 332; 2015-12-10 @ 17:10:52;,19525,EMS: BACK PAINS/INJURY,2015-12-10 17:10:52,NEW HANOVER,REINDEER CT & DEAD END,1
40.2580614,-75.2646799,BRIAR PATH & WHITEMARSH LN;  HATFIELD TOWNSHIP; Station 345; 2015-12-10 @ 17:29:21;,19446,EMS: DIABETIC EMERGENCY,2015-12-10 17:29:21,HATFIELD TOWNSHIP,BRIAR PATH & WHITEMARSH LN,1
40.1211818,-75.3519752,HAWS AVE; NORRISTOWN; 2015-12-10 @ 14:39:21-Station:STA27;,19401,Fire: GAS-ODOR/LEAK,2015-12-10 14:39:21,NORRISTOWN,HAWS AVE,1
40.116153,-75.343513,AIRY ST & SWEDE ST;  NORRISTOWN; Station 308A; 2015-12-10 @ 16:47:36;,19401,EMS: CARDIAC EMERGENCY,2015-12-10 16:47:36,NORRISTOWN,AIRY ST & SWEDE ST,1
40.251492,-75.6033497,CHERRYWOOD CT & DEAD END;  LOWER POTTSGROVE; Station 329; 2015-12-10 @ 16:56:52;,,Traffic: VEHICLE ACCIDENT -,2015-12-10 16:56:52,LOWER POTTSGROVE,CHERRYWOOD CT & DEAD END,1
40.2,-75.3,SOMEWHERE; LANSDALE; 2015-12-10 @ 18:00:00;,19446,DISABLED VEHICLE,2015-12-10 18:00:00,LANSDALE,SOMEWHERE,1
"""
SEATTLE_CSV = """Address,Type,Datetime,Latitude,Longitude,Report Location,Incident Number
904 7th Av,Car Fire,05/22/2019 12:55:00 PM,47.6069,-122.329051,POINT (-122.329051 47.6069),F190051945
2nd Av / Pike St,Medic Response,2019-05-30T11:22:00.000,47.6101,-122.3405,,F190054321
1st Av S / S Royal Brougham Way,Aid Response,05/30/2019 01:05:09 AM,,,,12345
Unknown,Aid Response,yesterday,47.6,-122.3,,F190099999
"""


def _table(text: str) -> pa.Table:
    options = pacsv.ConvertOptions(strings_can_be_null=True, column_types=None)
    table = pacsv.read_csv(io.BytesIO(text.encode()), convert_options=options)
    return pa.table({name: table.column(name).cast(pa.string()) for name in table.column_names})


def _rules(start: str) -> CallRules:
    return CallRules(start=pd.Timestamp(start), end=pd.Timestamp("2030-01-01"))


def test_austin_exports_map_onto_themselves_unchanged(sample_landing):
    path = next((sample_landing / "calls").glob("*.csv"))
    adapted = adapt_calls(read_text_table(path), builtin_adapter("austin"))
    reader = read_apd_calls_table(path).drop_columns(list(PROVENANCE_COLUMNS))
    assert adapted.table.column_names == list(APD_RAW_COLUMNS)
    assert adapted.table.equals(reader)
    assert adapted.counts["incident_id_hashed"] == 0
    cleaned_via_adapter = clean_calls(adapted.table, _rules("2023-01-01"))
    cleaned_via_reader = clean_calls(reader, _rules("2023-01-01"))
    pd.testing.assert_frame_equal(cleaned_via_adapter.calls, cleaned_via_reader.calls)
    assert cleaned_via_adapter.stats == cleaned_via_reader.stats


def test_montgomery_titles_split_and_ids_hash_stably():
    montgomery = builtin_adapter("montgomery")
    adapted = adapt_calls(_table(MONTGOMERY_CSV), montgomery)
    table = adapted.table.to_pandas()
    assert table["final_problem_category"].tolist() == [
        "EMS",
        "EMS",
        "Fire",
        "EMS",
        "Traffic",
        "DISABLED VEHICLE",
    ]
    assert table["final_problem_description"].tolist()[:5] == [
        "BACK PAINS/INJURY", "DIABETIC EMERGENCY", "GAS-ODOR/LEAK", "CARDIAC EMERGENCY", "VEHICLE ACCIDENT -",
    ]  # fmt: skip
    assert table["final_problem_description"].isna().tolist()[5]
    assert (table["initial_problem_category"] == table["final_problem_category"]).all()
    assert adapted.counts["classification_unsplit"] == 1
    assert table["response_datetime"][0] == "2015-12-10 17:10:52"
    assert table["sector"][2] == "NORRISTOWN"
    assert table["latitude"][0] == "40.2978759" and table["longitude"][0] == "-75.5812935"
    assert table["geo_id"].isna().all()
    ids = table["incident_number"].astype(int)
    assert ids.between(10**17, 10**18 - 1).all() and ids.is_unique
    again = adapt_calls(_table(MONTGOMERY_CSV), montgomery).table.column("incident_number")
    assert again.equals(adapted.table.column("incident_number"))  # a re-export, the same ids
    assert adapted.counts["incident_id_hashed"] == 6

    cleaned = clean_calls(adapted.table, _rules("2015-12-01"))
    assert cleaned.stats["rows_out"] == 6 and cleaned.stats["rows_quarantined"] == 0
    assert cleaned.calls["final_problem_category"].astype(str).value_counts()["EMS"] == 3


def test_seattle_datetimes_are_rewritten_and_unparseable_ones_quarantined_by_cleaning():
    adapted = adapt_calls(_table(SEATTLE_CSV), builtin_adapter("seattle"))
    table = adapted.table.to_pandas()
    assert table["response_datetime"].tolist() == [
        "2019-05-22 12:55:00", "2019-05-30 11:22:00", "2019-05-30 01:05:09", "yesterday",
    ]  # fmt: skip
    assert adapted.counts["call_datetime_unparsed"] == 1
    assert table["final_problem_category"][1] == "Medic Response"
    assert table["final_problem_description"].isna().all()
    assert table["priority_level"].isna().all()  # the feed has no priority
    numbers = table["incident_number"].tolist()
    assert numbers[2] == "12345" and int(numbers[0]) >= 10**17  # numeric kept, F-numbers hashed
    assert adapted.counts["incident_id_hashed"] == 3
    assert pd.isna(table["latitude"][2])

    cleaned = clean_calls(adapted.table, _rules("2019-01-01"))
    assert cleaned.stats["rows_out"] == 3
    assert cleaned.stats["quarantined_unparseable_response_datetime"] == 1
    # Wall-clock times as published (the zone cleaning attaches is still the configured one).
    assert cleaned.calls["response_datetime"].dt.hour.tolist() == [12, 1, 11]


TOWN = """
name = "town"
documentation = ["https://example.org/town"]

[city]
title = "Town"
time_zone = "America/Denver"
county_fips = ["08031"]
box = { min_latitude = 39.5, max_latitude = 40.0, min_longitude = -105.2, max_longitude = -104.6 }
partition_start = 2024-01-01

[layout]
required = ["id", "when", "kind", "prio", "where", "minutes"]

[fields.incident_id]
column = "id"

[fields.call_datetime]
column = "when"
formats = ["%d.%m.%Y %H:%M"]

[fields.priority]
column = "prio"
mapping = { "P1" = 1, "Emergency  Now" = 0, "Priority 2" = 2 }

[fields.classification]
category = "kind"
category_mapping = { "MED" = "Medical" }

[fields.location]
kind = "text"
column = "where"

[fields.response_time]
column = "minutes"
unit = "minutes"
"""


def test_priority_tables_text_locations_and_minutes():
    town = parse_adapter(TOWN, "town.toml")
    table = pa.table(
        {
            "id": ["1", "2", "3", "4", "5"],
            "when": ["01.02.2024 13:05", "02.02.2024 00:00", "bad", None, "03.02.2024 23:59"],
            "kind": ["MED", "FIRE", "MED", None, "Other"],
            "prio": ["p1", " emergency now ", "X", None, "priority 2"],
            "where": ["Main St", None, "Elm St", "Oak St", "Pine St"],
            "minutes": ["1.5", "", "abc", None, "10"],
        }
    )
    adapted = adapt_calls(table, town)
    out = adapted.table.to_pandas()
    assert out["priority_level"].tolist() == ["Priority 1", "Priority 0", "X", None, "priority 2"]
    assert adapted.counts["priority_unmapped"] == 1 and adapted.counts["priority_missing"] == 1
    assert out["final_problem_category"].tolist() == ["Medical", "FIRE", "Medical", None, "Other"]
    assert out["response_datetime"].tolist() == [
        "2024-02-01 13:05:00", "2024-02-02 00:00:00", "bad", None, "2024-02-03 23:59:00",
    ]  # fmt: skip
    assert adapted.counts["call_datetime_unparsed"] == 1
    assert out["response_time"].tolist()[:1] == ["90"] and out["response_time"].tolist()[4] == "600"
    assert adapted.counts["response_time_unparsed"] == 1  # "abc"; blank and null are missing
    assert adapted.counts["unlocated_text_only"] == 5
    assert "latitude" not in out.columns and out["geo_id"].isna().all()

    cleaned = clean_calls(adapted.table, _rules("2024-01-01"))
    assert cleaned.calls["priority_numeric"].tolist() == [1, 0, 2]  # "bad" and None quarantined


def test_a_table_missing_layout_columns_names_every_one():
    table = _table(MONTGOMERY_CSV).drop_columns(["title", "twp"])
    with pytest.raises(SourceSchemaError, match="title.*twp|twp.*title") as err:
        adapt_calls(table, builtin_adapter("montgomery"))
    assert "montgomery" in str(err.value)


def test_a_dropped_file_is_read_through_the_adapter_its_header_fits(tmp_path, sample_landing):
    montgomery_file = tmp_path / "911.csv"
    montgomery_file.write_text(MONTGOMERY_CSV)
    seattle_file = tmp_path / "Seattle_Real_Time_Fire_911_Calls.csv"
    seattle_file.write_text(SEATTLE_CSV)
    austin_file = next((sample_landing / "calls").glob("*.csv"))

    montgomery = read_city_calls_table(montgomery_file)
    assert montgomery.adapter.name == "montgomery" and montgomery.table.num_rows == 6
    assert montgomery.table.column("source_file")[0].as_py() == "911.csv"
    assert montgomery.table.column("source_row").to_pylist() == list(range(1, 7))
    assert read_city_calls_table(seattle_file).adapter.name == "seattle"
    austin = read_city_calls_table(austin_file)
    assert austin.adapter.name == "austin"
    assert austin.table.equals(read_apd_calls_table(austin_file))


def test_a_file_fitting_no_adapter_lists_what_each_adapter_missed(tmp_path):
    odd = tmp_path / "odd.csv"
    odd.write_text("when,what,lat,lng\n2024-01-01 10:00:00,EMS: FALL,40.1,-75.3\n")
    with pytest.raises(NoAdapterMatchesError) as err:
        read_city_calls_table(odd)
    message = str(err.value)
    assert "odd.csv" in message
    assert "montgomery: missing 'desc', 'zip', 'title', 'timeStamp', 'twp', 'addr', 'e'" in message
    assert "seattle: missing 'Address', 'Type', 'Datetime'" in message
    assert "austin: missing 'Incident Number'" in message
