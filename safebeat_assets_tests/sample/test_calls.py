"""Synthetic APD 911 calls: exact text formats, value sets, shares, invariants, rhythm."""

import numpy as np
import pandas as pd
import pytest

from safebeat_assets.sample import (
    event_schedule,
    generate_block_groups,
    generate_calls,
    generate_events,
)
from safebeat_assets.sample.geography import haversine_km
from safebeat_assets.sample.vocabulary import (
    CALLS_HEADER_25,
    CATEGORIES,
    DESCRIPTIONS,
    PRIORITY_SHARES,
    SECTOR_SHARES,
)

N = 40_000
START, END = "2024-01-01", "2024-12-31"
DATETIME_RE = r"\d{4} (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{2} (0[1-9]|1[0-2]):[0-5]\d:[0-5]\d (AM|PM)"
APD_FORMAT = "%Y %b %d %I:%M:%S %p"


@pytest.fixture(scope="module")
def block_groups():
    return generate_block_groups(11)


@pytest.fixture(scope="module")
def events(block_groups):
    return generate_events(block_groups, 11, START, END)


@pytest.fixture(scope="module")
def calls(block_groups, events) -> pd.DataFrame:
    return generate_calls(N, block_groups, events, 11, START, END)


@pytest.fixture(scope="module")
def times(calls) -> dict[str, pd.Series]:
    return {
        "response": pd.to_datetime(calls["Response Datetime"], format=APD_FORMAT),
        "arrived": pd.to_datetime(calls["First Unit Arrived Datetime"], format=APD_FORMAT),
        "closed": pd.to_datetime(calls["Call Closed Datetime"], format=APD_FORMAT),
    }


def _seconds(text: pd.Series) -> pd.Series:
    return text.str.replace(",", "", regex=False).astype(np.int64)


def test_shape_columns_and_text(calls):
    assert len(calls) == N
    assert list(calls.columns) == list(CALLS_HEADER_25)
    for col in calls.columns:
        assert calls[col].map(type).eq(str).all(), col
    assert (calls["Incident Type"] == "Dispatched Incident").all()


def test_datetime_formats_and_derived_parts(calls, times):
    for col in ("Response Datetime", "First Unit Arrived Datetime", "Call Closed Datetime"):
        assert calls[col].str.fullmatch(DATETIME_RE).all(), col
    rd = times["response"]
    assert rd.is_monotonic_increasing
    assert rd.min() >= pd.Timestamp(START) and rd.max() < pd.Timestamp(END) + pd.Timedelta(days=1)
    assert (calls["Response Hour"].astype(int) == rd.dt.hour).all()
    assert (calls["Response Day of Week"] == rd.dt.strftime("%a")).all()


def test_no_spring_forward_times(times):
    rd = times["response"]
    dst_start = pd.Timestamp("2024-03-10")
    assert not ((rd.dt.normalize() == dst_start) & (rd.dt.hour == 2)).any()


def test_incident_numbers(calls, times):
    inc = calls["Incident Number"]
    assert inc.str.fullmatch(r"\d{9}").all()
    rd = times["response"]
    prefix = rd.dt.strftime("%y") + rd.dt.dayofyear.astype(str).str.zfill(3)
    assert (inc.str[:5] == prefix).all()
    # a handful of numbers shared by different calls (different times), plus exact duplicates
    key = pd.DataFrame({"inc": inc, "rd": calls["Response Datetime"]}).drop_duplicates()
    reused = key["inc"].duplicated(keep=False)
    assert key.loc[reused, "inc"].nunique() >= 1
    assert calls.duplicated().sum() >= 2
    assert inc.duplicated().sum() <= max(10, N * 1e-4)


def test_thousands_separators(calls):
    for col in ("Response Time", "Unit Time on Scene"):
        text = calls[col]
        assert text.str.fullmatch(r"\d{1,3}(,\d{3})*").all(), col
        big = _seconds(text) >= 1000
        assert big.any()
        assert text[big].str.contains(",").all()
        assert not text[~big].str.contains(",").any()


def test_priority_shares(calls):
    shares = calls["Priority Level"].value_counts(normalize=True)
    for level, target in zip(
        ["Priority 0", "Priority 1", "Priority 2", "Priority 3"], PRIORITY_SHARES, strict=True
    ):
        assert shares[level] == pytest.approx(target, abs=0.02)
    assert set(shares.index) == {"Priority 0", "Priority 1", "Priority 2", "Priority 3"}


def test_sector_shares_and_location_consistency(calls):
    shares = calls["Sector"].value_counts(normalize=True)
    assert set(shares.index) == set(SECTOR_SHARES)
    for sector, target in SECTOR_SHARES.items():
        assert shares[sector] == pytest.approx(target, abs=0.015), sector
    with_geo = calls[calls["Geo ID"] != ""]
    assert with_geo.groupby("Geo ID")["Sector"].nunique().max() == 1
    assert with_geo.groupby("Geo ID")["Council District"].nunique().max() == 1
    assert set(calls["Council District"].astype(int)) <= set(range(11))


def test_categories_and_descriptions(calls):
    for kind in ("Initial", "Final"):
        cats = calls[f"{kind} Problem Category"]
        assert set(cats) <= set(CATEGORIES)
        desc = calls[f"{kind} Problem Description"]
        assert desc.str.len().max() <= 30
    assert calls["Final Problem Category"].value_counts().index[0] == "Disturbance"
    assert calls["Initial Problem Category"].value_counts().index[0] == "Disturbance"
    same = (calls["Initial Problem Category"] == calls["Final Problem Category"]).mean()
    assert 0.75 <= same <= 0.9
    desc_to_cat = {d: c for c, items in DESCRIPTIONS.items() for d, _, _ in items}
    known = calls["Final Problem Description"].map(desc_to_cat)
    ok = known.isna() | (known == calls["Final Problem Category"])  # airport-only labels
    assert ok.all()
    assert calls["Initial Problem Description"].str.contains("  ").any()  # raw double spaces


def test_flags_and_dispositions(calls):
    mh = (calls["Mental Health Flag"] == "Mental Health Incident").mean()
    assert mh == pytest.approx(0.115, abs=0.015)
    assert set(calls["Mental Health Flag"]) == {
        "Mental Health Incident",
        "Not Mental Health Incident",
    }
    flags = calls["Report Written Flag"].value_counts()
    assert set(flags.index) == {"0", "1", "Yes", "No"}
    assert flags[["0", "1"]].sum() > flags[["Yes", "No"]].sum()
    report = calls["Report Written Flag"].isin(["1", "Yes"])
    disp = calls["Call Disposition Description"]
    assert report.eq(disp.isin(["Report Written", "Supplement Written", "Report Written MH"])).all()
    top = disp.value_counts(normalize=True)
    assert top.index[0] == "No Report" and top.index[1] == "Report Written"
    assert (disp[calls["Final Problem Category"] == "Alarms"] == "False Alarm").mean() > 0.3


def test_durations_and_invariants(calls, times):
    rt = _seconds(calls["Response Time"])
    q = rt.quantile([0.25, 0.5, 0.75, 0.9])
    assert 300 <= q[0.25] <= 600 and 700 <= q[0.5] <= 1200
    assert 2200 <= q[0.75] <= 4000 and 6000 <= q[0.9] <= 12000
    computed = (times["arrived"] - times["response"]).dt.total_seconds()
    delta = computed - rt
    assert delta.median() == pytest.approx(-57, abs=20)
    assert (delta <= 0).mean() > 0.99
    assert (times["arrived"] >= times["response"]).mean() > 0.998
    scene = (times["closed"] - times["arrived"]).dt.total_seconds()
    on_scene = _seconds(calls["Unit Time on Scene"])
    assert (on_scene >= scene).all()
    single = calls["Number of Units Arrived"] == "1"
    assert (on_scene[single] == scene[single]).all()
    assert 1500 <= on_scene.median() <= 4500
    units = calls["Number of Units Arrived"].astype(int)
    assert units.min() >= 1 and units.median() == 2 and 1.7 <= units.mean() <= 2.2
    for col in (
        "Officer Injured/Killed Count",
        "Subject Injured/Killed Count",
        "Other Injured/Killed Count",
    ):
        assert (calls[col] == "0").mean() > 0.999


def test_geo_ids(calls, block_groups):
    geo = calls["Geo ID"]
    blank = geo == ""
    assert blank.mean() == pytest.approx(0.01, abs=0.004)
    floaty = geo.str.fullmatch(r"48\d{10}\.0")
    assert floaty.sum() >= 1
    plain = geo.str.fullmatch(r"48\d{10}")
    assert (blank | floaty | plain).all()
    known = set(block_groups["GEOID"])
    unmatched = plain & ~geo.isin(known)
    assert unmatched.mean() == pytest.approx(0.003, abs=0.0015)
    assert (calls["Census Block Group"] == geo.str[2:]).all()
    county = geo[plain].str[2:5].value_counts(normalize=True)
    assert county["453"] == pytest.approx(0.93, abs=0.02)
    assert county["491"] == pytest.approx(0.04, abs=0.01)
    assert county["209"] == pytest.approx(0.02, abs=0.01)


def test_day_of_week_rhythm(block_groups):
    # three years, so that the small weekday differences stand out of the daily noise
    three_years = generate_calls(120_000, block_groups, None, 11, "2023-01-01", "2025-12-31")
    rd = pd.to_datetime(three_years["Response Datetime"], format=APD_FORMAT)
    dow = rd.dt.dayofweek.value_counts(normalize=True)
    assert dow.idxmax() == 4  # Friday busiest
    assert dow.idxmin() == 1  # Tuesday quietest
    assert dow[[5, 6]].sum() == pytest.approx(0.292, abs=0.01)
    per_day = rd.dt.normalize().value_counts()
    assert per_day.mean() == pytest.approx(120_000 / 1096, rel=1e-6)
    by_year = rd.dt.year.value_counts().sort_index()
    assert by_year[2025] > by_year[2023]  # slight upward trend


def test_time_of_day_and_season(times):
    rd = times["response"]
    bucket = pd.cut(
        rd.dt.hour, [-1, 5, 11, 17, 23], labels=["Night", "Morning", "Afternoon", "Evening"]
    )
    tod = bucket.value_counts(normalize=True)
    assert tod["Evening"] == pytest.approx(0.301, abs=0.02)
    assert tod["Afternoon"] == pytest.approx(0.296, abs=0.02)
    assert tod["Morning"] == pytest.approx(0.232, abs=0.02)
    assert tod["Night"] == pytest.approx(0.171, abs=0.02)
    month = rd.dt.month.value_counts()
    assert month[[6, 7, 8]].mean() > month[[1, 2, 12]].mean()


def test_calls_rise_near_running_events(calls, events, block_groups, times):
    sched = event_schedule(events)
    lat = block_groups["INTPTLAT"].astype(float).to_numpy()
    lon = block_groups["INTPTLON"].astype(float).to_numpy()
    days = pd.date_range(START, END, freq="D")
    counts = pd.crosstab(calls["Geo ID"], times["response"].dt.normalize())
    matrix = counts.reindex(index=block_groups["GEOID"], columns=days, fill_value=0).to_numpy()
    on, off = 0.0, 0.0
    for ev in sched.itertuples():
        near = haversine_km(lat, lon, ev.lat, ev.lon) <= 1.5
        active = (days >= ev.start_date) & (days <= ev.end_date)
        if not near.any() or not active.any() or active.all():
            continue
        series = matrix[near].sum(axis=0)
        on += series[active].mean() * active.sum()
        off += series[~active].mean() * active.sum()
    assert off > 0
    assert on / off > 1.1


def test_deterministic_by_seed(block_groups, events):
    a = generate_calls(3_000, block_groups, events, 5, START, END)
    b = generate_calls(3_000, block_groups, events, 5, START, END)
    c = generate_calls(3_000, block_groups, events, 6, START, END)
    assert a.equals(b)
    assert not a.equals(c)


def test_tiny_samples_and_no_events(block_groups):
    one = generate_calls(1, block_groups, None, 1, "2025-03-01", "2025-03-01")
    assert len(one) == 1
    few = generate_calls(50, block_groups, None, 1, "2025-03-01", "2025-03-10")
    assert len(few) == 50
    with pytest.raises(ValueError):
        generate_calls(0, block_groups, None, 1, "2025-03-01", "2025-03-10")
