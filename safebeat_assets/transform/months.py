"""Month keys of call rows: which monthly partition a row belongs to.

`month_keys` routes raw rows from their text, reading only the year and month of
`response_datetime` in any of the accepted layouts (`2025 Oct 31 …`, `2025-10-31 …`,
`2025-10-31T…`); cleaning parses properly. `month_key_of` does the same for parsed dates.

Both work on distinct values only (a few thousand days, not 835K rows): per-row string
formatting or regex extraction would touch every call.
"""

import hashlib
import re
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

_MONTHS = {
    name: number
    for number, name in enumerate(
        ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"), 1
    )
}
_APD_PREFIX = re.compile(r"^(\d{4}) ([A-Z][a-z]{2}) ")
_ISO_PREFIX = re.compile(r"^(\d{4})-(\d{2})-\d{2}")
# Long enough for `YYYY Mon D` and `YYYY-MM-DD`, the parts both patterns read.
_PREFIX_LENGTH = 10


def _key_of_prefix(prefix: str) -> str | None:
    apd = _APD_PREFIX.match(prefix)
    if apd:
        year, month = apd.group(1), _MONTHS.get(apd.group(2))
    else:
        iso = _ISO_PREFIX.match(prefix)
        if not iso:
            return None
        year, month = iso.group(1), int(iso.group(2))
    if month is None or not 1 <= month <= 12:
        return None
    return f"{year}-{month:02d}-01"


def month_keys(datetime_text: pd.Series) -> pd.Series:
    """`YYYY-MM-01` for each value whose year and month can be read, else None."""
    text = pa.array(datetime_text.to_numpy(dtype=object), type=pa.string(), from_pandas=True)
    return pd.Series(text_month_keys(text), index=datetime_text.index, dtype=object)


def text_month_keys(text: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """`month_keys` of an Arrow string column, as an object array."""
    if isinstance(text, pa.ChunkedArray):
        text = text.combine_chunks()
    prefixes = pc.utf8_slice_codeunits(pc.utf8_ltrim_whitespace(text), 0, _PREFIX_LENGTH)
    encoded = pc.dictionary_encode(prefixes)
    keys = [_key_of_prefix(p) for p in encoded.dictionary.to_pylist()]
    # Null text gets the extra last slot, which holds None.
    lookup = np.array([*keys, None], dtype=object)
    codes = encoded.indices.fill_null(len(keys)).to_numpy(zero_copy_only=False)
    return lookup[codes]


def partition_month_keys(
    text: pa.Array | pa.ChunkedArray, first_key: str, last_key: str
) -> np.ndarray:
    """The monthly partition each raw row belongs to: its own month when inside
    [first_key, last_key]; the first partition for an earlier month, the last for a later or
    unreadable one. Out-of-range rows are quarantined by the partition they are routed to, so
    none of them is lost between the partitions."""
    return route_partition_keys(text_month_keys(text), first_key, last_key)


def route_partition_keys(keys: np.ndarray, first_key: str, last_key: str) -> np.ndarray:
    """`partition_month_keys` of month keys already read (a copy; None = unreadable)."""
    routed = np.asarray(keys, dtype=object).copy()
    routed[pd.isna(routed)] = last_key
    routed[routed < first_key] = first_key
    routed[routed > last_key] = last_key
    return routed


def month_row_counts(keys: np.ndarray) -> dict[str, int]:
    """Rows per month key, e.g. {"2025-01-01": 30512, ...} (keys in order)."""
    months, counts = np.unique(np.asarray(keys, dtype=object).astype(str), return_counts=True)
    return {str(m): int(c) for m, c in zip(months, counts, strict=True)}


def route_to_months(datetime_text: pd.Series, fallback_key: str) -> pd.Series:
    """Month key of every row; rows whose month cannot be read go to `fallback_key`."""
    keys = month_keys(datetime_text)
    return keys.where(keys.notna(), fallback_key)


def month_key_of(dates: pd.Series) -> pd.Series:
    """Partition key (`YYYY-MM-01`) of local calendar dates or local datetimes; None for NaT."""
    # Datetime columns skip `to_datetime`, which samples hundreds of values as Timestamps.
    values = dates if pd.api.types.is_datetime64_any_dtype(dates) else pd.to_datetime(dates)
    if isinstance(values.dtype, pd.DatetimeTZDtype):
        values = values.dt.tz_localize(None)
    months = values.to_numpy(dtype="datetime64[ns]").astype("datetime64[M]")
    distinct, codes = np.unique(months, return_inverse=True)
    lookup = np.array([None if np.isnat(m) else f"{m}-01" for m in distinct], dtype=object)
    return pd.Series(lookup[codes.reshape(-1)], index=values.index, dtype=object)


def table_month_fingerprints(table: pa.Table, keys: np.ndarray) -> dict[str, str]:
    """A content hash per month of an Arrow table of string (or integer) columns: a month
    whose rows did not change keeps its fingerprint. Bytes are hashed straight from the Arrow
    buffers, so no Python object per value is made. Row order within a month counts."""
    prints = StreamingMonthFingerprints()
    prints.update(table, keys)
    return prints.fingerprints()


@dataclass(frozen=True)
class MonthGroups:
    """Rows grouped by month key: group i (key `months[i]`, keys sorted as text) is
    `order[bounds[i]:bounds[i + 1]]`, in row order. Keys compare as their text (`str(key)`); a
    missing key (None or NaN) is "None", as numpy's `astype(str)` writes None."""

    months: np.ndarray
    order: np.ndarray
    bounds: np.ndarray

    @classmethod
    def of(cls, keys: np.ndarray) -> "MonthGroups":
        # Hashing the keys (a handful of distinct months) and sorting their small integer codes
        # is several times faster than sorting every row's key as a fixed-width string.
        codes, distinct = pd.factorize(np.asarray(keys, dtype=object))
        labels = [str(key) for key in distinct]
        missing = codes < 0
        if missing.any():
            codes = np.where(missing, len(labels), codes)
            labels.append(str(None))
        months, remap = np.unique(np.array(labels, dtype=object), return_inverse=True)
        codes = remap.reshape(-1)[codes]
        order = np.argsort(codes, kind="stable")
        bounds = np.searchsorted(codes[order], np.arange(len(months) + 1))
        return cls(months.astype(str), order, bounds)

    def __iter__(self):
        """(month, row positions) per month, months sorted."""
        for i, month in enumerate(self.months):
            yield str(month), self.order[self.bounds[i] : self.bounds[i + 1]]

    @property
    def in_row_order(self) -> bool:
        """Whether the groups, one after the other, are the rows in their own order."""
        return bool(np.all(self.order[1:] > self.order[:-1])) if len(self.order) > 1 else True


def is_one_run(rows: np.ndarray) -> bool:
    """Whether ascending row positions are consecutive (a zero-copy slice can hold them)."""
    return bool(len(rows)) and int(rows[-1]) - int(rows[0]) + 1 == len(rows)


def rows_at(table: pa.Table, rows: np.ndarray) -> pa.Table:
    """The table's rows at the ascending positions `rows`: a zero-copy slice when they are one
    run (an export sorted by time has each month's rows together), else a gather."""
    if is_one_run(rows):
        return table.slice(int(rows[0]), len(rows))
    return table.take(pa.array(rows, pa.int64()))


class StreamingMonthFingerprints:
    """`table_month_fingerprints`' idea for a file read in batches: per (month, column) three
    digests, of the null flags (a byte per row), the value lengths and the value bytes, each fed
    every batch's rows of that month in turn. Each digest sees one continuous byte stream, so
    the result depends only on the rows and their order, never on where the batches were cut
    (a daily file and the same rows inside a re-export's month agree)."""

    def __init__(self) -> None:
        self._digests: dict[str, dict[str, tuple]] = {}

    def update(self, table: pa.Table, keys: np.ndarray | MonthGroups) -> None:
        """Feed the table's rows, each to its month's digests (`keys`: a month key per row, or
        those keys already grouped)."""
        groups = keys if isinstance(keys, MonthGroups) else MonthGroups.of(keys)
        months, order, bounds = groups.months, groups.order, groups.bounds
        in_order = groups.in_row_order
        gather = None if in_order else pa.array(order)
        for name in table.column_names:
            column = table[name] if in_order else table[name].take(gather)
            column = column.combine_chunks()
            nulls = column.is_null().to_numpy(zero_copy_only=False).astype(np.uint8)
            lengths, data, offsets = _value_bytes(column)
            for i, month in enumerate(months):
                first, last = bounds[i], bounds[i + 1]
                null_digest, length_digest, data_digest = self._digests.setdefault(
                    str(month), {}
                ).setdefault(name, _three_digests(name))
                null_digest.update(nulls[first:last].tobytes())
                length_digest.update(lengths[first:last].tobytes())
                data_digest.update(data[offsets[first] : offsets[last]])

    def fingerprints(self) -> dict[str, str]:
        """Month -> fingerprint, columns in the order first seen."""
        result = {}
        for month, columns in sorted(self._digests.items()):
            combined = hashlib.blake2b(digest_size=16)
            for digests in columns.values():
                for digest in digests:
                    combined.update(digest.digest())
            result[month] = combined.hexdigest()[:16]
        return result


def _value_bytes(column: pa.Array) -> tuple[np.ndarray, memoryview, np.ndarray]:
    """Per-row value lengths, the value bytes and each row's start offset in them (one more at
    the end): strings as stored; integers and floats as their fixed-width bytes, null as 0."""
    if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
        offset_type = np.int64 if pa.types.is_large_string(column.type) else np.int32
        offsets = np.frombuffer(column.buffers()[1], dtype=offset_type)
        offsets = offsets[column.offset : column.offset + len(column) + 1].astype(np.int64)
        data = column.buffers()[2]
        return np.diff(offsets), memoryview(data) if data is not None else memoryview(b""), offsets
    if not (pa.types.is_integer(column.type) or pa.types.is_floating(column.type)):
        raise TypeError(f"cannot fingerprint a {column.type} column")
    values = np.ascontiguousarray(column.fill_null(0).to_numpy(zero_copy_only=False))
    width = values.dtype.itemsize
    offsets = np.arange(len(values) + 1, dtype=np.int64) * width
    return np.full(len(values), width, dtype=np.int64), memoryview(values.tobytes()), offsets


def _three_digests(name: str) -> tuple:
    return tuple(hashlib.blake2b(f"{name}/{part}".encode(), digest_size=16) for part in "nld")
