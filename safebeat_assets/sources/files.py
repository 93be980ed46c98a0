"""File-level helpers shared by the readers: hashing, listing, and reading a CSV/XLSX sheet
as all-text (string) columns.

Raw frames keep every value as the text the file holds (blank -> None); typing happens in
`transform/`, so a parsing fix never needs the file again.

A file that cannot be read as a table raises `SourceFormatError` naming the file and, where it
can be known, the column and the data row (1-based, header excluded). Text encoding: CSV files
must be UTF-8 (a leading byte-order mark is accepted). Any other byte sequence is an error
naming the line and byte offset, never a silent guess: Socrata exports are always UTF-8, so a
non-UTF-8 byte means a re-saved or damaged file, and decoding it as cp1252/latin-1 would
"succeed" on any bytes at all and store wrong text without anyone noticing.
"""

from __future__ import annotations

import csv
import hashlib
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv

from safebeat_assets.errors import SourceFormatError
from safebeat_assets.sources.columns import SOURCE_FILE, SOURCE_ROW, SOURCE_SHA256

CSV_SUFFIXES = (".csv",)
XLSX_SUFFIXES = (".xlsx", ".xlsm")
_HASH_CHUNK = 1 << 20
# The header must end within this many bytes; real headers are a few hundred bytes long.
_HEAD_BYTES = 1 << 16
_ZIP_MAGIC = b"PK\x03\x04"
_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")
# Rows listed by number in a field-count error; the rest are only counted.
_LISTED_ROWS = 10


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

    A header-only file is a table with zero rows. Raises SourceFormatError for a file that is
    not a readable table: empty, the wrong format for its suffix (CSV text named .xlsx, a
    workbook named .csv), not UTF-8, rows with the wrong number of fields, NUL bytes, or a
    column holding values under a blank header.

    A pyarrow table rather than a DataFrame: renaming, reordering and adding null columns are
    then free, and the one conversion to pandas happens in `text_frame`."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in CSV_SUFFIXES + XLSX_SUFFIXES:
        raise SourceFormatError(
            path,
            f"unsupported file type {suffix!r}; expected one of "
            f"{sorted(CSV_SUFFIXES + XLSX_SUFFIXES)}",
        )
    with path.open("rb") as handle:
        head = handle.read(_HEAD_BYTES)
    if not head:
        raise SourceFormatError(path, "empty file (0 bytes): expected a header row")
    if suffix in CSV_SUFFIXES:
        if head.startswith(_ZIP_MAGIC):
            raise SourceFormatError(
                path,
                "not CSV text but a ZIP archive (an XLSX workbook saved with a .csv name?); "
                "export it as CSV or give it the .xlsx suffix",
            )
        table = _read_csv_as_text(path, head)
    else:
        if not head.startswith(_ZIP_MAGIC):
            hint = (
                "; the bytes look like CSV text: give it the .csv suffix"
                if _looks_like_text(head)
                else ""
            )
            raise SourceFormatError(path, f"not an XLSX workbook (no ZIP signature){hint}")
        # imported here: fastexcel and python-calamine load whenever the definitions do otherwise.
        from safebeat_assets.sources.xlsx import read_xlsx_as_text

        table = read_xlsx_as_text(path)
    table = _drop_blank_headed_empty_columns(path, table)
    _refuse_nul_characters(path, table)
    return table


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


# --- checks shared by both formats -------------------------------------------------------------


def _looks_like_text(head: bytes) -> bool:
    if any(byte < 0x20 and byte not in b"\t\r\n" for byte in head[:4096]):
        return False
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        # A multi-byte character cut by the sniff window is still text.
        if exc.reason != "unexpected end of data" or exc.start < len(head) - 3:
            return False
    return b"\x00" not in head


def _drop_blank_headed_empty_columns(path: Path, table: pa.Table) -> pa.Table:
    """Drop columns with a blank header and no value (a trailing separator on every line, or
    the empty end of a sheet's used range); a blank-headed column holding values is an error:
    its values cannot be bound to a column name."""
    keep = []
    for position, name in enumerate(table.column_names):
        column = table.column(position)
        if str(name).strip():
            keep.append(position)
            continue
        if column.null_count == len(column):
            continue
        first = int(pc.index(pc.is_valid(column), True).as_py()) + 1
        raise SourceFormatError(
            path,
            f"the column in position {position + 1} has a blank header but holds values",
            row=first,
        )
    if len(keep) == table.num_columns:
        return table
    return table.select(keep)


def _refuse_nul_characters(path: Path, table: pa.Table) -> None:
    """A NUL character never occurs in a text export (it is binary data or UTF-16 read as
    bytes), and PostgreSQL text cannot store one: name the first place it occurs."""
    for name, column in zip(table.column_names, table.columns, strict=True):
        if not any(_buffer_has_nul(chunk) for chunk in column.chunks):
            continue
        hits = pc.match_substring(column, "\x00")
        if pc.any(hits).as_py():
            row = int(pc.index(hits, True).as_py()) + 1
            raise SourceFormatError(
                path,
                "contains a NUL character (binary data or a UTF-16 file, not UTF-8 text)",
                column=str(name),
                row=row,
            )


def _buffer_has_nul(chunk: pa.Array) -> bool:
    # A scan of the raw value bytes (memchr speed); the per-value search that finds the row
    # only runs when it hits, so a clean export costs a few milliseconds, not a second.
    data = chunk.buffers()[2] if len(chunk.buffers()) > 2 else None
    return data is not None and data.to_pybytes().find(b"\x00") >= 0


# --- CSV -------------------------------------------------------------------------------------


def _first_invalid_utf8(path: Path) -> tuple[int, int, bytes] | None:
    """(byte offset, 1-based line, offending bytes) of the first byte sequence that is not
    UTF-8, or None. Streams the file: only called once a read has failed."""
    offset, lines, carry = 0, 0, b""
    with path.open("rb") as handle:
        while True:
            chunk = handle.read(_HASH_CHUNK)
            data = carry + chunk
            if not data:
                return None
            try:
                data.decode("utf-8")
            except UnicodeDecodeError as exc:
                # A character split by the chunk boundary: decode it with the next chunk.
                if chunk and exc.reason == "unexpected end of data" and exc.start >= len(data) - 3:
                    good, carry = data[: exc.start], data[exc.start :]
                    offset, lines = offset + len(good), lines + good.count(b"\n")
                    continue
                line = lines + data[: exc.start].count(b"\n") + 1
                return offset + exc.start, line, data[exc.start : exc.end]
            if not chunk:
                return None
            offset, lines, carry = offset + len(data), lines + data.count(b"\n"), b""


def _encoding_error(path: Path, found: tuple[int, int, bytes]) -> SourceFormatError:
    offset, line, raw = found
    where = "in the header" if line == 1 else f"on line {line}"
    return SourceFormatError(
        path,
        f"not UTF-8 text: byte {raw.hex(' ').upper()} at byte offset {offset:,} {where} "
        "(a Windows-1252/Latin-1 re-save?); only UTF-8 CSV is accepted, re-export the file "
        "as UTF-8 CSV",
    )


def _read_csv_header(path: Path, head: bytes) -> tuple[list[str], int]:
    """The header's names and its length in bytes (a quoted name may hold a line break, so
    the header is a CSV record, not a line)."""
    if head.startswith(_UTF16_BOMS) or b"\x00" in head.split(b"\n", 1)[0]:
        raise SourceFormatError(
            path,
            "the header is UTF-16 or binary (NUL bytes or a UTF-16 byte-order mark), not UTF-8 "
            "text; re-export the file as UTF-8 CSV",
        )
    lines = head.splitlines(keepends=True)

    def text_lines():
        for number, line in enumerate(lines, 1):
            try:
                # utf-8-sig drops the byte-order mark Excel puts in front of the first header.
                yield line.decode("utf-8-sig" if number == 1 else "utf-8")
            except UnicodeDecodeError:
                raise _encoding_error(
                    path, _first_invalid_utf8(path) or (0, number, line[:1])
                ) from None

    reader = csv.reader(text_lines())
    try:
        header = next(reader, [])
    except csv.Error as exc:
        raise SourceFormatError(path, f"cannot read the header row: {exc}") from exc
    consumed = sum(len(line) for line in lines[: reader.line_num])
    complete = consumed < len(head) or lines[-1].endswith((b"\n", b"\r"))
    if not complete and len(head) == _HEAD_BYTES:
        raise SourceFormatError(
            path,
            f"the header row does not end within the first {_HEAD_BYTES:,} bytes "
            "(an unclosed quote, or not CSV at all)",
        )
    if not any(name.strip() for name in header):
        raise SourceFormatError(path, "the first line is blank: expected a header row")
    return header, consumed


def _read_csv_as_text(path: Path, head: bytes) -> pa.Table:
    header, header_bytes = _read_csv_header(path, head)
    # Positional placeholder names let pyarrow read every column as string even when the
    # header repeats a name (the caller reports that as a schema error, with the real names).
    placeholders = [f"c{i}" for i in range(len(header))]
    convert_options = pa_csv.ConvertOptions(
        column_types=dict.fromkeys(placeholders, pa.string()),
        null_values=[""],
        strings_can_be_null=True,
        quoted_strings_can_be_null=True,
    )

    def read(parse_options: pa_csv.ParseOptions) -> pa.Table:
        with path.open("rb") as handle:
            handle.seek(header_bytes)
            return pa_csv.read_csv(
                handle,
                read_options=pa_csv.ReadOptions(column_names=placeholders),
                parse_options=parse_options,
                convert_options=convert_options,
            )

    try:
        table = read(pa_csv.ParseOptions())
    except pa.ArrowInvalid as exc:
        if str(exc).startswith("Empty CSV file"):  # header only
            return _empty_text_table(header)
        # A quoted value holding a line break (valid CSV, e.g. an Excel cell with Alt+Enter)
        # splits its record in the fast reader: read again allowing them before reporting.
        if "columns, got" not in str(exc):
            raise _csv_error(path, header, exc) from exc
        try:
            table = read(pa_csv.ParseOptions(newlines_in_values=True))
        except pa.ArrowInvalid as again:
            raise _csv_error(path, header, again) from again
    return table.rename_columns(header)


def _empty_text_table(header: list[str]) -> pa.Table:
    """A header-only file: the header's columns, zero rows."""
    return pa.Table.from_arrays([pa.array([], pa.string()) for _ in header], names=header)


def _csv_error(path: Path, header: list[str], exc: pa.ArrowInvalid) -> SourceFormatError:
    """Say what is wrong with a CSV pyarrow could not read, and where."""
    message = str(exc)
    if "invalid UTF8" in message:
        found = _first_invalid_utf8(path)
        if found is not None:
            return _encoding_error(path, found)
    bad_rows = _rows_with_wrong_field_count(path, len(header))
    if bad_rows:
        (row, line, fields), count = bad_rows[0], len(bad_rows)
        listed = ", ".join(str(r) for r, _, _ in bad_rows[:_LISTED_ROWS])
        more = f" and {count - _LISTED_ROWS:,} more" if count > _LISTED_ROWS else ""
        return SourceFormatError(
            path,
            f"expected {len(header)} fields (as in the header), found {fields} on line "
            f"{line} of the file (a truncated or shifted line); {count:,} row(s) have the "
            f"wrong number of fields: rows {listed}{more}",
            row=row,
        )
    return SourceFormatError(path, f"cannot read as CSV: {message}")


def _rows_with_wrong_field_count(path: Path, expected: int) -> list[tuple[int, int, int]]:
    """(data row, line, fields) of every record whose field count differs from the header's,
    numbering rows as the reader does (blank lines skipped). The csv module is slow but only
    runs once a read has failed, and unlike pyarrow it knows each record's line."""
    found: list[tuple[int, int, int]] = []
    with path.open(encoding="utf-8-sig", errors="replace", newline="") as handle:
        reader = csv.reader(handle)
        row = 0
        try:
            next(reader, None)
            for record in reader:
                if not record:
                    continue
                row += 1
                if len(record) != expected:
                    found.append((row, reader.line_num, len(record)))
        except csv.Error:
            # An unparseable record (e.g. a field longer than the csv module allows): pyarrow's
            # own message is reported instead.
            return found
    return found
