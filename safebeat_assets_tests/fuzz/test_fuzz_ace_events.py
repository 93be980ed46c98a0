"""Fuzzing the ACE permits reader and cleaner: every malformed export ends as events plus
counted quarantined rows (every segment row accounted for), or as a DataError naming the file;
the events would load into dim_event."""

from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import given

from safebeat_assets.errors import DataError
from safebeat_assets.sample import generate_sample
from safebeat_assets.sources import read_ace_events
from safebeat_assets.storage.tables import DIM_EVENT
from safebeat_assets.transform import to_dim_event
from safebeat_assets.transform.events import REJECT_REASONS, EventRules, clean_events
from safebeat_assets.transform.validation import EVENT_TIER_RANGE, Area
from safebeat_assets_tests.fuzz.harness import (
    BaseTable,
    Tally,
    check_table_case_error,
    check_warehouse_fit,
    must_fail,
    read_base_table,
    table_cases,
    within,
)

RULES = EventRules(
    start=pd.Timestamp("1990-01-01"),
    end=pd.Timestamp("2031-01-01"),
    county_fips=("453", "209", "491"),
)


@pytest.fixture(scope="module")
def bases(tmp_path_factory) -> tuple[BaseTable, ...]:
    folder = tmp_path_factory.mktemp("ace")
    paths = generate_sample(folder, n_calls=200, seed=23, start="2024-01-01", end="2024-06-30")
    return (read_base_table(paths.events),)


def check(path, case, tally: Tally) -> str:
    try:
        raw = read_ace_events(path)
        result = clean_events(raw, RULES)
    except DataError as exc:
        check_table_case_error(exc, case, path)
        return tally.error(exc)
    assert not must_fail(case), f"read a CSV with broken rows {case.broken_rows()}"
    stats = result.stats
    if case.countable:
        assert len(raw) == case.expected_rows(), (len(raw), case.expected_rows())
    assert stats["rows_in"] == len(raw) == stats["segments"] + stats["rows_quarantined"]
    assert len(result.quarantined) == stats["rows_quarantined"]
    assert set(result.quarantined["reject_reason"]) <= set(REJECT_REASONS)
    events = result.events
    assert stats["segments"] == int(events["closure_segments"].sum())
    for column in ("start_date", "end_date"):
        dates = events[column].dropna()
        assert ((dates >= RULES.start) & (dates <= RULES.end)).all(), column
    assert within(events["tier"], *EVENT_TIER_RANGE)
    assert within(events["event_length_days"], 1, 10**6)
    located = events["event_lat"].notna()
    area = Area.of_counties(RULES.county_fips)
    assert area.contains(events["event_lat"][located], events["event_lon"][located]).all()
    check_warehouse_fit(DIM_EVENT, to_dim_event(events))
    tally.rows["rows_in"] += stats["rows_in"]
    tally.rows["rows_quarantined"] += stats["rows_quarantined"]
    tally.rows["events"] += len(events)
    return "quarantined" if stats["rows_quarantined"] else "clean"


def test_ace_reader_and_cleaner_survive_malformed_exports(bases, tmp_path_factory, fuzz_summary):
    work = tmp_path_factory.mktemp("fuzz-ace")
    tally = Tally("ace_events")
    number = iter(range(10**9))

    @given(case=table_cases(bases))
    def run(case):
        path = case.write(work / f"ace_{next(number)}{case.suffix}")
        try:
            tally.run(lambda: check(path, case, tally))
        finally:
            path.unlink(missing_ok=True)

    try:
        run()
    finally:
        fuzz_summary["ace_events"] = tally.summary()
    assert tally.outcomes["unexpected"] == 0
