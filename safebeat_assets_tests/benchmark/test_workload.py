"""The benchmark's "one more day" edit of an APD export."""

import shutil

import pandas as pd

from safebeat_assets.benchmark.workload import append_next_day
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
