"""The raw-month sensor's runs: consecutive changed months, never longer than a backfill of the
monthly assets may be (a step holds at most a year of calls, whatever the history)."""

from safebeat_assets.defs.conventions import BOUNDED_RUNS, MONTHS_PER_RUN
from safebeat_assets.defs.partitions import monthly_partitions
from safebeat_assets.defs.sensors.raw_months import month_spans

MONTHLY = monthly_partitions("1996-01-01")


def keys(first: str, count: int) -> list[str]:
    all_keys = MONTHLY.get_partition_keys()
    start = all_keys.index(first)
    return all_keys[start : start + count]


def test_gaps_split_runs():
    months = keys("2024-01-01", 3) + keys("2024-06-01", 2)
    assert month_spans(MONTHLY, months) == [
        ("2024-01-01", "2024-03-01"),
        ("2024-06-01", "2024-07-01"),
    ]


def test_thirty_years_become_year_long_runs():
    months = keys("1996-01-01", 360)
    spans = month_spans(MONTHLY, months)
    assert len(spans) == 30 and spans[0] == ("1996-01-01", "1996-12-01")
    assert spans[-1] == ("2025-01-01", "2025-12-01")
    covered = [k for first, last in spans for k in months if first <= k <= last]
    assert covered == months  # every month once, in order
    assert BOUNDED_RUNS.max_partitions_per_run == MONTHS_PER_RUN == 12


def test_a_long_span_after_a_gap_is_still_bounded():
    months = keys("2020-01-01", 1) + keys("2020-03-01", 14)
    assert month_spans(MONTHLY, months, max_months=12) == [
        ("2020-01-01", "2020-01-01"),
        ("2020-03-01", "2021-02-01"),
        ("2021-03-01", "2021-04-01"),
    ]
