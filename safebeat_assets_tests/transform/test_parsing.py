"""Vectorised parsers: integers, booleans, priority, Geo IDs, datetimes, DST."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from safebeat_assets.sources.xlsx import _cell_text
from safebeat_assets.transform.parsing import (
    APD_DATETIME_FORMATS,
    DATETIME_MISSING,
    DATETIME_UNPARSED,
    categorical_text,
    clean_text,
    distinct_values,
    in_vocabulary,
    localize_local_time,
    normalise_geo_ids,
    parse_bool,
    parse_datetimes,
    parse_float,
    parse_int,
    parse_priority,
    strip_float_suffix,
)


def test_parse_int_accepts_separators_and_integral_floats():
    raw = pd.Series(["7,953", "1,409", "0.0", "4.0", " 12 ", "+5", None, "", "nan"], dtype=object)
    parsed = parse_int(raw)
    assert parsed.values.dtype == "Int64"
    assert parsed.values.tolist() == [7953, 1409, 0, 4, 12, 5, pd.NA, pd.NA, pd.NA]
    assert parsed.invalid_count == 0  # blanks are missing, not invalid


def test_parse_int_rejects_and_counts_the_rest():
    raw = pd.Series(["4.5", "abc", "1,2", "12,34,567", "1e3", "9" * 25], dtype=object)
    parsed = parse_int(raw)
    assert parsed.values.isna().all()
    assert parsed.invalid.tolist() == [True] * 6


def test_parse_int_tolerates_numeric_input():
    parsed = parse_int(pd.Series([4.0, np.nan, 7.5, 12.0]))
    assert parsed.values.tolist() == [4, pd.NA, pd.NA, 12]
    assert parsed.invalid.tolist() == [False, False, True, False]


def test_parse_float_and_blank_like_text():
    parsed = parse_float(pd.Series([" 30.2672 ", "-097.7431", "", None, "north", "NaN"]))
    assert parsed.values.tolist()[:2] == [30.2672, -97.7431]
    assert parsed.values[2:].isna().all()
    assert parsed.invalid.tolist() == [False, False, False, False, True, False]


def test_parse_bool_report_written_vocabulary():
    raw = pd.Series(
        ["Yes", "no", "Y", "n", "TRUE", "false", "1", "0", "1.0", "0.0", "maybe", "", None]
    )
    parsed = parse_bool(raw)
    assert parsed.values.dtype == "boolean"
    assert parsed.values.tolist() == [True, False, True, False, True, False, True, False, True,
                                      False, pd.NA, pd.NA, pd.NA]  # fmt: skip
    assert parsed.invalid_count == 1  # only "maybe"


def test_parse_priority_has_no_sentinel():
    raw = pd.Series(["Priority 0", "Priority 1", "priority  2", "Priority 3", "Priority 4",
                     "P2", "9", "", None])  # fmt: skip
    parsed = parse_priority(raw)
    assert parsed.values.tolist() == [0, 1, 2, 3, pd.NA, pd.NA, pd.NA, pd.NA, pd.NA]
    assert 9 not in parsed.values.dropna().tolist()
    assert parsed.values.mean() == pytest.approx(1.5)  # NA excluded from means


def test_geo_id_normalisation():
    raw = pd.Series(
        [
            "484530412002",  # plain
            "484530412002.0",  # float-looking text
            484530412002.0,  # numeric cell
            "4.845300e+11",  # scientific, precision lost -> invalid
            "4.84530412002E+11",  # scientific with all 12 digits -> fine
            "",  # blank -> missing
            None,
            "  ",
            "nan",  # pandas artefact -> missing, never 000000000nan
            "4530412002",  # census block group, not a geo id: pads to 004530412002
            "4845304120.02",  # `.0` only as a suffix
            "1234567890123",
            "482090101001",
        ],
        dtype=object,
    )
    parsed = normalise_geo_ids(raw)
    assert parsed.geo_id.tolist() == [
        "484530412002", "484530412002", "484530412002", None, "484530412002", None, None,
        None, None, None, None, None, "482090101001",
    ]  # fmt: skip
    assert parsed.status.tolist() == [
        "valid", "valid", "valid", "invalid", "valid", "missing", "missing", "missing",
        "missing", "invalid", "invalid", "invalid", "valid",
    ]  # fmt: skip
    assert parsed.status_counts == {"valid": 5, "missing": 4, "invalid": 4}
    assert not parsed.geo_id.astype(str).str.contains("nan").any()
    assert parsed.geo_id.dtype == object


def test_text_helpers():
    raw = pd.Series([" Ra  From Pd-No Emer ", "", None, "nan", "Theft"], dtype=object)
    assert clean_text(raw).tolist() == ["Ra  From Pd-No Emer", None, None, None, "Theft"]
    category = categorical_text(raw)
    assert category.values.tolist() == [
        "Ra  From Pd-No Emer",
        "Unknown",
        "Unknown",
        "Unknown",
        "Theft",
    ]
    assert category.blank_count == 3
    assert strip_float_suffix(pd.Series(["4530412002.0", "1.05", None])).tolist() == [
        "4530412002",
        "1.05",
        None,
    ]
    shared = distinct_values(pd.Series(["Assist Other  Agency", "welfare check", "Mystery"]))
    assert in_vocabulary(shared, {"Assist Other Agency", "Welfare Check"}).tolist() == [
        True,
        True,
        False,
    ]


def test_xlsx_cell_text():
    assert _cell_text(484530412002.0) == "484530412002"
    assert _cell_text(4.845300e11) == "484530000000"
    assert _cell_text(2.5) == "2.5"
    assert _cell_text(4) == "4"
    assert _cell_text("") is None
    assert _cell_text(None) is None
    assert _cell_text(True) == "True"


# --- datetimes -----------------------------------------------------------------------------------


def test_apd_datetime_layout_including_midnight_and_noon():
    raw = pd.Series(
        [
            "2025 Nov 01 12:13:18 AM",  # 12 AM is hour 0
            "2025 Oct 31 11:59:47 PM",
            "2025 Oct 31 12:00:00 PM",  # 12 PM is noon
            "2024 Feb 29 01:02:03 am",  # leap day, lower-case meridiem
            "2025 Feb 29 01:02:03 AM",  # not a leap year
            "2025 Foo 01 01:02:03 AM",
            "2025 Nov 01 13:13:18 PM",
            "2025 Nov 1 1:13:18 PM",  # unpadded: not the fixed layout, strict pandas pass
        ]
    )
    parsed = parse_datetimes(raw)
    assert parsed.values.tolist()[:4] == [
        pd.Timestamp("2025-11-01 00:13:18"),
        pd.Timestamp("2025-10-31 23:59:47"),
        pd.Timestamp("2025-10-31 12:00:00"),
        pd.Timestamp("2024-02-29 01:02:03"),
    ]
    assert parsed.values[4:7].isna().all()
    assert parsed.values[7] == pd.Timestamp("2025-11-01 13:13:18")
    assert parsed.format_index.tolist() == [0, 0, 0, 0, DATETIME_UNPARSED, DATETIME_UNPARSED,
                                            DATETIME_UNPARSED, 0]  # fmt: skip


def test_fixed_width_fast_path_agrees_with_strptime():
    rng = np.random.default_rng(1)
    moments = pd.Timestamp("1999-01-01") + pd.to_timedelta(
        rng.integers(0, 40 * 365 * 86_400, 5_000), unit="s"
    )
    text = pd.Series(moments.strftime("%Y %b %d %I:%M:%S %p"))
    expected = pd.to_datetime(text, format="%Y %b %d %I:%M:%S %p")
    pd.testing.assert_series_equal(parse_datetimes(text).values, expected, check_names=False)


def test_other_datetime_formats_and_fallback():
    raw = pd.Series(
        [
            "2025-10-31 23:59:47",
            "2025-01-01T00:00:00.000",
            "2025-01-01T08:00:00",
            "2025-01-01 10:05",
            "",
            None,
            "31/10/2025 10:00",
        ]  # fmt: skip
    )
    parsed = parse_datetimes(raw, APD_DATETIME_FORMATS)
    assert parsed.values.tolist()[:4] == [
        pd.Timestamp("2025-10-31 23:59:47"),
        pd.Timestamp("2025-01-01 00:00:00"),
        pd.Timestamp("2025-01-01 08:00:00"),
        pd.Timestamp("2025-01-01 10:05:00"),
    ]
    assert parsed.format_index.tolist() == [1, 2, 3, 4, DATETIME_MISSING, DATETIME_MISSING,
                                            DATETIME_UNPARSED]  # fmt: skip
    assert parsed.count_format("%Y-%m-%d %H:%M") == 1
    assert parsed.unparsed_count == 1


def test_dst_rules():
    naive = pd.Series(
        pd.to_datetime(["2025-11-02 01:30:00", "2025-03-09 02:30:00", "2025-07-04 12:00:00", None])
    )
    localized = localize_local_time(naive, count=True)
    values = localized.values
    assert str(values.dt.tz) == "America/Chicago"
    # Fall-back hour: first occurrence, still daylight time (UTC-5).
    assert values[0] == pd.Timestamp("2025-11-02 06:30:00", tz="UTC")
    # Spring-forward gap: shifted forward to 03:00 CDT.
    assert values[1] == pd.Timestamp("2025-03-09 03:00:00", tz="America/Chicago")
    assert values[2].utcoffset() == pd.Timedelta(hours=-5)
    assert pd.isna(values[3])
    assert (localized.ambiguous, localized.nonexistent) == (1, 1)
