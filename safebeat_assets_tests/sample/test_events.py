"""Synthetic ACE special-event permits: grain, formats, messy values, schedule."""

import pandas as pd
import pytest

from safebeat_assets.sample import event_schedule, generate_block_groups, generate_events
from safebeat_assets.sample.vocabulary import EVENTS_HEADER

START, END = "2023-01-01", "2025-12-31"
FORMATS = {
    "short": r"[A-Z][a-z]{2} \d{2}, \d{4}",
    "long": r"[A-Z][a-z]+ \d{2}, \d{4} \d{2}:\d{2}",
    "iso": r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.000",
}


@pytest.fixture(scope="module")
def block_groups():
    return generate_block_groups(42)


@pytest.fixture(scope="module")
def events(block_groups) -> pd.DataFrame:
    return generate_events(block_groups, 42, START, END)


def test_headers_and_text(events):
    assert list(events.columns) == list(EVENTS_HEADER)
    for col in events.columns:
        assert events[col].map(type).eq(str).all(), col


def test_permit_grain(events):
    per_permit = events.groupby("FOLDERRSN").size()
    assert 500 <= len(per_permit) <= 700  # ~200 per year over three years (+ a few older)
    assert per_permit.max() > 1 and per_permit.max() <= 12 and per_permit.min() >= 1
    assert events["FOLDERRSN"].str.fullmatch(r"\d{7}").all()
    assert events.groupby("FOLDERRSN")["FOLDERNAME"].nunique().max() == 1


def test_values(events):
    assert set(events["TIER_TYPE"]) == {"3", "4"}
    status = events["STATUS"].value_counts(normalize=True)
    assert status[["Active", "Approved"]].sum() > 0.8 and len(status) > 2
    for col in ("ALCOHOL_SERVED", "AMPLIFIED_SOUND"):
        assert set(events[col]) == {"Yes", "No", ""}
    closures = events["ROAD_CLOSURE"]
    assert (closures == "").any() and (closures != "").mean() > 0.7
    full = events["TYPE_OF_ROAD_CLOSURE"].str.contains("Full Road")
    assert full.any() and (events.loc[closures == "", "TYPE_OF_ROAD_CLOSURE"] == "").all()
    names = " | ".join(events["FOLDERNAME"].unique())
    for needle in (
        "Austin City Limits Music Festival",
        "SXSW",
        "Pecan Street Festival",
        "5K",
        "Parade",
        "Block Party",
    ):
        assert needle in names, needle


def test_three_date_formats_and_a_few_unparseable(events):
    dates = pd.concat([events["START_DATE"], events["END_DATE"]])
    matched = pd.Series(False, index=dates.index)
    for pattern in FORMATS.values():
        hit = dates.str.fullmatch(pattern)
        assert hit.any(), pattern
        matched |= hit
    unparseable = (~matched).sum()
    assert 1 <= unparseable <= len(dates) * 0.01


def test_gps_text_with_gaps_and_outliers(events):
    lat = pd.to_numeric(events["GPSLATITUDE"], errors="coerce")
    lon = pd.to_numeric(events["GPSLONGITUDE"], errors="coerce")
    assert (events["GPSLATITUDE"] == "").any()
    in_box = lat.between(29, 32) & lon.between(-99, -96)
    assert (lat.notna() & ~in_box).sum() >= 2  # zeros / swapped coordinates
    assert in_box.mean() > 0.85
    downtown = in_box & (lat - 30.267).abs().lt(0.02) & (lon + 97.743).abs().lt(0.025)
    assert downtown.mean() > 0.25


def test_schedule_one_row_per_active_permit(events):
    sched = event_schedule(events)
    assert sched["event_id"].is_unique
    assert (sched["end_date"] >= sched["start_date"]).all()
    assert sched["lat"].between(29, 32).all() and sched["lon"].between(-99, -96).all()
    assert ((sched["end_date"] - sched["start_date"]).dt.days >= 2).any()  # multi-day festivals
    assert sched["has_alcohol"].any() and not sched["has_alcohol"].all()
    assert len(sched) < events["FOLDERRSN"].nunique()


def test_deterministic(block_groups, events):
    again = generate_events(block_groups, 42, START, END)
    assert events.equals(again)
    other = generate_events(block_groups, 43, START, END)
    assert not events.equals(other)
