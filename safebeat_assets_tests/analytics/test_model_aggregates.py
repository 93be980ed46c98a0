"""The models fitted from the per-month aggregates give exactly what they give fitted on every
call: each model is computed both ways on one generated calls frame spanning several months
(the old all-calls function vs the aggregates built month by month, concatenated, then fitted),
and the outputs are compared (exactly; supports and metrics to 1e-12)."""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pandas as pd
import pandas.testing as pdt
import pytest

from safebeat_assets.analytics.event_day_aggregates import (
    BASELINE_COUNT_COLUMNS,
    HOUR_COLUMNS,
    baseline_event_days,
    baseline_rates_from_counts,
    event_day_cells,
    ordinary_day_counts,
)
from safebeat_assets.analytics.event_impact import (
    CALL_CELL_COLUMNS,
    CALL_MIX_COLUMNS,
    MIN_VALUES_FOR_LINKED_MEAN,
    baseline_rates,
    baseline_rates_from_cells,
    call_cells,
    call_mix,
    cells_history_range,
    event_geo_days,
    fit_event_impact,
    fit_event_impact_from_aggregates,
    fit_event_impact_from_cells,
    history_range,
)
from safebeat_assets.analytics.event_impact import (
    DAYS as DAYS_PER_WEEK,
)
from safebeat_assets.analytics.forecast import (
    calls_per_day,
    daily_call_counts,
    daily_series,
    forecast_daily_calls,
    forecast_from_day_counts,
)
from safebeat_assets.analytics.hot_spots import (
    HOUR_BANDS,
    WINDOW_DEFINITIONS,
    band_of_hour,
    build_contiguity_weights,
    hot_spot_counts,
    hot_spots,
    hot_spots_from_counts,
    hot_spots_from_month_table,
)
from safebeat_assets.analytics.rules import (
    MIN_ITEMS_PER_TRANSACTION,
    build_transactions,
    mine_association_rules,
    mine_rules_from_transactions,
    rule_transactions,
)
from safebeat_assets.analytics.zones import (
    block_group_sums,
    cluster_zones,
    cluster_zones_from_sums,
)
from safebeat_assets.defs.checks.pre_checks import (
    days_with_calls,
    located_calls,
    transaction_calls,
)
from safebeat_assets.transform.linkage import link_calls_to_events
from safebeat_assets.transform.months import month_key_of
from safebeat_assets_tests.analytics.test_hot_spots import grid
from safebeat_assets_tests.synthetic_events import History, synthetic_history

CATEGORIES = [
    "Auto Theft",
    "Burglary Residence",
    "Disturbance Vocal",
    "Traffic Hazard",
    "Welfare Check",
    "Suspicious Person",
    "Theft",
    None,
]
START = pd.Timestamp("2024-01-01", tz="America/Chicago")
DAYS = 200  # seven months


def make_calls(n: int = 30_000, seed: int = 7) -> pd.DataFrame:
    """Calls shaped like the models' columns of enriched_911_calls over seven months, with the
    awkward values the models handle: unknown priority, the sentinel 9, no response time,
    unmatched block groups, blank categories, planted patterns (so rules exist) and a
    weekly rhythm (so the forecast fits)."""
    rng = np.random.default_rng(seed)
    geo = grid(8)
    day = np.sort(rng.integers(0, DAYS, n))
    second = rng.integers(0, 86_400, n)
    local = START + pd.to_timedelta(day, unit="D") + pd.to_timedelta(second, unit="s")
    weekday_boost = rng.random(n) < 0.15 * (pd.DatetimeIndex(local).dayofweek.to_numpy() >= 5)
    keep = ~weekday_boost | (rng.random(n) < 0.5)
    local = local[keep]
    n = len(local)
    hour = pd.DatetimeIndex(local).hour.to_numpy()
    dow = pd.DatetimeIndex(local).dayofweek.to_numpy()
    priority = rng.choice([0, 1, 2, 3], n).astype(object)
    priority[rng.random(n) < 0.05] = None
    priority[rng.random(n) < 0.01] = 9
    category = rng.choice(np.array(CATEGORIES, dtype=object), n)
    auto = rng.random(n) < 0.2
    category[auto] = "Auto Theft"
    priority[auto] = 3
    # A hot corner: many calls in the first block groups.
    cell = np.where(rng.random(n) < 0.3, rng.integers(0, 6, n), rng.integers(0, len(geo), n))
    geo_id = geo["geo_id"].to_numpy(dtype=object)[cell]
    lat = geo["latitude_centroid"].to_numpy()[cell]
    lon = geo["longitude_centroid"].to_numpy()[cell]
    unmatched = rng.random(n) < 0.03
    geo_id[unmatched] = None
    lat = np.where(unmatched, np.nan, lat)
    lon = np.where(unmatched, np.nan, lon)
    response = rng.integers(60, 3_000, n).astype(object)
    response[rng.random(n) < 0.04] = None
    return pd.DataFrame(
        {
            "incident_number": np.arange(n, dtype="int64") + 240_000_000,
            "response_datetime": local.tz_convert("UTC"),
            "response_date": pd.DatetimeIndex(local).tz_localize(None).normalize(),
            "response_hour": hour.astype("int64"),
            "is_weekend": dow >= 5,
            "priority_numeric": pd.array(priority, dtype="Int64"),
            "final_problem_category": category,
            "response_time": pd.array(response, dtype="Int64"),
            "geo_id": geo_id,
            "latitude_centroid": lat,
            "longitude_centroid": lon,
        }
    )


def make_links(calls: pd.DataFrame, seed: int = 3) -> pd.DataFrame:
    """fact_event_incidents rows: some calls linked to one event or two (alcohol or not)."""
    rng = np.random.default_rng(seed)
    linked = calls.sample(frac=0.08, random_state=seed)
    twice = linked.sample(frac=0.3, random_state=seed + 1)
    links = pd.concat([linked, twice])
    return pd.DataFrame(
        {
            "incident_number": links["incident_number"].to_numpy(),
            "response_datetime": links["response_datetime"].to_numpy(),
            "event_has_alcohol": rng.random(len(links)) < 0.4,
        }
    )


def months_of(calls: pd.DataFrame) -> pd.Series:
    return month_key_of(calls["response_date"])


def by_month(calls: pd.DataFrame, aggregate, *args) -> pd.DataFrame:
    """The aggregate built one month at a time (as the monthly asset does), then read back as
    the models read every month: concatenated, without the month."""
    months = months_of(calls)
    assert months.nunique() >= 6
    frames = [aggregate(calls[months == month], *args) for month in sorted(months.unique())]
    return pd.concat(frames, ignore_index=True)


@pytest.fixture(scope="module")
def calls() -> pd.DataFrame:
    return make_calls()


@pytest.fixture(scope="module")
def links(calls) -> pd.DataFrame:
    return make_links(calls)


# --- rules ----------------------------------------------------------------------------------


def test_rules_from_monthly_transactions_equal_rules_from_every_call(calls, links):
    expected = mine_association_rules(calls, links)

    def month_table(month_calls):
        month_links = links.merge(month_calls[["incident_number"]], on="incident_number")
        return rule_transactions(month_calls, month_links)

    transactions = by_month(calls, month_table)
    actual = mine_rules_from_transactions(transactions)

    assert len(expected.rules) > 10 and expected.rules["is_incident_rule"].any()
    pdt.assert_frame_equal(actual.rules, expected.rules, check_exact=False, rtol=0, atol=1e-12)
    assert actual.stats.pop("distinct_transactions") <= expected.stats.pop("distinct_transactions")
    assert actual.stats == expected.stats
    # The table is small: distinct combinations, not calls; every call is counted once.
    assert transaction_calls(transactions) == len(calls)
    assert len(transactions) < len(calls) / 5


def test_rule_transactions_keep_short_transactions_and_the_month(calls, links):
    calls = calls.copy()
    calls["is_weekend"] = calls["is_weekend"].astype("boolean")
    calls.loc[calls.index[:300], ["is_weekend", "response_hour"]] = [pd.NA, 99]
    calls.loc[calls.index[:150], "final_problem_category"] = None
    table = rule_transactions(calls, links, by=months_of(calls))
    assert list(table.columns[:1]) == ["by"]
    assert table.groupby("by")["calls"].sum().to_dict() == months_of(calls).value_counts().to_dict()
    onehot = build_transactions(calls, links)
    assert len(onehot) < len(calls)  # calls with < 2 items are in the table, not mined
    items = table[["time", "week", "priority", "incident"]].notna().sum(axis=1)
    items += table["festival"].astype(int) + table["alcohol"].astype(int)
    assert table.loc[items >= MIN_ITEMS_PER_TRANSACTION, "calls"].sum() == len(onehot)


def test_rules_retry_and_no_links_from_transactions(calls):
    sample = calls.head(3_000)
    expected = mine_association_rules(sample, None, min_support=0.9)
    actual = mine_rules_from_transactions(rule_transactions(sample), min_support=0.9)
    pdt.assert_frame_equal(actual.rules, expected.rules)
    assert actual.stats["min_support_used"] == expected.stats["min_support_used"]


# --- forecast -------------------------------------------------------------------------------


def reference_daily_call_counts(calls: pd.DataFrame) -> pd.Series:
    """daily_call_counts as it was before the aggregates (saved reference)."""
    dates = pd.to_datetime(calls["response_date"])
    counts = dates.dt.normalize().value_counts().sort_index()
    full = pd.date_range(counts.index.min(), counts.index.max(), freq="D", name="date")
    return counts.reindex(full, fill_value=0).astype("float64")


def test_daily_series_from_monthly_counts_equals_counting_every_call(calls):
    # A gap day without calls stays a zero day in both.
    gappy = calls[calls["response_date"] != pd.Timestamp("2024-03-01")]
    reference = reference_daily_call_counts(gappy)
    series = daily_series(by_month(gappy, calls_per_day))
    pdt.assert_series_equal(series, reference, check_names=False)
    pdt.assert_series_equal(daily_call_counts(gappy), reference, check_names=False)
    assert series.loc["2024-03-01"] == 0


def test_forecast_from_monthly_counts_equals_forecast_from_every_call(calls):
    expected = forecast_daily_calls(calls, horizon_days=14)
    actual = forecast_from_day_counts(by_month(calls, calls_per_day), horizon_days=14)
    assert not expected.stats["is_fallback"]
    pdt.assert_frame_equal(actual.forecast, expected.forecast, check_exact=True)
    assert actual.stats == expected.stats


def test_calls_per_day_is_one_row_per_day(calls):
    table = calls_per_day(calls)
    assert list(table.columns) == ["date", "calls"]
    assert table["calls"].sum() == len(calls)
    assert len(table) == calls["response_date"].nunique() == days_with_calls(table)


# --- zones ----------------------------------------------------------------------------------


def test_zones_from_monthly_sums_equal_zones_from_every_call(calls):
    expected = cluster_zones(calls)
    sums = by_month(calls, block_group_sums)
    actual = cluster_zones_from_sums(sums)
    assert expected.stats["chosen_k"] >= 3
    pdt.assert_frame_equal(actual.zones, expected.zones, check_exact=True)
    pdt.assert_frame_equal(actual.centroids, expected.centroids, check_exact=True)
    assert actual.stats == expected.stats
    located = calls["geo_id"].notna() & calls["latitude_centroid"].notna()
    assert located_calls(sums) == int(located.sum())


def test_zones_from_sums_keep_unknown_averages_unknown(calls):
    sample = calls.head(2_000).copy()
    first = sample["geo_id"].dropna().iloc[0]
    sample.loc[sample["geo_id"] == first, ["priority_numeric", "response_time"]] = pd.NA
    expected, actual = cluster_zones(sample), cluster_zones_from_sums(block_group_sums(sample))
    pdt.assert_frame_equal(actual.zones, expected.zones, check_exact=True)
    assert actual.zones.loc[actual.zones["geo_id"] == first, "avg_priority"].isna().all()


def test_zones_of_nothing():
    empty = make_calls(50).iloc[0:0]
    assert cluster_zones_from_sums(block_group_sums(empty)).stats["chosen_k"] == 0


# --- hot spots ------------------------------------------------------------------------------


def test_hour_bands_cover_every_window():
    assert HOUR_BANDS == (0, 6, 12, 18)
    bands = band_of_hour(pd.Series(range(24)))
    for window in WINDOW_DEFINITIONS:
        in_window = {hour for hour in range(24) if bands[hour] in window.hours}
        assert in_window == set(window.hours), window.name
    assert band_of_hour(pd.Series([-1, 24, None], dtype="float64")).isna().all()


def test_hot_spots_from_monthly_counts_equal_hot_spots_from_every_call(calls):
    geo = grid(8)
    weights = build_contiguity_weights(geo)
    odd = calls.copy()
    odd.loc[odd.index[:40], "geo_id"] = "480000000000"  # not a block group of dim_geo
    odd.loc[odd.index[40:60], "response_hour"] = 31  # no usable hour
    odd.loc[odd.index[100:125], "final_problem_category"] = "Rare Thing"  # too few for a map
    expected = hot_spots(odd, geo, weights=weights)
    counts = by_month(odd, hot_spot_counts)
    actual = hot_spots_from_counts(counts, geo, weights=weights)
    assert expected.stats["maps_computed"] > 10 and expected.stats["maps_skipped"] > 0
    pdt.assert_frame_equal(actual.table, expected.table, check_exact=True)
    assert actual.stats == expected.stats
    assert counts["calls"].sum() == len(odd)
    assert len(counts) < len(odd)


def test_hot_spots_from_the_months_as_one_arrow_table_equal_hot_spots_from_every_call(calls):
    import pyarrow as pa

    geo = grid(8)
    weights = build_contiguity_weights(geo)
    odd = calls.copy()
    odd.loc[odd.index[:40], "geo_id"] = None  # no block group: a NULL key of its own
    odd.loc[odd.index[40:60], "response_hour"] = None  # no hour band
    expected = hot_spots(odd, geo, weights=weights)
    months = months_of(odd)
    tables = [
        pa.Table.from_pandas(hot_spot_counts(odd[months == month]), preserve_index=False)
        for month in sorted(months.unique())
    ]
    # As the lake reads them: one table, months after each other (keys repeat across months).
    actual = hot_spots_from_month_table(pa.concat_tables(tables), geo, weights=weights)
    pdt.assert_frame_equal(actual.table, expected.table, check_exact=True)
    assert actual.stats == expected.stats
    assert actual.stats["calls_without_block_group"] >= 40
    assert actual.stats["calls_without_hour_or_weekday"] > 0


def test_summed_per_key_is_the_sorted_groupby_sum_with_missing_keys_last():
    import pyarrow as pa

    from safebeat_assets.analytics.counting import summed_per_key

    frame = pd.DataFrame(
        {
            "text": pd.Series(["b", None, "a", "b", None, "a", "b"], dtype=object),
            "number": pd.array([2, 1, pd.NA, 2, 1, pd.NA, 3], dtype="Int64"),
            "flag": pd.array([True, pd.NA, False, True, pd.NA, False, False], dtype="boolean"),
            "calls": np.array([1, 2, 3, 4, 5, 6, 7], dtype="int64"),
        }
    )
    keys = ["text", "number", "flag"]
    expected = frame.groupby(keys, dropna=False, sort=True)["calls"].sum()
    table = summed_per_key(pa.Table.from_pandas(frame, preserve_index=False), keys, "calls")
    assert list(table.columns) == [*keys, "calls"]
    assert table["calls"].tolist() == expected.tolist() == [9, 5, 7, 7]
    assert table["text"].tolist() == ["a", "b", "b", None]
    # A month stored from an empty frame has null-typed columns: no rows, no error.
    empty = pa.table(
        {
            "text": pa.nulls(0),
            "number": pa.nulls(0),
            "flag": pa.nulls(0),
            "calls": pa.array([], pa.int64()),
        }
    )
    assert summed_per_key(empty, keys, "calls").empty


def test_count_rows_is_the_sorted_groupby_size_with_missing_values_last():
    from safebeat_assets.analytics.counting import count_rows

    frame = pd.DataFrame(
        {
            "text": pd.Series(["b", None, "a", "b", None, "a", "b"], dtype=object),
            "number": pd.array([2, 1, pd.NA, 2, 1, pd.NA, 3], dtype="Int64"),
            "flag": pd.array([True, pd.NA, False, True, pd.NA, False, False], dtype="boolean"),
            "plain": np.array([True, False, True, True, False, True, False]),
        }
    )
    expected = frame.groupby(list(frame.columns), dropna=False, sort=True).size()
    table = count_rows(frame)
    assert table["calls"].tolist() == expected.tolist() == [2, 2, 1, 2]
    assert table.drop(columns="calls").dtypes.to_dict() == frame.dtypes.to_dict()
    assert table["text"].tolist() == ["a", "b", "b", None]
    assert table["number"].isna().tolist() == [True, False, False, False]
    assert count_rows(frame.iloc[:0])["calls"].tolist() == []


# --- event impact ---------------------------------------------------------------------------

RADIUS_KM = 1.5


@pytest.fixture(scope="module")
def event_history() -> History:
    """The synthetic event history (a year, a planted event effect) with the awkward calls:
    unmatched ones, unknown or sentinel priorities, no category, no unit time or units."""
    history = synthetic_history()
    calls = history.calls.copy()
    rng = np.random.default_rng(11)
    n = len(calls)
    unmatched = rng.random(n) < 0.03
    calls.loc[unmatched, "geo_id"] = None
    calls.loc[unmatched, ["latitude_centroid", "longitude_centroid"]] = np.nan
    calls["final_problem_category"] = calls["final_problem_category"].astype(object)
    calls.loc[rng.random(n) < 0.02, "final_problem_category"] = None
    calls.loc[rng.random(n) < 0.03, "priority_numeric"] = pd.NA
    calls.loc[rng.random(n) < 0.01, "priority_numeric"] = 9
    calls.loc[rng.random(n) < 0.05, "unit_time_on_scene"] = pd.NA
    calls.loc[rng.random(n) < 0.05, "number_of_units_arrived"] = pd.NA
    links = link_calls_to_events(calls, history.events, radius_km=RADIUS_KM)
    return replace(history, calls=calls, links=links)


def impact_both_ways(history: History):
    """(all-calls rates and fit, rates and fit from the monthly call cells), as the assets
    were; the fit from the event-day aggregates, as the asset is, must equal both."""
    calls, events, geo, links = history.calls, history.events, history.geo, history.links
    first, last = history_range(calls)
    event_days = event_geo_days(events, geo, RADIUS_KM, first, last)
    rates = baseline_rates(calls, event_days, first, last)
    expected = fit_event_impact(calls, links, events, geo, rates, radius_km=RADIUS_KM)

    cells = by_month(calls, call_cells)
    assert history_range(cells, "date") == cells_history_range(cells) == (first, last)
    cell_event_days = event_geo_days(events, geo, RADIUS_KM, first, last)
    cell_rates = baseline_rates_from_cells(cells, cell_event_days, first, last)
    actual = fit_event_impact_from_cells(cells, links, events, geo, cell_rates, radius_km=RADIUS_KM)

    monthly = event_day_aggregates_by_month(cells, events, geo, links)
    assert len(monthly.event_day_cells) < len(cells) / 2
    from_aggregates = fit_event_impact_from_aggregates(
        monthly.event_day_cells,
        monthly.mix,
        (first, last),
        links,
        events,
        geo,
        cell_rates,
        radius_km=RADIUS_KM,
    )
    assert_same_fit(actual, from_aggregates)
    return (rates, expected), (cell_rates, actual)


@dataclass
class MonthlyEventDayAggregates:
    counts: pd.DataFrame  # baseline_call_counts
    event_day_cells: pd.DataFrame  # event_day_call_cells
    mix: pd.DataFrame  # calls_by_priority_category


def event_day_aggregates_by_month(
    cells: pd.DataFrame, events: pd.DataFrame, geo: pd.DataFrame, links: pd.DataFrame
) -> MonthlyEventDayAggregates:
    """As the event-day aggregates asset builds them: each month from its own cells, event days
    (the link rule's within the month's span, and the month's linked days) and links."""
    months, link_months = month_key_of(cells["date"]), month_key_of(links["call_date"])
    parts: dict[str, list[pd.DataFrame]] = {"counts": [], "event_day_cells": [], "mix": []}
    for month in sorted(months.dropna().unique()):
        month_cells = cells[months == month]
        days, _ = baseline_event_days(
            events, geo, links[link_months == month], RADIUS_KM, cells_history_range(month_cells)
        )
        parts["counts"].append(ordinary_day_counts(month_cells, days))
        parts["event_day_cells"].append(event_day_cells(month_cells, days))
        parts["mix"].append(call_mix(month_cells))
    return MonthlyEventDayAggregates(
        **{name: pd.concat(frames, ignore_index=True) for name, frames in parts.items()}
    )


def assert_same_fit(expected, actual) -> None:
    pdt.assert_frame_equal(actual.frame, expected.frame, check_exact=False, rtol=0, atol=1e-12)
    assert actual.summary == expected.summary
    assert actual.model == expected.model


def test_baseline_and_model_from_monthly_cells_equal_those_from_every_call(event_history):
    (rates, expected), (cell_rates, actual) = impact_both_ways(event_history)
    assert len(rates) > 100 and not expected.summary["is_fallback"]
    assert expected.summary["mixes"]["source"] == "linked calls"
    assert "linked calls" in expected.summary["unit_time_on_scene_source"]
    pdt.assert_frame_equal(cell_rates, rates, check_exact=True)
    assert_same_fit(expected, actual)


def test_model_from_cells_falls_back_to_every_call_as_from_the_calls(event_history):
    # No event at all: the mixes and means are those of every call.
    (_, expected), (_, actual) = impact_both_ways(
        replace(
            event_history, events=event_history.events.iloc[:0], links=event_history.links.iloc[:0]
        )
    )
    assert expected.summary["mixes"]["source"] == "all calls (no linked calls)"
    assert_same_fit(expected, actual)
    # A few events: too few linked unit times, so every call's mean.
    few = event_history.events.head(2)
    links = link_calls_to_events(event_history.calls, few, radius_km=RADIUS_KM)
    assert 0 < len(links) < MIN_VALUES_FOR_LINKED_MEAN
    (_, expected), (_, actual) = impact_both_ways(replace(event_history, events=few, links=links))
    assert "of all" in expected.summary["unit_time_on_scene_source"]
    assert_same_fit(expected, actual)


def test_call_cells_count_every_call_once(event_history):
    calls = event_history.calls
    cells = call_cells(calls, by=months_of(calls))
    assert list(cells.columns) == ["by", *CALL_CELL_COLUMNS]
    assert cells["calls"].sum() == len(calls)
    assert cells["geo_id"].isna().any() and cells["priority_numeric"].isna().any()
    for measure in ("unit_time_on_scene", "number_of_units_arrived"):
        known = calls[measure].dropna()
        assert cells[f"{measure}_calls"].sum() == len(known)
        assert cells[f"{measure}_sum"].sum() == known.sum()
    assert len(call_cells(calls.iloc[:0])) == 0


def test_baseline_from_monthly_counts_equals_it_from_the_cells(event_history):
    """As the assets compute it: each month's counts from that month's cells, event days and
    links (`baseline_call_counts`), the rates summed from every month (`call_baseline_rates`)."""
    calls, events, geo = event_history.calls, event_history.events, event_history.geo
    first, last = history_range(calls)
    event_days = event_geo_days(events, geo, RADIUS_KM, first, last)
    # A link on a (block group, date) the link rule does not cover: an event day all the same.
    flags = pd.MultiIndex.from_frame(event_days[["geo_id", "date"]])
    located = calls[calls["geo_id"].notna()]
    ordinary = ~pd.MultiIndex.from_arrays(
        [located["geo_id"], pd.to_datetime(located["response_date"])]
    ).isin(flags)
    stray_call = located[ordinary].iloc[0]
    stray_link = pd.DataFrame(
        {"geo_id": [stray_call["geo_id"]], "call_date": [stray_call["response_date"]]}
    )
    links = pd.concat([event_history.links[["geo_id", "call_date"]], stray_link], ignore_index=True)
    all_days, stray = baseline_event_days(events, geo, links, RADIUS_KM, (first, last))
    assert stray == 1

    cells = by_month(calls, call_cells)
    expected = baseline_rates_from_cells(cells, all_days, first, last)
    monthly = event_day_aggregates_by_month(cells, events, geo, links)
    counts = monthly.counts
    assert list(counts.columns) == BASELINE_COUNT_COLUMNS
    months = month_key_of(cells["date"])
    assert len(counts) <= DAYS_PER_WEEK * geo["geo_id"].nunique() * months.nunique()
    # Every located call is counted once: on an ordinary day, or among the event-day cells.
    located_calls = cells.loc[cells["geo_id"].notna(), "calls"].sum()
    counted = counts[list(HOUR_COLUMNS)].to_numpy().sum()
    assert 0 < counted < located_calls
    assert counted + monthly.event_day_cells["calls"].sum() == located_calls
    assert list(monthly.event_day_cells.columns) == list(cells.columns)

    actual = baseline_rates_from_counts(counts, all_days, first, last)
    assert len(actual) > 100
    pdt.assert_frame_equal(actual, expected, check_exact=True)
    # The stray linked day is left out of both: without it, the rates differ.
    assert not baseline_rates_from_cells(cells, event_days, first, last).equals(expected)
    # Every month at once (the `by` column: a run of several months) counts the same.
    together = ordinary_day_counts(cells, all_days, by=months)
    assert list(together.pop("by").unique()) == sorted(months.unique())
    pdt.assert_frame_equal(together, counts, check_exact=True)
    empty = ordinary_day_counts(cells.iloc[:0], all_days.iloc[:0])
    assert list(empty.columns) == BASELINE_COUNT_COLUMNS and empty.empty


def test_call_mix_sums_the_cells_per_priority_and_category(event_history):
    cells = call_cells(event_history.calls)
    months = month_key_of(cells["date"])
    mix = call_mix(cells, by=months)
    assert list(mix.columns) == ["by", *CALL_MIX_COLUMNS]
    keys = ["by", "priority_numeric", "final_problem_category"]
    expected = (
        cells.assign(by=months)
        .groupby(keys, dropna=False, sort=True)[CALL_MIX_COLUMNS[2:]]
        .sum()
        .reset_index()
    )
    pdt.assert_frame_equal(mix, expected, check_dtype=False, check_exact=True)
    assert mix["priority_numeric"].isna().any() and mix["final_problem_category"].isna().any()
    assert mix["calls"].sum() == len(event_history.calls)
