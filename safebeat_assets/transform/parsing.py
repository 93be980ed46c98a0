"""Vectorised parsers from raw text columns to typed columns.

Every parser takes a pandas Series of raw values (str/None as read; numbers are tolerated for
frames that did not come through our readers) and returns typed values aligned with the input,
plus a mask of the non-blank values it could not parse, so callers can count rejects per
column (the raw frame keeps the raw value).

Speed (835K calls must clean in seconds):
- a column is factorized once and each *distinct* value is parsed once with pyarrow compute
  (C++ regexes), then mapped back through the codes; most columns have a handful to a few
  thousand distinct values;
- datetimes are nearly unique per call, so the dominant APD layout
  `2025 Oct 31 11:59:47 PM` is decoded by a fixed-width numpy parser; only the leftovers go
  through `pd.to_datetime` passes, one explicit format at a time.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from safebeat_assets.domain import LOCAL_TZ

# APD: CSV `2025 Oct 31 11:59:47 PM`; XLSX cells as printed by our reader; Socrata JSON
# floating ISO; spreadsheet re-saves that lost the seconds (the last resort). An XLSX cell
# holding exactly midnight comes back from the reader as a bare date.
APD_DATETIME_FORMATS: tuple[str, ...] = (
    "%Y %b %d %I:%M:%S %p",
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%dT%H:%M:%S.%f",
    "%Y-%m-%dT%H:%M:%S",
    "%Y-%m-%d %H:%M",
    "%Y-%m-%d",
)
APD_FALLBACK_FORMAT = "%Y-%m-%d %H:%M"
_APD_FIXED_WIDTH_FORMAT = "%Y %b %d %I:%M:%S %p"

# parse_datetimes result codes besides the index of the format that matched.
DATETIME_MISSING = -1
DATETIME_UNPARSED = -2

TRUE_WORDS = frozenset({"yes", "y", "true", "1", "t"})
FALSE_WORDS = frozenset({"no", "n", "false", "0", "f"})
# Text that means "no value" (pandas/Excel artefacts included): treated as blank.
_NULL_WORDS = pa.array(["", "nan", "none", "null", "nat", "<na>"])

_INT_PATTERN = r"^[+-]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.0*)?$"
_FLOAT_PATTERN = r"^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$"
_PRIORITY_PATTERN = r"^priority ?[0-3]$"
# A block-group GEOID: 2-digit state, 3-digit county, 6-digit tract, 1-digit group.
DEFAULT_GEO_ID_STATES: tuple[str, ...] = ("48",)  # Texas: APD's Geo IDs
_GEO_ID_SCIENTIFIC = r"^(\d)(?:\.(\d*))?[eE]\+?(\d+)$"


# --- distinct values -------------------------------------------------------------------------------


def _number_text(value: object) -> str:
    """A non-text value as the text an export would show (`4.0`, `484530412002.0`, `12`)."""
    if isinstance(value, bool | np.bool_):
        return str(bool(value))
    if isinstance(value, int | np.integer):
        return str(int(value))
    if isinstance(value, float | np.floating):
        return repr(float(value))
    return str(value)


@dataclass(frozen=True)
class DistinctValues:
    """A column factorized once: codes per row (-1 = missing) and the stripped text of each
    distinct value as a pyarrow array ('' for blank-like text such as '  ' or 'nan').

    Every text parser accepts either a Series or a DistinctValues, so a caller that parses
    one column several ways (e.g. category text + vocabulary check) factorizes it once.
    """

    codes: np.ndarray
    text: pa.StringArray
    index: pd.Index

    def blank(self) -> np.ndarray:
        text_blank = pc.equal(self.text, "").to_numpy(zero_copy_only=False)
        return np.append(text_blank, True)[self.codes]  # code -1 picks the appended True

    def take(self, parsed: np.ndarray, fill: object) -> np.ndarray:
        """parsed[codes], code -1 -> `fill` (kept as given: None stays None, not NaN)."""
        extended = np.empty(len(parsed) + 1, dtype=parsed.dtype)
        extended[:-1] = parsed
        extended[-1] = fill
        return extended[self.codes]

    def take_masked(self, values: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Values and NA mask per row, for IntegerArray / BooleanArray."""
        return self.take(values, values.dtype.type(0)), self.take(mask, True)


def distinct_values(
    series: pd.Series | pa.Array | pa.ChunkedArray | DistinctValues,
) -> DistinctValues:
    """Factorize a raw column (no-op for an already factorized one). An Arrow string column is
    factorized by Arrow itself: no Python string is made per row."""
    if isinstance(series, DistinctValues):
        return series
    if isinstance(series, pa.ChunkedArray):
        series = series.combine_chunks()
    if isinstance(series, pa.Array):
        if not (pa.types.is_string(series.type) or pa.types.is_large_string(series.type)):
            series = series.to_pandas()  # numbers or all-null: the pandas path below
        else:
            encoded = pc.dictionary_encode(series)  # first-seen order, nulls stay null
            codes = encoded.indices.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.intp)
            return _distinct_text(codes, encoded.dictionary.cast(pa.string()), len(series))
    codes, uniques = pd.factorize(series, use_na_sentinel=True)
    values = np.asarray(uniques, dtype=object)
    try:
        text = pa.array(values, type=pa.string())
    except (pa.ArrowTypeError, pa.ArrowInvalid):  # numbers mixed in (pandas-read XLSX, ...)
        text = pa.array([v if isinstance(v, str) else _number_text(v) for v in values], pa.string())
    return _distinct_text(codes, text, series.index)


def _distinct_text(
    codes: np.ndarray, text: pa.StringArray, index: pd.Index | int
) -> DistinctValues:
    """DistinctValues of factorized text: trimmed, blank-like text as ''. `index`: the rows'
    index, or their number (a fresh RangeIndex)."""
    if isinstance(index, int):
        index = pd.RangeIndex(index)
    text = pc.utf8_trim_whitespace(text)
    blank_like = pc.is_in(pc.utf8_lower(text), value_set=_NULL_WORDS)
    return DistinctValues(codes, pc.if_else(blank_like, "", text), index)


def _collapse_whitespace(text: pa.StringArray) -> pa.StringArray:
    return pc.replace_substring_regex(text, r"\s+", " ")


def _bools(array: pa.Array) -> np.ndarray:
    return array.fill_null(False).to_numpy(zero_copy_only=False).astype(bool)


def _nullable_int64(values: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    mask = values.is_null().to_numpy(zero_copy_only=False)
    return values.fill_null(0).to_numpy(zero_copy_only=False).astype("int64"), mask


# --- text ------------------------------------------------------------------------------------------


def clean_text(series: pd.Series | DistinctValues) -> pd.Series:
    """Trim; blank-like values -> None. Inner spacing is kept (`Ra  From Pd-No Emer`)."""
    distinct = distinct_values(series)
    parsed = pc.if_else(pc.equal(distinct.text, ""), None, distinct.text)
    values = np.asarray(parsed.to_numpy(zero_copy_only=False), dtype=object)
    return pd.Series(distinct.take(values, None), index=distinct.index, dtype=object)


@dataclass(frozen=True)
class CategoricalColumn:
    values: pd.Series  # object str, blanks replaced by the unknown label
    blank: np.ndarray  # where the raw value was blank

    @property
    def blank_count(self) -> int:
        return int(self.blank.sum())


def categorical_text(
    series: pd.Series | DistinctValues, unknown: str = "Unknown"
) -> CategoricalColumn:
    """clean_text with blanks filled by `Unknown` (categorical columns), plus the blank mask."""
    distinct = distinct_values(series)
    parsed = pc.if_else(pc.equal(distinct.text, ""), unknown, distinct.text)
    values = np.asarray(parsed.to_numpy(zero_copy_only=False), dtype=object)
    return CategoricalColumn(
        pd.Series(distinct.take(values, unknown), index=distinct.index, dtype=object),
        distinct.blank(),
    )


def strip_float_suffix(series: pd.Series | DistinctValues) -> pd.Series:
    """clean_text, then drop a trailing `.0` *suffix* only (a float cell's artefact; the old
    pipeline replaced the substring anywhere). Used for code columns such as Census Block
    Group."""
    distinct = distinct_values(series)
    text = pc.replace_substring_regex(distinct.text, r"\.0+$", "")
    parsed = pc.if_else(pc.equal(text, ""), None, text)
    values = np.asarray(parsed.to_numpy(zero_copy_only=False), dtype=object)
    return pd.Series(distinct.take(values, None), index=distinct.index, dtype=object)


def in_vocabulary(
    series: pd.Series | DistinctValues, vocabulary: frozenset[str] | set[str]
) -> np.ndarray:
    """True where the value, whitespace-collapsed and lower-cased, is in `vocabulary`
    (labels such as `Assist Other  Agency` carry double spaces)."""
    folded = pa.array(sorted({" ".join(word.split()).lower() for word in vocabulary}))
    distinct = distinct_values(series)
    hits = pc.is_in(pc.utf8_lower(_collapse_whitespace(distinct.text)), value_set=folded)
    return distinct.take(_bools(hits), False)


def contains_text(series: pd.Series | DistinctValues, needle: str) -> np.ndarray:
    """Case-insensitive substring test (e.g. `Full Road` closures); blank -> False."""
    distinct = distinct_values(series)
    hits = pc.match_substring(distinct.text, needle, ignore_case=True)
    return distinct.take(_bools(hits), False)


# --- numbers ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ParsedColumn:
    """Typed values plus the mask of non-blank raw values that did not parse, and (integers)
    the subset of those that are integers too large for int64."""

    values: pd.Series
    invalid: np.ndarray
    overflow: np.ndarray | None = None

    @property
    def invalid_count(self) -> int:
        return int(self.invalid.sum())

    @property
    def overflow_count(self) -> int:
        return 0 if self.overflow is None else int(self.overflow.sum())


def parse_int(series: pd.Series | DistinctValues) -> ParsedColumn:
    """Integers with thousands separators (`"7,953"`) and integral floats (`4.0`) -> Int64.

    Anything else non-blank (`4.5`, `abc`, `1,2`, more than 18 digits) -> NA and invalid; an
    integer of more than 18 digits is also flagged in `overflow` (it is a number, just not one
    any warehouse column can hold).
    """
    distinct = distinct_values(series)
    integral = pc.match_substring_regex(distinct.text, _INT_PATTERN)
    digits = pc.replace_substring_regex(distinct.text, r"^[+-]|,|\.0*$", "")
    fits = pc.less_equal(pc.utf8_length(digits), 18)  # stays inside int64
    ok = pc.and_(integral, fits)
    signed = pc.replace_substring_regex(distinct.text, r"^\+|,|\.0*$", "")
    numbers = pc.cast(pc.if_else(ok, signed, None), pa.int64())
    values, mask = distinct.take_masked(*_nullable_int64(numbers))
    too_long = _bools(pc.and_(integral, pc.invert(fits)))
    result = pd.Series(pd.arrays.IntegerArray(values, mask), index=distinct.index)
    return ParsedColumn(result, mask & ~distinct.blank(), distinct.take(too_long, False))


def parse_float(series: pd.Series | DistinctValues) -> ParsedColumn:
    """Decimal numbers (GPS degrees) -> float64; NaN when blank or unparseable."""
    distinct = distinct_values(series)
    ok = pc.match_substring_regex(distinct.text, _FLOAT_PATTERN)
    numbers = pc.cast(pc.if_else(ok, distinct.text, None), pa.float64())
    parsed = numbers.to_numpy(zero_copy_only=False).astype("float64")  # nulls -> NaN
    values = distinct.take(parsed, np.nan)
    return ParsedColumn(
        pd.Series(values, index=distinct.index), np.isnan(values) & ~distinct.blank()
    )


def parse_bool(
    series: pd.Series | DistinctValues,
    true_words: frozenset[str] = TRUE_WORDS,
    false_words: frozenset[str] = FALSE_WORDS,
) -> ParsedColumn:
    """Case-insensitive word lists -> nullable boolean; other non-blank text -> NA + invalid.

    `1.0`/`0.0` (integral floats from spreadsheet re-saves) count as `1`/`0`.
    """
    distinct = distinct_values(series)
    key = pc.utf8_lower(_collapse_whitespace(distinct.text))
    key = pc.replace_substring_regex(key, r"^([01])\.0*$", r"\1")
    is_true = _bools(pc.is_in(key, value_set=pa.array(sorted(true_words))))
    is_false = _bools(pc.is_in(key, value_set=pa.array(sorted(false_words))))
    values, mask = distinct.take_masked(is_true, ~(is_true | is_false))
    result = pd.Series(pd.arrays.BooleanArray(values, mask), index=distinct.index)
    return ParsedColumn(result, mask & ~distinct.blank())


def parse_priority(series: pd.Series | DistinctValues) -> ParsedColumn:
    """`Priority 0`..`Priority 3` -> 0..3 (Int64). Anything else -> NA, never a sentinel: the
    old pipeline's 9 leaked into averages."""
    distinct = distinct_values(series)
    text = _collapse_whitespace(distinct.text)
    ok = pc.match_substring_regex(text, _PRIORITY_PATTERN, ignore_case=True)
    level = pc.cast(pc.if_else(ok, pc.utf8_slice_codeunits(text, -1), None), pa.int64())
    values, mask = distinct.take_masked(*_nullable_int64(level))
    result = pd.Series(pd.arrays.IntegerArray(values, mask), index=distinct.index)
    return ParsedColumn(result, mask & ~distinct.blank())


# --- Geo ID ----------------------------------------------------------------------------------------

GEO_ID_VALID = "valid"
GEO_ID_MISSING = "missing"
GEO_ID_INVALID = "invalid"


@dataclass(frozen=True)
class ParsedGeoIds:
    geo_id: pd.Series  # object: 12-digit str or None
    status: pd.Series  # object: valid / missing / invalid
    status_counts: dict[str, int]  # rows per status (all three keys present)
    county_counts: dict[str, int] | None = None  # rows per 5-digit county FIPS of valid ids


def _normalise_geo_id_text(text: pd.Series, states: tuple[str, ...]) -> pd.DataFrame:
    """Distinct Geo ID texts -> (geo_id or None, status): valid 12-digit block-group GEOIDs of
    one of `states` (also from float or scientific-notation text), missing, or invalid."""
    # Scientific notation keeps the id only when all 12 digits survived (`4.84530412002e+11`);
    # `4.845300e+11` has lost precision and must not become `484530000000`.
    sci = text.str.extract(_GEO_ID_SCIENTIFIC)
    fraction = sci[1].fillna("")
    mantissa = (sci[0].fillna("") + fraction).str.rstrip("0")
    sci_ok = sci[0].notna() & (pd.to_numeric(sci[2]) == 11) & (fraction.str.len() >= 11)
    sci_digits = mantissa.where(mantissa.str.len() <= 12).str.ljust(12, "0")
    # Otherwise: drop a trailing `.0` suffix only, then digits only, left-padded to 12.
    plain = text.str.replace(r"\.0+$", "", regex=True)
    plain = plain.where(plain.str.fullmatch(r"\d{1,12}"), None).str.zfill(12)
    candidate = plain.where(sci[0].isna(), sci_digits.where(sci_ok, None))
    pattern = "(?:" + "|".join(re.escape(s) for s in states) + r")\d{10}"
    valid = candidate.str.fullmatch(pattern, na=False).astype(bool)
    status = np.where(text == "", GEO_ID_MISSING, np.where(valid, GEO_ID_VALID, GEO_ID_INVALID))
    return pd.DataFrame(
        {"geo_id": candidate.where(valid, None).astype(object), "status": status}, index=text.index
    )


def normalise_geo_ids(
    series: pd.Series | DistinctValues, states: tuple[str, ...] = DEFAULT_GEO_ID_STATES
) -> ParsedGeoIds:
    """Raw Geo IDs (str, `484530412002.0`, float cells, blank) -> 12 digits starting with one of
    `states` (2-digit state FIPS; Texas's `48` by default) or None.

    Status `missing` for blanks, `invalid` for anything that does not normalise (including
    scientific notation that lost digits); `000000000nan` can never come out.
    """
    distinct = distinct_values(series)
    # Few distinct ids (~700 per county set): plain pandas string ops are cheap here.
    table = _normalise_geo_id_text(pd.Series(distinct.text.to_pylist(), dtype=object), states)
    geo_id = distinct.take(table["geo_id"].to_numpy(dtype=object), None)
    status = distinct.take(table["status"].to_numpy(dtype=object), GEO_ID_MISSING)
    # Rows per status from the distinct values' frequencies (no 835K-row string compare).
    rows_per_value = np.bincount(distinct.codes + 1, minlength=len(table) + 1)
    per_status = pd.Series(rows_per_value[1:]).groupby(table["status"].to_numpy()).sum()
    counts = {s: int(per_status.get(s, 0)) for s in (GEO_ID_VALID, GEO_ID_MISSING, GEO_ID_INVALID)}
    counts[GEO_ID_MISSING] += int(rows_per_value[0])  # null input
    counties = table["geo_id"].str.slice(0, 5)
    per_county = pd.Series(rows_per_value[1:])[counties.notna().to_numpy()].groupby(
        counties.dropna().to_numpy()
    )
    return ParsedGeoIds(
        pd.Series(geo_id, index=distinct.index, dtype=object),
        pd.Series(status, index=distinct.index, dtype=object),
        counts,
        {str(county): int(rows) for county, rows in per_county.sum().items()},
    )


# --- datetimes -------------------------------------------------------------------------------------

_MONTH_NAMES = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
_MONTH_CODES = np.array([(ord(a) << 16) | (ord(b) << 8) | ord(c) for a, b, c in _MONTH_NAMES])
_MONTH_ORDER = np.argsort(_MONTH_CODES)
_DAYS_IN_MONTH = np.array([31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31])


# Byte positions of the digits in `YYYY Mon DD HH:MM:SS AM`, grouped per field.
_FIXED_WIDTH_FIELDS = {
    "year": (0, 1, 2, 3),
    "day": (9, 10),
    "hour": (12, 13),
    "minute": (15, 16),
    "second": (18, 19),
}


def _digit_fields(m: np.ndarray) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Integer value of each digit field per row, and whether every field byte was a digit.

    Bytes minus 48 as uint8 wrap around for anything below '0', so `<= 9` is the digit test.
    The digit columns are gathered into one contiguous (positions, rows) block first: column
    slices of the (rows, 24) byte matrix are strided and several times slower to work on.
    """
    positions = [p for field in _FIXED_WIDTH_FIELDS.values() for p in field]
    block = np.ascontiguousarray((m[:, positions] - np.uint8(48)).T)
    ok = (block <= 9).all(axis=0)
    values: dict[str, np.ndarray] = {}
    row = 0
    for name, field in _FIXED_WIDTH_FIELDS.items():
        value = np.zeros(m.shape[0], dtype=np.int64)
        for _ in field:
            value = value * 10 + block[row]
            row += 1
        values[name] = value
    return values, ok


def _days_from_civil(year: np.ndarray, month: np.ndarray, day: np.ndarray) -> np.ndarray:
    """Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm)."""
    y = year - (month <= 2)
    era = np.floor_divide(y, 400)
    year_of_era = y - era * 400
    day_of_year = (153 * ((month + 9) % 12) + 2) // 5 + day - 1
    day_of_era = year_of_era * 365 + year_of_era // 4 - year_of_era // 100 + day_of_year
    return era * 146_097 + day_of_era - 719_468


def _parse_apd_fixed_width(values: np.ndarray) -> np.ndarray:
    """Decode `YYYY Mon DD HH:MM:SS AM` (exactly 23 characters) without strptime.

    Returns datetime64[ns] with NaT wherever a value does not fit the layout exactly (those rows
    go through the general passes). Validates separators, digits, month name (any case), day
    of month incl. leap years, hour 1..12, minute and second 0..59.
    """
    n = len(values)
    try:
        # 24 bytes: a longer value shows up as a non-zero 24th byte instead of being cut.
        raw = np.asarray(values, dtype="S24")
    except (UnicodeEncodeError, ValueError):
        return np.full(n, np.datetime64("NaT"), dtype="datetime64[ns]")
    return _parse_apd_bytes(raw.view(np.uint8).reshape(n, 24))


def _parse_apd_arrow(text: pa.StringArray) -> np.ndarray:
    """`_parse_apd_fixed_width` of an Arrow string column, read from its buffers: the values
    of exactly 23 bytes are viewed as one (rows, 23) byte matrix (no Python object per row);
    every other value is NaT."""
    result = np.full(len(text), np.datetime64("NaT"), dtype="datetime64[ns]")
    fits = pc.equal(pc.binary_length(text), 23).fill_null(False)
    rows = np.flatnonzero(fits.to_numpy(zero_copy_only=False))
    if not len(rows):
        return result
    fixed = text.filter(fits).cast(pa.binary()).cast(pa.binary(23))
    matrix = np.zeros((len(rows), 24), dtype=np.uint8)  # the 24th byte 0: not longer
    matrix[:, :23] = np.frombuffer(
        fixed.buffers()[1], dtype=np.uint8, count=len(rows) * 23, offset=fixed.offset * 23
    ).reshape(len(rows), 23)
    result[rows] = _parse_apd_bytes(matrix)
    return result


def _parse_apd_bytes(m: np.ndarray) -> np.ndarray:
    """`_parse_apd_fixed_width` of the values' bytes, one row of 24 (zero-padded) per value."""
    ok = m[:, 23] == 0
    for position, char in ((4, " "), (8, " "), (11, " "), (14, ":"), (17, ":"), (20, " ")):
        ok &= m[:, position] == ord(char)
    meridiem = m[:, 21] & 0xDF  # upper-case ASCII letters
    is_pm = meridiem == ord("P")
    ok &= (is_pm | (meridiem == ord("A"))) & ((m[:, 22] & 0xDF) == ord("M"))

    fields, digits_ok = _digit_fields(m)
    year, day, hour12 = fields["year"], fields["day"], fields["hour"]
    minute, second = fields["minute"], fields["second"]
    ok &= digits_ok
    ok &= (hour12 >= 1) & (hour12 <= 12) & (minute <= 59) & (second <= 59)
    ok &= (year >= 1678) & (year <= 2261)  # datetime64[ns] range; outside it values would wrap

    letters = (m[:, 5:8] & 0xDF).astype(np.int64)
    code = (letters[:, 0] << 16) | (letters[:, 1] << 8) | letters[:, 2]
    slot = np.clip(np.searchsorted(_MONTH_CODES[_MONTH_ORDER], code), 0, 11)
    ok &= _MONTH_CODES[_MONTH_ORDER][slot] == code
    month = _MONTH_ORDER[slot] + 1

    leap = (year % 4 == 0) & ((year % 100 != 0) | (year % 400 == 0))
    ok &= (day >= 1) & (day <= _DAYS_IN_MONTH[month - 1] + (leap & (month == 2)))

    hour = np.where(hour12 == 12, 0, hour12) + np.where(is_pm, 12, 0)  # 12:13 AM = 00:13
    seconds = _days_from_civil(year, month, day) * 86_400 + hour * 3_600 + minute * 60 + second
    result = (seconds * 1_000_000_000).view("datetime64[ns]")
    result[~ok] = np.datetime64("NaT")
    return result


@dataclass(frozen=True)
class ParsedDatetimes:
    """Naive local datetimes and, per row, the index of the format that parsed it
    (DATETIME_MISSING for blanks, DATETIME_UNPARSED for text no format accepted)."""

    values: pd.Series
    format_index: np.ndarray
    formats: tuple[str, ...]

    def count_format(self, fmt: str) -> int:
        if fmt not in self.formats:
            return 0
        return int((self.format_index == self.formats.index(fmt)).sum())

    @property
    def unparsed_count(self) -> int:
        return int((self.format_index == DATETIME_UNPARSED).sum())


# strptime directive -> the shape of text it can match (a cheap pre-filter, not validation).
_DIRECTIVE_SHAPES = {
    "Y": r"\d{4}",
    "m": r"\d{1,2}",
    "d": r"\d{1,2}",
    "H": r"\d{1,2}",
    "I": r"\d{1,2}",
    "M": r"\d{1,2}",
    "S": r"\d{1,2}",
    "f": r"\d{1,9}",
    "b": r"[A-Za-z]{3}",
    "B": r"[A-Za-z]+",
    "p": r"[AaPp][Mm]",
}


_REGEX_SPECIAL = frozenset(".^$*+?()[]{}|\\")


def format_shape(fmt: str) -> str:
    r"""Anchored regex of the text a strptime format can match, e.g. `%b %d, %Y` ->
    `^[A-Za-z]{3} \d{1,2}, \d{4}$`. Raises ValueError for a directive it does not know."""
    parts, position = ["^"], 0
    while position < len(fmt):
        char = fmt[position]
        if char == "%":
            directive = fmt[position + 1 : position + 2]
            if directive not in _DIRECTIVE_SHAPES:
                raise ValueError(f"unsupported strptime directive %{directive} in {fmt!r}")
            parts.append(_DIRECTIVE_SHAPES[directive])
            position += 2
        else:
            parts.append("\\" + char if char in _REGEX_SPECIAL else char)
            position += 1
    return "".join(parts) + "$"


def _trimmed_text(values: np.ndarray) -> pa.StringArray:
    """Raw values as trimmed arrow strings; '' for blank, never null."""
    try:
        text = pa.array(values, type=pa.string(), from_pandas=True)
    except (pa.ArrowTypeError, pa.ArrowInvalid):  # non-text cells
        text = pa.array(
            [v if isinstance(v, str) or v is None else _number_text(v) for v in values],
            type=pa.string(),
            from_pandas=True,
        )
    return _trimmed_arrow_text(text)


def _trimmed_arrow_text(text: pa.StringArray) -> pa.StringArray:
    text = pc.utf8_trim_whitespace(text).fill_null("")
    return pc.if_else(pc.is_in(pc.utf8_lower(text), value_set=_NULL_WORDS), "", text)


def parse_datetimes(
    series: pd.Series | pa.Array | pa.ChunkedArray, formats: Sequence[str] = APD_DATETIME_FORMATS
) -> ParsedDatetimes:
    """Parse naive datetimes trying each explicit format in turn on the rows still unparsed.

    The APD CSV layout takes the fixed-width fast path. Each later pass runs `pd.to_datetime`
    with one explicit format, and only over the leftovers whose text has that format's shape:
    a strptime pass over text that does not match is as slow as one that does. No free-form
    guessing: text no format accepts becomes NaT and is reported in `format_index`.

    An Arrow string column is parsed from its buffers: only the values the fast path does not
    take become Python strings.
    """
    formats = tuple(formats)
    shapes = [format_shape(fmt) for fmt in formats]
    if isinstance(series, pa.ChunkedArray):
        series = series.combine_chunks()
    if isinstance(series, pa.Array) and not pa.types.is_string(series.type):
        series = series.to_pandas()  # numbers, all-null or large text: the object path
    arrow = series if isinstance(series, pa.Array) else None
    if arrow is None:
        raw = series.to_numpy(dtype=object)
        index = series.index
        fixed_width, rows = _parse_apd_fixed_width, len(raw)
    else:
        index = pd.RangeIndex(len(arrow))
        fixed_width, rows = _parse_apd_arrow, len(arrow)
    result = np.full(rows, np.datetime64("NaT"), dtype="datetime64[ns]")
    format_index = np.full(rows, DATETIME_UNPARSED, dtype=np.int8)

    hit = np.zeros(rows, dtype=bool)
    # The fast path is skipped when an evenly spread sample has no APD-layout value at all
    # (e.g. an XLSX export); a skipped value still gets the strict strptime pass below.
    every = max(1, rows // 1_000)
    sample = raw[::every] if arrow is None else arrow.take(pa.array(np.arange(0, rows, every)))
    if _APD_FIXED_WIDTH_FORMAT in formats and (~np.isnat(fixed_width(sample))).any():
        fast = fixed_width(raw if arrow is None else arrow)
        hit = ~np.isnat(fast)
        result[hit] = fast[hit]
        format_index[hit] = formats.index(_APD_FIXED_WIDTH_FORMAT)

    left = np.flatnonzero(~hit)
    if len(left):
        if arrow is None:
            text = _trimmed_text(raw[left])
        else:
            text = _trimmed_arrow_text(arrow.take(pa.array(left, pa.int64())))
        blank = pc.equal(text, "").to_numpy(zero_copy_only=False)
        format_index[left[blank]] = DATETIME_MISSING
        keep = ~blank
        left, text = left[keep], text.filter(pa.array(keep))
        for position, (fmt, shape) in enumerate(zip(formats, shapes, strict=True)):
            if not len(left):
                break
            fits = pc.match_substring_regex(text, shape).to_numpy(zero_copy_only=False)
            if not fits.any():
                continue
            candidates = pd.Series(text.filter(pa.array(fits)).to_numpy(zero_copy_only=False))
            parsed = pd.to_datetime(candidates, format=fmt, errors="coerce").to_numpy(
                dtype="datetime64[ns]"
            )
            got = np.zeros(len(left), dtype=bool)
            got[np.flatnonzero(fits)] = ~np.isnat(parsed)
            result[left[got]] = parsed[~np.isnat(parsed)]
            format_index[left[got]] = position
            left, text = left[~got], text.filter(pa.array(~got))

    return ParsedDatetimes(pd.Series(result, index=index), format_index, formats)


@dataclass(frozen=True)
class LocalizedDatetimes:
    values: pd.Series  # datetime64[ns, America/Chicago]
    ambiguous: int  # fall-back hour values resolved to the first (DST) occurrence
    nonexistent: int  # spring-forward gap values shifted forward to 03:00


def localize_local_time(
    naive: pd.Series, tz: str = LOCAL_TZ, count: bool = False
) -> LocalizedDatetimes:
    """Attach the Austin time zone to delivered wall-clock times.

    Explicit DST rule (contract): ambiguous fall-back times -> first occurrence (DST),
    non-existent spring-forward times -> shifted forward. `count=True` also counts both
    cases (one extra localisation pass).
    """
    first_occurrence = np.ones(len(naive), dtype=bool)
    aware = naive.dt.tz_localize(tz, ambiguous=first_occurrence, nonexistent="shift_forward")
    ambiguous = nonexistent = 0
    if count and len(naive):
        second = naive.dt.tz_localize(tz, ambiguous=~first_occurrence, nonexistent="shift_forward")
        present = naive.notna()
        ambiguous = int(((aware != second) & present).sum())
        nonexistent = int(((aware.dt.tz_localize(None) != naive) & present).sum())
    return LocalizedDatetimes(aware, ambiguous, nonexistent)


__all__ = [
    "APD_DATETIME_FORMATS",
    "APD_FALLBACK_FORMAT",
    "DATETIME_MISSING",
    "DATETIME_UNPARSED",
    "FALSE_WORDS",
    "GEO_ID_INVALID",
    "GEO_ID_MISSING",
    "GEO_ID_VALID",
    "LOCAL_TZ",
    "TRUE_WORDS",
    "LocalizedDatetimes",
    "ParsedColumn",
    "ParsedDatetimes",
    "ParsedGeoIds",
    "CategoricalColumn",
    "DistinctValues",
    "categorical_text",
    "clean_text",
    "contains_text",
    "distinct_values",
    "format_shape",
    "in_vocabulary",
    "localize_local_time",
    "normalise_geo_ids",
    "parse_bool",
    "parse_datetimes",
    "parse_float",
    "parse_int",
    "parse_priority",
    "strip_float_suffix",
]
