"""The call cells as arrays: codes as factorizing gives them, and the (block group, day) lookup
the event impact model selects the linked cells with."""

import numpy as np
import pandas as pd

from safebeat_assets.analytics.cell_arrays import NO_DAY, CellArrays

DAY = np.datetime64("2025-03-01", "D").astype("int64")


def cells() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "geo_id": ["484530002002", None, "484530001001", "484530002002", "484530001001"],
            "date": pd.to_datetime(["2025-03-01", "2025-03-01", "2025-03-02", "2025-03-03", None]),
            "hour": [1, 2, 3, 4, 5],
            "calls": [2, 1, 1, 3, 1],
        }
    )


def test_arrays_code_block_groups_sorted_and_days_without_a_date_apart():
    arrays = CellArrays.of(cells())
    assert arrays.geo_ids.tolist() == ["484530001001", "484530002002"]
    assert arrays.geo_code.tolist() == [1, -1, 0, 1, 0]
    assert arrays.day.tolist() == [DAY, DAY, DAY + 1, DAY + 2, NO_DAY]
    assert arrays.history_days() == (DAY, DAY + 2)
    assert CellArrays.of(arrays) is arrays
    assert CellArrays.of(cells().iloc[:0]).history_days() is None


def test_cells_on_block_group_days_are_exactly_those_pairs():
    arrays = CellArrays.of(cells())
    on = arrays.on_block_group_days(
        np.array(["484530002002", "484530001001", "484530009009", None], dtype=object),
        np.array([DAY + 2, DAY + 1, DAY, DAY]),
    )
    # Unknown block groups, NULL block groups and cells without a date never match.
    assert on.tolist() == [False, False, True, True, False]
    outside = arrays.on_block_group_days(np.array(["484530002002"], dtype=object), [DAY + 9])
    assert not outside.any()
    assert not arrays.on_block_group_days(np.array([], dtype=object), []).any()
