"""File-level helpers shared by the readers: hashing, listing, and reading a CSV/XLSX sheet
as all-text (string) columns.

Raw frames keep every value as the text the file holds (blank -> None); typing happens in
`transform/`, so a parsing fix never needs the file again.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pa_csv

from safebeat_assets.sources.columns import SOURCE_FILE, SOURCE_ROW, SOURCE_SHA256

CSV_SUFFIXES = (".csv",)
XLSX_SUFFIXES = (".xlsx", ".xlsm")
_HASH_CHUNK = 1 << 20


def file_sha256(path: Path) -> str:
    """Hex SHA-256 of a file's bytes, read in 1 MiB chunks (source files reach ~180 MB)."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as handle:
        for chunk in iter(lambda: handle.read(_HASH_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def list_source_files(folder: Path, suffixes: Iterable[str]) -> list[Path]:
    """Files in `folder` with one of `suffixes` (case-insensitive), in name order — the order in
    which several landed files are concatenated."""
    wanted = {s.lower() for s in suffixes}
    return sorted(p for p in Path(folder).iterdir() if p.is_file() and p.suffix.lower() in wanted)


def read_text_table(path: Path) -> pa.Table:
    """Read a CSV file or the first sheet of an XLSX file with its original headers (repeats
    allowed), every column as a nullable string column. Dispatches on the file suffix.

    A pyarrow table rather than a DataFrame: renaming, reordering and adding null columns are
    then free, and the one conversion to pandas happens in `text_frame`."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix in CSV_SUFFIXES:
        return _read_csv_as_text(path)
    if suffix in XLSX_SUFFIXES:
        return _read_xlsx_as_text(path)
    raise ValueError(
        f"{path}: unsupported file type {suffix!r}; expected one of "
        f"{sorted(CSV_SUFFIXES + XLSX_SUFFIXES)}"
    )


def select_text_columns(table: pa.Table, columns: Sequence[str]) -> pa.Table:
    """`columns` in that order; any the table lacks are added as all-null strings."""
    present = set(table.column_names)
    arrays = [
        table[name] if name in present else pa.nulls(table.num_rows, pa.string())
        for name in columns
    ]
    return pa.Table.from_arrays(arrays, names=list(columns))


def text_frame(table: pa.Table) -> pd.DataFrame:
    """String table -> DataFrame of object columns holding str/None (never the text 'nan').
    Equal strings share one Python object (pyarrow deduplicates), which keeps memory low."""
    return table.to_pandas(deduplicate_objects=True)


def with_provenance(table: pa.Table, path: Path, sha256: str) -> pa.Table:
    """The Arrow twin of `add_provenance`: the same three columns appended to a text table."""
    rows = table.num_rows
    constant = np.zeros(rows, dtype=np.int32)
    return (
        table.append_column(SOURCE_FILE, pa.array([Path(path).name], pa.string()).take(constant))
        .append_column(SOURCE_SHA256, pa.array([sha256], pa.string()).take(constant))
        .append_column(SOURCE_ROW, pa.array(np.arange(1, rows + 1, dtype="int64")))
    )


def add_provenance(frame: pd.DataFrame, path: Path, sha256: str) -> pd.DataFrame:
    """Append source_file (name only: landing folders move between environments),
    source_sha256 and the 1-based data row number (in place; returns the frame)."""
    frame[SOURCE_FILE] = Path(path).name
    frame[SOURCE_SHA256] = sha256
    frame[SOURCE_ROW] = np.arange(1, len(frame) + 1, dtype="int64")
    return frame


# --- CSV -------------------------------------------------------------------------------------


def _read_csv_header(path: Path) -> list[str]:
    # utf-8-sig drops the byte-order mark Excel puts in front of the first header.
    with path.open(encoding="utf-8-sig", newline="") as handle:
        header = next(csv.reader(handle), None)
    if not header:
        raise ValueError(f"{path}: empty file, no header row")
    return header


def _read_csv_as_text(path: Path) -> pd.DataFrame:
    header = _read_csv_header(path)
    # Positional placeholder names let pyarrow read every column as string even when the
    # header repeats a name (the caller reports that as a schema error, with the real names).
    placeholders = [f"c{i}" for i in range(len(header))]
    try:
        table = pa_csv.read_csv(
            path,
            read_options=pa_csv.ReadOptions(skip_rows=1, column_names=placeholders),
            convert_options=pa_csv.ConvertOptions(
                column_types=dict.fromkeys(placeholders, pa.string()),
                null_values=[""],
                strings_can_be_null=True,
                quoted_strings_can_be_null=True,
            ),
        )
    except pa.ArrowInvalid as exc:  # ragged rows, bad UTF-8, ...
        raise ValueError(f"{path}: cannot read as CSV: {exc}") from exc
    return table.rename_columns(header)


# --- XLSX ------------------------------------------------------------------------------------


def _excel_datetime_text(value: dt.datetime) -> str:
    # Excel stores datetimes as day fractions; a reader can hand back 23:59:46.999999 for
    # 23:59:47, so round to the nearest second before printing.
    if value.microsecond:
        value = (value + dt.timedelta(microseconds=500_000)).replace(microsecond=0)
    return value.strftime("%Y-%m-%d %H:%M:%S")


def _cell_text(value: object) -> str | None:
    """One XLSX cell as the text a CSV export would carry (contract: datetimes as
    `YYYY-MM-DD HH:MM:SS`, floats as their repr, e.g. `484530412002.0`)."""
    if value is None:
        return None
    kind = type(value)
    if kind is str:
        return value or None
    if kind is float and value.is_integer() and abs(value) < 2**53:
        # Excel keeps every number as a double; an integral one reads as the integer a CSV
        # export would carry (`253041790`, not `253041790.0`).
        return str(int(value))
    if kind is float:
        return repr(value)
    if kind is bool:
        return str(value)
    if kind is int:
        return str(value)
    if kind is dt.datetime:
        return _excel_datetime_text(value)
    if kind is dt.date or kind is dt.time:
        return value.isoformat()
    return str(value)


def _read_xlsx_as_text(path: Path) -> pa.Table:
    # calamine (Rust) parses a 180 MB APD workbook in seconds; openpyxl needed ~10 minutes.
    from python_calamine import CalamineWorkbook

    workbook = CalamineWorkbook.from_path(str(path))
    try:
        rows = workbook.get_sheet_by_index(0).to_python(skip_empty_area=False)
    finally:
        workbook.close()
    if not rows:
        raise ValueError(f"{path}: empty workbook, no header row")
    header_row = [None if cell == "" else cell for cell in rows[0]]
    # calamine reports empty cells as "", which a CSV export would leave blank too.
    body = [row for row in rows[1:] if any(cell not in ("", None) for cell in row)]

    headers: list[str] = []
    arrays: list[pa.Array] = []
    for index, name in enumerate(header_row):
        values = [_cell_text(row[index]) if index < len(row) else None for row in body]
        if name is None and all(v is None for v in values):
            continue  # trailing empty column in the sheet's used range
        headers.append("" if name is None else str(name))
        arrays.append(pa.array(values, type=pa.string()))
    return pa.Table.from_arrays(arrays, names=headers)
