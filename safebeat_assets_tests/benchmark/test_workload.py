"""The benchmark's "one more day" edit of an APD export."""

import shutil

import pandas as pd

from safebeat_assets.benchmark.workload import (
    Workload,
    add_daily_file,
    append_next_day,
    calls_export,
    prepare_source,
    replace_with_reexport,
)
from safebeat_assets.sources import read_apd_calls
from safebeat_assets.transform.calls import clean_calls


def test_next_day_is_a_realistic_copy_of_the_week_before(sample_landing, tmp_path):
    calls_file = tmp_path / "calls.csv"
    shutil.copy(next((sample_landing / "calls").glob("*.csv")), calls_file)
    before = clean_calls(read_apd_calls(calls_file)).calls
    new_day, added = append_next_day(calls_file, last_day="2025-06-30")
    assert new_day == "2025-07-01"
    template = before[before["response_date"] == pd.Timestamp("2025-06-24")]
    assert added == len(template) > 0

    after = clean_calls(read_apd_calls(calls_file)).calls
    new = after[after["response_date"] == pd.Timestamp(new_day)]
    assert len(new) == added
    assert len(after) == len(before) + added
    # Same weekday, same hours; incident numbers follow yyDDDnnnn for the new day.
    assert (new["response_day_of_week"] == "Tue").all()
    assert sorted(new["response_hour"]) == sorted(template["response_hour"])
    assert (new["incident_number"] // 10_000 % 1_000 == 182).all()
    assert not set(new["incident_number"]) & set(before["incident_number"])


def test_scale_is_more_history_at_austin_density():
    one, ten = Workload.at_scale(1), Workload.at_scale(10)
    assert one == Workload() and one.partition_start == "2023-01"
    assert ten.calls == 8_351_980 and ten.last_day == one.last_day
    days = (pd.Timestamp(ten.last_day) - pd.Timestamp(ten.first_day)).days + 1
    assert days == 10 * ((pd.Timestamp(one.last_day) - pd.Timestamp(one.first_day)).days + 1)
    assert ten.partition_start == ten.first_day[:7]


def test_scaled_history_holds_the_1x_export_as_its_last_window(tmp_path):
    one = Workload(calls=4_000)
    two = Workload(calls=8_000, first_day=Workload.at_scale(2).first_day, scale=2)
    prepare_source(tmp_path / "one", one)
    prepare_source(tmp_path / "two", two)
    one_calls = pd.read_csv(next((tmp_path / "one" / "calls").glob("*.csv")), dtype=str)
    two_calls = pd.read_csv(next((tmp_path / "two" / "calls").glob("*.csv")), dtype=str)
    assert len(two_calls) == 8_000
    assert two_calls.tail(4_000).reset_index(drop=True).equals(one_calls)
    # yyDDDnnnn numbers of different windows never meet (the generator reuses a handful
    # within a day on purpose).
    older, newer = two_calls.head(4_000), two_calls.tail(4_000)
    assert not set(older["Incident Number"]) & set(newer["Incident Number"])
    events = pd.read_csv(next((tmp_path / "two" / "events").glob("*.csv")), dtype=str)
    permits = events.drop_duplicates("FOLDERRSN")
    assert permits["FOLDERNAME"].notna().all()
    # Each window's permits keep their own numbers: none shared by two windows' events.
    assert not permits.duplicated(["FOLDERRSN"]).any()
    assert len(events.groupby("FOLDERRSN")["FOLDERNAME"].nunique().loc[lambda n: n > 1]) == 0


def test_daily_file_then_reexport(sample_landing, tmp_path):
    calls_dir = tmp_path / "calls"
    shutil.copytree(sample_landing / "calls", calls_dir)
    export = calls_export(calls_dir)
    before = read_apd_calls(export)
    new_day, added = add_daily_file(calls_dir, "2025-06-30")
    daily = calls_dir / "APD_911_Calls_for_Service_2025-07-01_2025-07-01.csv"
    assert new_day == "2025-07-01" and daily.exists()
    assert len(read_apd_calls(daily)) == added > 0
    # (b) one export with everything so far plus the next day; the old files are gone.
    second_day, more = replace_with_reexport(calls_dir, "2023-01-01", new_day)
    files = sorted(calls_dir.glob("*.csv"))
    assert second_day == "2025-07-02"
    assert [f.name for f in files] == ["APD_911_Calls_for_Service_2023-01-01_2025-07-02.csv"]
    after = read_apd_calls(files[0])
    assert len(after) == len(before) + added + more
    columns = [c for c in before.columns if not c.startswith("source_")]
    assert after.head(len(before))[columns].equals(before[columns])
