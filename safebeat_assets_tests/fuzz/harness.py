"""Malformed inputs for the fuzz tests: a realistic valid file, mutated.

A case is built from a small valid export (made once per module by the sample generator):
rows are picked, then structural mutations (values replaced by hostile ones, fields dropped,
swapped or added, rows duplicated, headers duplicated, renamed or dropped) keep track of how
many data rows the file holds; byte-level mutations afterwards (truncation, random bytes, other
encodings, zero bytes, the wrong format for the suffix) make the rows uncountable.

How each input ended is tallied per source: `clean` (read and cleaned, nothing quarantined),
`quarantined` (read and cleaned, some rows quarantined), `clear_error` (a DataError naming the
file) or `unexpected` (anything else; the test fails on it).
"""

from __future__ import annotations

import csv
import io
import json
import re
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from hypothesis import strategies as st

from safebeat_assets.errors import DataError, SourceFormatError
from safebeat_assets.storage.tables import TableSpec
from safebeat_assets.storage.warehouse import frame_to_arrow

OUTCOMES = ("clean", "quarantined", "clear_error", "unexpected")
FIELD_COUNT_ERROR = "fields (as in the header)"

# --- tallies -----------------------------------------------------------------------------------


@dataclass
class Tally:
    """How the inputs of one source ended (see the module docstring)."""

    source: str
    outcomes: Counter = field(default_factory=Counter)
    errors: Counter = field(default_factory=Counter)
    rows: Counter = field(default_factory=Counter)
    started: float = field(default_factory=time.perf_counter)

    def run(self, check: Callable[[], str]) -> None:
        try:
            outcome = check()
        except BaseException:
            self.outcomes["unexpected"] += 1
            raise
        assert outcome in OUTCOMES, outcome
        self.outcomes[outcome] += 1

    def error(self, exc: DataError) -> str:
        self.errors[error_kind(exc)] += 1
        return "clear_error"

    def summary(self) -> dict:
        return {
            "cases": sum(self.outcomes.values()),
            "outcomes": {name: self.outcomes.get(name, 0) for name in OUTCOMES},
            "errors_by_type": dict(sorted(self.errors.items())),
            "rows": dict(sorted(self.rows.items())),
            "seconds": round(time.perf_counter() - self.started, 1),
        }


def error_kind(exc: DataError) -> str:
    """The error's type and what it says, without the numbers: `SourceFormatError: not UTF-8
    text`."""
    reason = getattr(exc, "reason", None) or str(exc).split(": ", 1)[-1]
    reason = re.split(r"[:;(]", reason)[0]
    words = re.sub(r"(?<![\w-])\d[\d,.]*|'[^']*'|\[[^\]]*\]", "", reason).split()
    return f"{type(exc).__name__}: {' '.join(words[:6])}"


def check_data_error(exc: DataError, path: Path) -> None:
    """A DataError must name the file, and the column and row it says it knows."""
    message = str(exc)
    assert path.name in message, message
    if isinstance(exc, SourceFormatError):
        if exc.row is not None:
            assert f"row {exc.row}" in message, message
            assert exc.row >= 1, message
        if exc.column is not None:
            assert repr(exc.column) in message, message


def check_warehouse_fit(spec: TableSpec, frame: pd.DataFrame) -> None:
    """The frame would COPY into its warehouse table: every value casts to the column's type
    (integers fit, timestamps are whole microseconds), varchar lengths hold, no NUL in text,
    NOT NULL columns hold values."""
    table = frame_to_arrow(spec, frame)
    for column in spec.columns:
        values = table[column.name]
        if not column.nullable:
            assert values.null_count == 0, column.name
        width = re.fullmatch(r"varchar\((\d+)\).*", column.pg_type)
        texts = [v for v in values.to_pylist() if isinstance(v, str)]
        if width:
            assert all(len(v) <= int(width.group(1)) for v in texts), column.name
        assert not any("\x00" in v for v in texts), column.name


# --- hostile values ----------------------------------------------------------------------------

SQL_STRINGS = (
    "'; DROP TABLE x; --",
    "1; DELETE FROM fact_911_calls",
    '" OR "1"="1',
    "Robert'); DROP TABLE Students;--",
    "$$; SELECT pg_sleep(10); $$",
    "\\copy x from program 'id'",
)
NUMBERS = (
    "0", "-0", "-1", "-7953", "1,234,567", "32768", "-32769", "2147483648", "-2147483649",
    "9223372036854775807", "9223372036854775808", "-9223372036854775809",
    "99999999999999999999999999", "1e309", "-1e309", "inf", "-inf", "nan", "NaN", "1.5",
    "4.0", "007", "+12", "1_000", "0x1F", "١٢٣", "12e3", "1,2", " 42 ",
)  # fmt: skip
DATES = (
    "0001-01-01", "1066 Oct 14 09:00:00 AM", "1677-09-21 00:12:43", "1899-12-31 23:59:59",
    "1969-12-31T23:59:59.999999999", "2262-04-11T23:47:16.854775807", "2262-04-12 00:00:00",
    "9999-12-31T23:59:59.999999", "3000 Jan 01 01:00:00 AM", "2099-06-01", "2024 Feb 30 10:00:00 AM",
    "2025 Mar 09 02:30:00 AM", "2024-02-29T12:00:00.123456789", "Jan 01, 1850",
    "December 31, 9999 23:59", "2024-13-01", "2024 Foo 01 10:00:00 AM", "24:61:61",
)  # fmt: skip
ODD_TEXT = (
    "", " ", "\t", "NULL", "None", "nan", "N/A", "\"", "\"\"", ",", "a,b", "line\nbreak",
    "cr\ronly", "x" * 5000, "é", "Ｆｕｌｌｗｉｄｔｈ", "\u202eRTL", "🚓🚑", "\ufeffBOM", "\x00",
    "\x7f\x1b[31m", "<script>alert(1)</script>", "${jndi:ldap://x}",
)  # fmt: skip

hostile_values = st.one_of(
    st.sampled_from(SQL_STRINGS),
    st.sampled_from(NUMBERS),
    st.integers(min_value=-(10**25), max_value=10**25).map(str),
    st.sampled_from(DATES),
    st.datetimes().map(lambda d: d.strftime(st_format(d))),
    st.sampled_from(ODD_TEXT),
    st.text(max_size=24),
)


def st_format(moment) -> str:
    """One of the datetime layouts the readers accept, picked by the value itself."""
    layouts = ("%Y %b %d %I:%M:%S %p", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S.%f", "%b %d, %Y")
    return layouts[moment.microsecond % len(layouts)]


# --- tables (CSV / XLSX) -----------------------------------------------------------------------


@dataclass(frozen=True)
class BaseTable:
    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]


def read_base_table(path: Path, rows: int = 60) -> BaseTable:
    with path.open(encoding="utf-8", newline="") as handle:
        records = list(csv.reader(handle))
    return BaseTable(tuple(records[0]), tuple(tuple(r) for r in records[1 : rows + 1]))


@dataclass
class TableCase:
    header: list[str]
    rows: list[list[str]]
    suffix: str = ".csv"
    line_end: str = "\n"
    typed_cells: bool = False
    csv_bytes_in_xlsx: bool = False
    byte_ops: list[tuple] = field(default_factory=list)
    ops: list[str] = field(default_factory=list)

    @property
    def countable(self) -> bool:
        return not self.byte_ops and not self.csv_bytes_in_xlsx

    def broken_rows(self) -> list[int]:
        """1-based data rows (as the reader numbers them) whose field count is wrong."""
        numbered = [row for row in self.rows if row]
        return [i for i, row in enumerate(numbered, 1) if len(row) != len(self.header)]

    def expected_rows(self) -> int:
        if self.suffix == ".csv":
            return sum(1 for row in self.rows if row)
        return sum(1 for row in self.rows if any(_xlsx_text(v) not in ("", None) for v in row))

    def csv_bytes(self) -> bytes:
        buffer = io.StringIO(newline="")
        # csv quotes a value holding only the line terminator's own characters: a bare CR in a
        # LF file would be an (unintended) line break.
        breaks = any("\r" in v or "\n" in v for row in [self.header, *self.rows] for v in row)
        quoting = csv.QUOTE_ALL if breaks else csv.QUOTE_MINIMAL
        writer = csv.writer(buffer, lineterminator=self.line_end, quoting=quoting)
        writer.writerow(self.header)
        writer.writerows(self.rows)
        return buffer.getvalue().encode("utf-8")

    def write(self, path: Path) -> Path:
        if self.suffix == ".xlsx" and not self.csv_bytes_in_xlsx:
            data = _xlsx_bytes(self)
        else:
            data = self.csv_bytes()
        for op in self.byte_ops:
            data = apply_byte_op(op, data)
        path.write_bytes(data)
        return path


_ILLEGAL_XML = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _xlsx_text(value: str) -> str:
    """The text a workbook cell can hold: no XML-illegal characters, and not a formula (which
    would be stored without a value)."""
    text = _ILLEGAL_XML.sub("", value)
    return "'" + text if text.startswith("=") else text


def _typed(value: str) -> object:
    """A cell as Excel would type it: integers and decimals as numbers."""
    text = value.strip()
    if re.fullmatch(r"-?\d{1,15}", text):
        return int(text)
    if re.fullmatch(r"-?\d{1,10}\.\d{1,6}", text):
        return float(text)
    return value


def _xlsx_bytes(case: TableCase) -> bytes:
    import openpyxl

    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append([_xlsx_text(h) for h in case.header])
    for row in case.rows:
        cells = [_xlsx_text(v) for v in row]
        sheet.append([_typed(v) if case.typed_cells else v for v in cells])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def apply_byte_op(op: tuple, data: bytes) -> bytes:
    kind = op[0]
    if kind == "truncate":
        return data[: int(len(data) * op[1])]
    if kind == "insert":
        position = int(len(data) * op[1])
        return data[:position] + op[2] + data[position:]
    if kind == "encode":
        text = data.decode("utf-8", errors="replace")  # an earlier op may have broken it
        return text.encode(op[1], errors="replace")
    if kind == "zero":
        return b""
    if kind == "garbage":
        return op[1]
    raise ValueError(kind)


BYTE_OPS = st.one_of(
    st.tuples(st.just("truncate"), st.floats(0.02, 0.98)),
    st.tuples(st.just("insert"), st.floats(0, 1), st.binary(min_size=1, max_size=8)),
    st.tuples(
        st.just("encode"),
        st.sampled_from(["latin-1", "cp1252", "utf-16", "utf-16-le", "utf-8-sig"]),
    ),
    st.tuples(st.just("zero")),
    st.tuples(st.just("garbage"), st.binary(min_size=1, max_size=300)),
)


def _pick(draw, items: list) -> int:
    return draw(st.integers(0, len(items) - 1))


def _set_value(draw, case: TableCase) -> None:
    if case.rows:
        row = case.rows[_pick(draw, case.rows)]
        if row:
            row[_pick(draw, row)] = draw(hostile_values)


KEY_COLUMNS = (
    "Incident Number", "Response Datetime", "FOLDERRSN", "START_DATE", "END_DATE",
    "GPSLATITUDE", "GPSLONGITUDE", "Response Time", "Council District",
)  # fmt: skip


def _set_key_value(draw, case: TableCase) -> None:
    """A hostile value in a column that decides a row's fate (key, dates, checked numbers)."""
    columns = [i for i, name in enumerate(case.header) if name in KEY_COLUMNS]
    if case.rows and columns:
        row = case.rows[_pick(draw, case.rows)]
        column = draw(st.sampled_from(columns))
        if column < len(row):
            row[column] = draw(hostile_values)


def _swap_fields(draw, case: TableCase) -> None:
    if case.rows:
        row = case.rows[_pick(draw, case.rows)]
        if len(row) > 1:
            i, j = _pick(draw, row), _pick(draw, row)
            row[i], row[j] = row[j], row[i]


def _duplicate_row(draw, case: TableCase) -> None:
    if case.rows:
        i = _pick(draw, case.rows)
        case.rows.insert(_pick(draw, case.rows), list(case.rows[i]))


def _drop_field(draw, case: TableCase) -> None:
    if case.rows:
        row = case.rows[_pick(draw, case.rows)]
        if row:
            del row[_pick(draw, row)]


def _extra_field(draw, case: TableCase) -> None:
    if case.rows:
        case.rows[_pick(draw, case.rows)].append(draw(hostile_values))


def _drop_column(draw, case: TableCase) -> None:
    if len(case.header) > 1:
        i = _pick(draw, case.header)
        del case.header[i]
        for row in case.rows:
            if i < len(row):
                del row[i]


def _duplicate_header(draw, case: TableCase) -> None:
    if len(case.header) > 1:
        case.header[_pick(draw, case.header)] = case.header[_pick(draw, case.header)]


def _rename_header(draw, case: TableCase) -> None:
    case.header[_pick(draw, case.header)] = draw(
        st.one_of(
            st.sampled_from(("", " ", "GEOID", "source_row", "Sector ")), st.text(max_size=12)
        )
    )


def _add_column(draw, case: TableCase) -> None:
    case.header.append(draw(st.sampled_from(("Notes", "", "Extra", "incident number"))))
    for row in case.rows:
        row.append(draw(st.sampled_from(("", "x", "'; DROP TABLE x; --"))))


def _shuffle_columns(draw, case: TableCase) -> None:
    order = draw(st.permutations(range(len(case.header))))
    case.header = [case.header[i] for i in order]
    case.rows = [[row[i] for i in order] if len(row) == len(order) else row for row in case.rows]


def _header_only(draw, case: TableCase) -> None:
    case.rows = []


def _blank_row(draw, case: TableCase) -> None:
    case.rows.insert(draw(st.integers(0, len(case.rows))), [])


# Value changes dominate: most inputs should reach the cleaner.
STRUCTURAL_OPS: tuple[Callable, ...] = (
    *(_set_value,) * 6,
    *(_set_key_value,) * 6,
    _swap_fields,
    _swap_fields,
    _duplicate_row,
    _duplicate_row,
    _drop_field,
    _extra_field,
    _drop_column,
    _duplicate_header,
    _rename_header,
    _add_column,
    _shuffle_columns,
    _header_only,
    _blank_row,
)


@st.composite
def table_cases(draw, bases: tuple[BaseTable, ...]) -> TableCase:
    base = draw(st.sampled_from(bases))
    count = draw(st.integers(0, 30))
    offset = _pick(draw, list(base.rows))
    rows = [list(base.rows[(offset + i) % len(base.rows)]) for i in range(count)]
    case = TableCase(list(base.header), rows, line_end=draw(st.sampled_from(["\n", "\r\n", "\r"])))
    for _ in range(draw(st.integers(0, 4))):
        op = draw(st.sampled_from(STRUCTURAL_OPS))
        op(draw, case)
        case.ops.append(op.__name__.lstrip("_"))
    form = draw(st.sampled_from(["csv"] * 8 + ["xlsx", "xlsx", "csv_named_xlsx"]))
    if form == "xlsx":
        case.suffix, case.typed_cells = ".xlsx", draw(st.booleans())
    elif form == "csv_named_xlsx":
        case.suffix, case.csv_bytes_in_xlsx = ".xlsx", True
    if draw(st.integers(0, 4)) == 0:
        case.byte_ops = draw(st.lists(BYTE_OPS, min_size=1, max_size=2))
    return case


def check_table_case_error(exc: DataError, case: TableCase, path: Path) -> None:
    """What a CSV whose rows are countable must fail with, if it fails on its structure."""
    check_data_error(exc, path)
    broken = case.broken_rows()
    if FIELD_COUNT_ERROR in str(exc) and case.countable and case.suffix == ".csv":
        assert broken and exc.row == broken[0], (str(exc), broken)


def must_fail(case: TableCase) -> bool:
    """A plain CSV with a row of the wrong field count cannot be read."""
    return case.suffix == ".csv" and case.countable and bool(case.broken_rows())


# --- GeoJSON features --------------------------------------------------------------------------

BOWTIE = [[[-97.75, 30.29], [-97.73, 30.31], [-97.73, 30.29], [-97.75, 30.31], [-97.75, 30.29]]]
HOSTILE_GEOMETRIES = (
    None,
    {},
    {"type": "Point", "coordinates": [-97.74, 30.3]},
    {"type": "LineString", "coordinates": [[-97.74, 30.3], [-97.7, 30.4]]},
    {"type": "Polygon", "coordinates": BOWTIE},
    {"type": "Polygon", "coordinates": []},
    {"type": "Polygon", "coordinates": [[[-97.7, 30.3], [-97.6, 30.3], [-97.6, 30.4]]]},
    {"type": "Polygon", "coordinates": [[[-97.7, 30.3], [-97.6, 30.3]]]},
    {"type": "Polygon", "coordinates": [[[0, 0], [1e300, 0], [1e300, 1e300], [0, 0]]]},
    {"type": "Polygon", "coordinates": [[[-97.7, 30.3], [-97.7, 30.3], [-97.7, 30.3], [-97.7, 30.3]]]},
    {"type": "MultiPolygon", "coordinates": [BOWTIE, BOWTIE]},
    {"type": "GeometryCollection", "geometries": [{"type": "Point", "coordinates": [0, 0]}]},
    {"type": "Polygon"},
    {"type": "Triangle", "coordinates": [[0, 0], [1, 1], [1, 0]]},
)  # fmt: skip
GEO_KEYS = ("GEOID", "STATEFP", "COUNTYFP", "TRACTCE", "BLKGRPCE", "ALAND", "AWATER",
            "INTPTLAT", "INTPTLON", "NAMELSAD", "MTFCC", "FUNCSTAT")  # fmt: skip
json_values = st.one_of(
    st.none(),
    hostile_values,
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.booleans(),
    st.just([1, 2]),
    st.just({"nested": "x"}),
)


@dataclass
class GeoCase:
    features: list[dict]
    suffix: str = ".geojson"
    byte_ops: list[tuple] = field(default_factory=list)
    ops: list[str] = field(default_factory=list)

    @property
    def countable(self) -> bool:
        return not self.byte_ops and self.suffix in (".geojson", ".json")

    def write(self, path: Path) -> Path:
        collection = {
            "type": "FeatureCollection",
            "crs": {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::4269"}},
            "features": self.features,
        }
        data = json.dumps(collection).encode("utf-8")
        for op in self.byte_ops:
            data = apply_byte_op(op, data)
        path.write_bytes(data)
        return path


def _geo_set_property(draw, case: GeoCase) -> None:
    if case.features:
        properties = case.features[_pick(draw, case.features)]["properties"]
        properties[draw(st.sampled_from(GEO_KEYS))] = draw(json_values)


def _geo_drop_property(draw, case: GeoCase) -> None:
    if case.features:
        properties = case.features[_pick(draw, case.features)]["properties"]
        properties.pop(draw(st.sampled_from(GEO_KEYS)), None)


def _geo_drop_property_everywhere(draw, case: GeoCase) -> None:
    key = draw(st.sampled_from(GEO_KEYS))
    for feature in case.features:
        feature["properties"].pop(key, None)


def _geo_set_geometry(draw, case: GeoCase) -> None:
    if case.features:
        case.features[_pick(draw, case.features)]["geometry"] = draw(
            st.sampled_from(HOSTILE_GEOMETRIES)
        )


def _geo_duplicate_feature(draw, case: GeoCase) -> None:
    if case.features:
        feature = case.features[_pick(draw, case.features)]
        case.features.append(json.loads(json.dumps(feature)))


def _geo_swap_properties(draw, case: GeoCase) -> None:
    if case.features:
        properties = case.features[_pick(draw, case.features)]["properties"]
        a, b = draw(st.sampled_from(GEO_KEYS)), draw(st.sampled_from(GEO_KEYS))
        properties[a], properties[b] = properties.get(b), properties.get(a)


def _geo_lower_case_twin(draw, case: GeoCase) -> None:
    if case.features:
        properties = case.features[_pick(draw, case.features)]["properties"]
        properties["geoid"] = properties.get("GEOID")


def _geo_no_features(draw, case: GeoCase) -> None:
    case.features = []


GEO_OPS: tuple[Callable, ...] = (
    *(_geo_set_property,) * 6,
    *(_geo_set_geometry,) * 3,
    _geo_drop_property,
    _geo_drop_property,
    _geo_drop_property_everywhere,
    _geo_duplicate_feature,
    _geo_swap_properties,
    _geo_lower_case_twin,
    _geo_no_features,
)


@st.composite
def geo_cases(draw, features: tuple[dict, ...]) -> GeoCase:
    count = draw(st.integers(1, 30))
    offset = draw(st.integers(0, len(features) - 1))
    chosen = [json.loads(json.dumps(features[(offset + i) % len(features)])) for i in range(count)]
    case = GeoCase(
        chosen, suffix=draw(st.sampled_from([".geojson"] * 8 + [".json", ".zip", ".gpkg"]))
    )
    for _ in range(draw(st.integers(0, 5))):
        op = draw(st.sampled_from(GEO_OPS))
        op(draw, case)
        case.ops.append(op.__name__.lstrip("_"))
    if draw(st.integers(0, 4)) == 0:
        case.byte_ops = draw(st.lists(BYTE_OPS, min_size=1, max_size=2))
    return case


def within(values: pd.Series, low: float, high: float) -> bool:
    array = values.to_numpy(dtype="float64", na_value=np.nan)
    array = array[~np.isnan(array)]
    return bool(((array >= low) & (array <= high)).all())
