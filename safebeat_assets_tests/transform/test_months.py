"""Month routing of raw text and parsed dates, and per-month fingerprints."""

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from safebeat_assets.transform.months import (
    MonthGroups,
    is_one_run,
    month_key_of,
    month_keys,
    route_to_months,
    rows_at,
)


def test_month_keys_reads_every_accepted_layout():
    text = pd.Series(
        [
            "2025 Oct 31 11:59:59 PM",
            "  2023 Jan 01 12:00:00 AM",
            "2024-02-29 13:05:00",
            "2024-12-01T00:00:00",
            "2025 Foo 31 11:59:59 PM",
            "2025-13-01 00:00:00",
            "31/10/2025",
            "",
            None,
        ],
        index=range(10, 19),
    )
    keys = month_keys(text)
    assert keys.tolist() == [
        "2025-10-01",
        "2023-01-01",
        "2024-02-01",
        "2024-12-01",
        None,
        None,
        None,
        None,
        None,
    ]
    assert keys.index.tolist() == text.index.tolist()


def test_route_to_months_sends_unreadable_rows_to_the_fallback():
    routed = route_to_months(pd.Series(["2025 Jun 02 01:00:00 AM", "garbage", None]), "2026-11-01")
    assert routed.tolist() == ["2025-06-01", "2026-11-01", "2026-11-01"]


def test_month_key_of_dates_datetimes_and_missing_values():
    dates = pd.Series(pd.to_datetime(["2025-01-31", "2025-02-01", None, "2023-12-15"]))
    assert month_key_of(dates).tolist() == ["2025-01-01", "2025-02-01", None, "2023-12-01"]
    local = pd.Series(pd.to_datetime(["2025-03-31 23:30"]).tz_localize("America/Chicago"))
    assert month_key_of(local).tolist() == ["2025-03-01"]  # the local month, not UTC's April
    assert month_key_of(pd.Series([], dtype="datetime64[ns]")).tolist() == []
    seconds = dates.astype("datetime64[s]")  # another unit takes the same path as nanoseconds
    assert month_key_of(seconds).tolist() == month_key_of(dates).tolist()
    from_text = pd.Series(["2025-01-31", None, "2023-12-15"], index=[7, 8, 9])
    assert month_key_of(from_text).to_dict() == {7: "2025-01-01", 8: None, 9: "2023-12-01"}


def test_month_keys_match_a_per_row_reference_on_many_rows():
    days = pd.date_range("2023-01-01", "2025-12-31 23:00", freq="7h")
    apd = pd.Series(days.strftime("%Y %b %d %I:%M:%S %p"))
    assert (month_keys(apd) == pd.Series(days.strftime("%Y-%m-01"))).all()
    assert (month_key_of(pd.Series(days)) == pd.Series(days.strftime("%Y-%m-01"))).all()


def test_table_fingerprints_see_only_the_changed_month_whatever_the_layout():
    import pyarrow as pa

    from safebeat_assets.transform.months import table_month_fingerprints

    text = pa.table(
        {
            "a": ["x", "yy", None, "w", "zz"],
            "b": ["1", None, "3", "4", "5"],
            "n": pa.array([1, 2, None, 4, 5], pa.int64()),
        }
    )
    keys = np.array(["2025-02-01", "2025-01-01", "2025-02-01", "2025-03-01", "2025-01-01"])
    before = table_month_fingerprints(text, keys)
    assert list(before) == ["2025-01-01", "2025-02-01", "2025-03-01"]
    # Same content in other chunks, or as a slice of a bigger table: same fingerprints.
    rechunked = pa.Table.from_batches(text.to_batches(max_chunksize=2))
    assert table_month_fingerprints(rechunked, keys) == before
    padded = pa.concat_tables([text.slice(0, 2), text]).slice(2)
    assert table_month_fingerprints(padded, keys) == before
    # A longer value in January shifts every later byte of the file, but not the other months.
    edited = text.set_column(0, "a", pa.array(["x", "yyyyy", None, "w", "zz"]))
    after = table_month_fingerprints(edited, keys)
    assert [k for k in before if before[k] != after[k]] == ["2025-01-01"]
    # A value becoming null changes its month; moving a value between columns changes it too.
    nulled = text.set_column(1, "b", pa.array(["1", None, "3", None, "5"]))
    assert [k for k in before if table_month_fingerprints(nulled, keys)[k] != before[k]] == [
        "2025-03-01"
    ]


def test_table_fingerprints_of_a_time_ordered_export_match_the_shuffled_one():
    import pyarrow as pa

    from safebeat_assets.transform.months import table_month_fingerprints

    keys = np.array(["2025-02-01", "2025-01-01", "2025-02-01", "2025-03-01", "2025-01-01"])
    text = pa.table({"a": ["x", "yy", None, "w", "zz"], "n": pa.array([1, 2, None, 4, 5])})
    order = np.argsort(keys, kind="stable")  # each month keeps its own row order
    ordered = table_month_fingerprints(text.take(pa.array(order)), keys[order])
    assert ordered == table_month_fingerprints(text, keys)


def _groups_by_sorting(keys):
    """The grouping MonthGroups replaces: every key sorted as a fixed-width string."""
    months, codes = np.unique(np.asarray(keys, dtype=object).astype(str), return_inverse=True)
    codes = codes.reshape(-1)
    order = np.argsort(codes, kind="stable")
    return months, order, np.searchsorted(codes[order], np.arange(len(months) + 1))


@pytest.mark.parametrize(
    "keys",
    [
        pytest.param(["2024-02-01", "2024-01-01", "2024-02-01", "unreadable"], id="mixed"),
        pytest.param(["2024-01-01"] * 5, id="one month"),
        pytest.param(["2024-03-01", None, "None", None, "2024-03-01"], id="None and 'None'"),
        pytest.param([], id="empty"),
        pytest.param(
            list(np.random.default_rng(3).choice(["2023-12-01", "2024-01-01", "x"], 5000)),
            id="random",
        ),
    ],
)
def test_month_groups_equal_sorting_every_key(keys):
    groups = MonthGroups.of(np.array(keys, dtype=object))
    months, order, bounds = _groups_by_sorting(np.array(keys, dtype=object))
    assert groups.months.tolist() == months.tolist()
    assert groups.order.tolist() == order.tolist()
    assert groups.bounds.tolist() == bounds.tolist()
    assert [(m, rows.tolist()) for m, rows in groups] == [
        (str(m), order[bounds[i] : bounds[i + 1]].tolist()) for i, m in enumerate(months)
    ]


def test_month_groups_know_when_rows_are_already_in_order():
    assert MonthGroups.of(np.array(["a", "a", "b"], dtype=object)).in_row_order
    assert not MonthGroups.of(np.array(["b", "a", "b"], dtype=object)).in_row_order


def test_rows_at_slices_one_run_and_gathers_the_rest():
    table = pa.table({"n": pa.array(range(10), pa.int64())})
    run = rows_at(table, np.array([3, 4, 5]))
    assert run["n"].to_pylist() == [3, 4, 5]
    # A slice shares the table's buffer: the same data address, offset by three values.
    assert run["n"].chunk(0).buffers()[1].address == table["n"].chunk(0).buffers()[1].address
    assert rows_at(table, np.array([1, 4, 9]))["n"].to_pylist() == [1, 4, 9]
    assert rows_at(table, np.array([], dtype=np.int64)).num_rows == 0
    assert is_one_run(np.array([7])) and not is_one_run(np.array([], dtype=np.int64))
    assert not is_one_run(np.array([2, 4]))
