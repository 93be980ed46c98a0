"""The first sheet of an XLSX workbook as all-text Arrow columns, in row batches.

Why batches: calamine (and fastexcel on top of it) builds the whole sheet as one dense range of
cells, 1.76 GB resident for the 835,198-row APD export before any conversion, and its `n_rows`
/`skip_rows` still parse and hold the whole sheet on every call. So the sheet XML is inflated
once as a stream, cut at `</row>` into pieces of about `_BATCH_BYTES`, and each piece is read
by fastexcel (calamine in Rust, cells straight into typed Arrow arrays) from a small stored
workbook made of the original parts (shared strings, styles) and that piece of the sheet. Cells
keep their own positions; a pin row before each piece holds column A, because fastexcel
numbers columns from the first used one. Text is then made with Arrow compute, never one
Python call per cell (numbers: "Reading XLSX workbooks" in docs/data-contracts.md).

The text is exactly that of the reference reader `read_xlsx_with_calamine` (python-calamine
cell by cell, the contract in `_cell_text`). Where fastexcel's typed column cannot tell a cell's
kind apart (a column mixing text with booleans, dates or numbers that a CSV export would print
in exponent form; time-of-day or duration cells) that piece is read by the reference reader
instead: exact, only slower, and real APD exports never need it.
"""

from __future__ import annotations

import datetime as dt
import io
import logging
import posixpath
import re
import zipfile
import zlib
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from xml.etree import ElementTree

import fastexcel
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from python_calamine import CalamineError, CalamineWorkbook, PasswordError, XmlError, ZipError

from safebeat_assets.errors import SourceFormatError

# fastexcel warns about every column of a piece it cannot type and so reads as text: text is what
# this reader asks for, so in a user's run output the notice is only noise.
logging.getLogger("fastexcel").setLevel(logging.ERROR)

# About 40,000 APD rows a piece; each piece reads the shared strings and styles again (~0.02 s
# here). Measured on the 835,198-row export (docs/data-contracts.md), seconds / peak RSS:
# 2 parsing threads and 48 MB pieces 11.3 s / 1.06 GB, 24 MB 13.1 s / 0.93 GB; 1 thread and
# 48 MB 14.8 s / 0.93 GB. Two threads use both cores while the main thread inflates.
_BATCH_BYTES = 48 << 20
_INFLATE_CHUNK = 8 << 20
_WORKERS = 2
_ROW_NUMBER = re.compile(rb'\s*<row\b[^>]*?\sr="(\d+)"[^>]*>')
_DIMENSION = re.compile(rb"<dimension\b[^>]*/>")
_SHEET_DATA = re.compile(rb"<sheetData\s*(/?)>")
_SHEET_END = b"</sheetData></worksheet>"
# A column is named by its pin-row cell: "pin" for column A, `__UNNAMED__<position>` after it.
_MIXED_COLUMN = re.compile(r"for column (?:__UNNAMED__(\d+)|pin)\b")
# Text that fastexcel prints for a non-text cell differently from the reference reader, in a
# column it had to read as text: booleans, datetimes, and numbers Python prints with an exponent.
_AMBIGUOUS_TEXT = r"^(true|false|-0|-?0\.0000\d*|-?\d{16,}|\d{4}-\d\d-\d\d \d\d:\d\d:\d\d.*)$"
_INT_LIMIT = 2.0**53
_MS_PER_DAY = 86_400_000
_RELATIONSHIP = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id"


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


# What reading a damaged zip member raises.
_DAMAGED_PART = (zipfile.BadZipFile, zlib.error, EOFError)


class _NeedsReference(Exception):
    """The fast path cannot promise the reference reader's text for this piece."""


def read_xlsx_as_text(path: Path) -> pa.Table:
    """The first sheet of `path`: row 1 is the header (names as text, blank -> ""), every
    other row that holds a value is a data row, every column a nullable string column as wide
    as the widest row. Raises SourceFormatError for a damaged or empty workbook."""
    path = Path(path)
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise SourceFormatError(path, f"cannot read as an XLSX workbook: {exc}") from exc
    with archive:
        try:
            sheet = _first_sheet_part(archive)
        except (KeyError, IndexError, StopIteration, ElementTree.ParseError, *_DAMAGED_PART):
            # An unusual package layout or a damaged package part: calamine knows more layouts,
            # and says what is wrong with a damaged one.
            return read_xlsx_with_calamine(path)
        try:
            parts = {
                name: archive.read(name)
                for name in archive.namelist()
                if name != sheet and not name.startswith("xl/worksheets/sheet")
            }
            with archive.open(sheet) as stream:
                return _read_sheet(path, stream, parts, sheet)
        except (
            _NeedsReference,
            fastexcel.FastExcelError,
            CalamineError,
            XmlError,
            *_DAMAGED_PART,
        ):
            # A damaged package or sheet, or cells only the reference reads exactly: it reads
            # them, or raises SourceFormatError with calamine's own account of the damage.
            return read_xlsx_with_calamine(path)


def _first_sheet_part(archive: zipfile.ZipFile) -> str:
    """The zip member of the workbook's first sheet (in workbook order, as calamine counts)."""
    rels = ElementTree.fromstring(archive.read("_rels/.rels"))
    book = next(
        r.get("Target") for r in rels if r.get("Type", "").endswith("/officeDocument")
    ).lstrip("/")
    book_dir = posixpath.dirname(book)
    book_rels = posixpath.join(book_dir, "_rels", posixpath.basename(book) + ".rels")
    targets = {
        r.get("Id"): r.get("Target") for r in ElementTree.fromstring(archive.read(book_rels))
    }
    sheets = next(
        el for el in ElementTree.fromstring(archive.read(book)) if el.tag.endswith("sheets")
    )
    target = targets[sheets[0].get(_RELATIONSHIP)]
    member = target.lstrip("/") if target.startswith("/") else posixpath.join(book_dir, target)
    archive.getinfo(member)
    return posixpath.normpath(member)


def _sheet_pieces(stream) -> tuple[bytes, Iterator[bytes] | None]:
    """(the sheet XML up to `<sheetData>`, `<row>` runs of about `_BATCH_BYTES` each, or None
    for a sheet without rows), inflated as a stream."""
    buffer = b""
    while True:
        chunk = stream.read(_INFLATE_CHUNK)
        buffer += chunk
        found = _SHEET_DATA.search(buffer)
        if found or not chunk or len(buffer) > _BATCH_BYTES:
            break
    if found is None or found.group(1):
        # No rows, or XML this cutter does not know (e.g. `<x:sheetData>` with a prefix).
        return buffer, None
    head = buffer[: found.end()]

    def pieces() -> Iterator[bytes]:
        chunks, size = [buffer[found.end() :]], len(buffer) - found.end()
        while True:
            chunk = stream.read(_INFLATE_CHUNK)
            chunks.append(chunk)
            size += len(chunk)
            if size < _BATCH_BYTES and chunk:
                continue
            data = b"".join(chunks)
            end = data.rfind(b"</row>") + len(b"</row>") if chunk else data.find(b"</sheetData>")
            if end > 0:
                yield data[:end]
            if not chunk:
                return
            chunks, size = [data[end:]], len(data) - end

    return head, pieces()


def _workbook_bytes(parts: dict[str, bytes], sheet: str, *sheet_xml: bytes) -> bytes:
    # Stored, not deflated: the piece is read once, right away, and crc32 is all it costs.
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_STORED) as book:
        for name, payload in parts.items():
            book.writestr(name, payload)
        with book.open(sheet, "w", force_zip64=True) as member:
            for text in sheet_xml:
                member.write(text)
    return out.getvalue()


def _pinned(head: bytes, rows: bytes, first_row: int) -> tuple[bytes, ...]:
    """A sheet of `rows` with a pin cell in column A on the row before them."""
    pin = first_row - 1
    return (
        head,
        b'<row r="%d"><c r="A%d" t="inlineStr"><is><t>pin</t></is></c></row>' % (pin, pin),
        rows,
        _SHEET_END,
    )


def _read_sheet(path: Path, stream, parts: dict[str, bytes], sheet: str) -> pa.Table:
    head, pieces = _sheet_pieces(stream)
    # calamine sizes its cell buffer from the sheet's stated dimension: drop it, or every
    # piece would reserve room for the whole sheet.
    head = _DIMENSION.sub(b"", head)
    header: list[object] | None = None
    batches: list[list[pa.Array]] = []
    mixed: set[int] = set()
    # fastexcel releases the GIL: a piece is parsed while the next one is inflated and cut.
    with ThreadPoolExecutor(max_workers=_WORKERS) as pool:
        pending: deque[Future[list[pa.Array]]] = deque()
        for rows in pieces or ():
            first = _ROW_NUMBER.match(rows)
            if first is None:
                raise _NeedsReference  # rows without numbers
            if header is None:
                if int(first.group(1)) != 1 or first.group(0).endswith(b"/>"):
                    _blank_header(path)
                end = rows.index(b"</row>") + len(b"</row>")
                header = _header_cells(parts, sheet, head, rows[:end])
                rows = rows[end:]
                first = _ROW_NUMBER.match(rows)
                if first is None:
                    continue
            first_row = int(first.group(1))
            book = _workbook_bytes(parts, sheet, *_pinned(head, rows, first_row))
            if not batches and not pending:
                # The first piece alone, so that the columns it finds mixed are known to all.
                batches.append(_read_piece(book, mixed))
                continue
            pending.append(pool.submit(_read_piece, book, mixed))
            if len(pending) > _WORKERS:
                batches.append(pending.popleft().result())
        batches.extend(future.result() for future in pending)
    if header is None:
        raise _NeedsReference  # the reference says why there is no header
    return _assemble(path, header, batches)


def _header_cells(parts: dict[str, bytes], sheet: str, head: bytes, row: bytes) -> list[object]:
    book = _workbook_bytes(parts, sheet, head, row, _SHEET_END)
    workbook = CalamineWorkbook.from_filelike(io.BytesIO(book))
    try:
        rows = workbook.get_sheet_by_index(0).to_python(skip_empty_area=False)
    finally:
        workbook.close()
    return list(rows[0]) if rows else []


def _blank_header(path: Path):
    raise SourceFormatError(
        path, "the first row of the first sheet is blank: expected a header row"
    )


def _read_piece(book: bytes, mixed: set[int]) -> list[pa.Array]:
    """One piece as text columns (position = sheet column), blank rows dropped. `mixed`
    carries the columns found holding several kinds of cell to the next pieces."""
    reader = fastexcel.read_excel(book)
    known = set(mixed)  # this piece's own view: other threads add to `mixed` meanwhile
    while True:
        try:
            batch = reader.load_sheet(
                0,
                # The pin row as the header: fastexcel then starts at the piece's first row
                # (skip_rows counts from sheet row 1 and costs more the further down it
                # starts: 0.53 s against 0.19 s for a piece at row 800,000).
                header_row=0,
                schema_sample_rows=None,
                dtype_coercion="strict",
                dtypes=dict.fromkeys(sorted(known), "string") or None,
                eager=True,
            )
            break
        except fastexcel.UnsupportedColumnTypeCombinationError as exc:
            found = _MIXED_COLUMN.search(str(exc))
            position = None if found is None else int(found.group(1) or 0)
            if position is None or position in known:
                raise _NeedsReference from exc
            known.add(position)
            mixed.add(position)
    try:
        columns = [
            _text(column, position in known) for position, column in enumerate(batch.columns)
        ]
    except _NeedsReference:
        columns = _reference_piece(book)
    if not columns:
        return columns
    keep = columns[0].is_valid()
    for column in columns[1:]:
        keep = pc.or_(keep, column.is_valid())
    if pc.all(keep).as_py():
        return columns
    return [column.filter(keep) for column in columns]


def _reference_piece(book: bytes) -> list[pa.Array]:
    workbook = CalamineWorkbook.from_filelike(io.BytesIO(book))
    try:
        rows = workbook.get_sheet_by_index(0).to_python(skip_empty_area=True)[1:]
    finally:
        workbook.close()
    width = max((len(row) for row in rows), default=0)
    return [
        pa.array([_cell_text(row[i]) if i < len(row) else None for row in rows], pa.string())
        for i in range(width)
    ]


def _text(column: pa.Array, mixed: bool) -> pa.Array:
    """A typed fastexcel column as the reference reader's text, or _NeedsReference."""
    kind = column.type
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        column = column.cast(pa.string())
        if mixed and pc.any(pc.match_substring_regex(column, _AMBIGUOUS_TEXT)).as_py():
            raise _NeedsReference
        return pc.if_else(pc.equal(column, ""), pa.scalar(None, pa.string()), column)
    if pa.types.is_floating(kind):
        return _number_text(column.cast(pa.float64()))
    if pa.types.is_integer(kind):
        return column.cast(pa.string())
    if pa.types.is_boolean(kind):
        return pc.if_else(column, "True", "False")
    if pa.types.is_timestamp(kind):
        return _datetime_text(column)
    if pa.types.is_null(kind):
        return pa.nulls(len(column), pa.string())
    raise _NeedsReference  # durations, dates of other kinds


def _number_text(values: pa.Array) -> pa.Array:
    """Integral doubles as their digits, others as Python's repr (Arrow prints the same
    shortest digits, but switches to exponents at other magnitudes)."""
    numbers = values.to_numpy(zero_copy_only=False)
    valid = ~np.isnan(numbers) if values.null_count else np.ones(len(numbers), bool)
    magnitude = np.abs(np.where(valid, numbers, 0.0))
    integral = valid & (np.floor(numbers) == numbers) & (magnitude < _INT_LIMIT)
    as_int = pa.array(np.where(integral, numbers, 0.0).astype(np.int64)).cast(pa.string())
    plain = values.cast(pa.string())
    text = pc.if_else(pa.array(integral), as_int, plain)
    odd = valid & ~integral & ((magnitude < 1e-4) | (magnitude >= 1e16))
    odd |= (
        valid
        & ~integral
        & pc.match_substring(plain, "e").fill_null(False).to_numpy(zero_copy_only=False)
    )
    if odd.any():
        # Exponent-range values are rare enough to print one by one.
        fixed = text.to_pylist()
        for index in np.flatnonzero(odd):
            fixed[index] = repr(float(numbers[index]))
        text = pa.array(fixed, pa.string())
    return text


def _datetime_text(values: pa.Array) -> pa.Array:
    """`YYYY-MM-DD HH:MM:SS` rounded to the second, a bare date at exactly midnight (the
    reference reader gets a date for those); time-of-day cells (before 1900) go to it."""
    ms = values.cast(pa.timestamp("ms")).cast(pa.int64()).fill_null(0).to_numpy()
    if (ms < _EPOCH_1900_MS).any():
        raise _NeedsReference
    seconds = pa.array((ms + 500) // 1000, mask=values.is_null().to_numpy(zero_copy_only=False))
    seconds = seconds.cast(pa.timestamp("s"))
    # Arrow's casts print ISO text with a space, as strftime would, at a tenth of its cost.
    full = seconds.cast(pa.string())
    day = seconds.cast(pa.date32()).cast(pa.string())
    return pc.if_else(pa.array(ms % _MS_PER_DAY == 0), day, full)


_EPOCH_1900_MS = int((dt.datetime(1900, 1, 1) - dt.datetime(1970, 1, 1)).total_seconds() * 1000)


def _assemble(path: Path, header: list[object], batches: list[list[pa.Array]]) -> pa.Table:

    names = [None if cell == "" else cell for cell in header]
    if not names or all(name is None for name in names):
        _blank_header(path)
    width = max([len(names)] + [len(columns) for columns in batches])
    headers = [
        "" if i >= len(names) or names[i] is None else _cell_text(names[i]) or ""
        for i in range(width)
    ]
    arrays = []
    for i in range(width):
        chunks = [
            columns[i] if i < len(columns) else pa.nulls(len(columns[0]), pa.string())
            for columns in batches
            if columns
        ]
        arrays.append(pa.chunked_array(chunks, pa.string()))
    return pa.Table.from_arrays(arrays, names=headers)


def read_xlsx_with_calamine(path: Path) -> pa.Table:
    """The reference reader: python-calamine's cells, one `_cell_text` call each. Exact but
    30–40 s and 2.2 GB for the 835,198-row export; the fast reader falls back to it where it must."""
    try:
        workbook = CalamineWorkbook.from_path(str(path))
        try:
            rows = workbook.get_sheet_by_index(0).to_python(skip_empty_area=False)
        finally:
            workbook.close()
    except (CalamineError, PasswordError, XmlError, ZipError, IndexError, ValueError) as exc:
        raise SourceFormatError(path, f"cannot read as an XLSX workbook: {exc}") from exc
    if not rows:
        raise SourceFormatError(path, "empty workbook: the first sheet has no header row")
    header_row = [None if cell == "" else cell for cell in rows[0]]
    if all(cell is None for cell in header_row):
        _blank_header(path)
    # calamine reports empty cells as "", which a CSV export would leave blank too.
    body = [row for row in rows[1:] if any(cell not in ("", None) for cell in row)]

    headers: list[str] = []
    arrays: list[pa.Array] = []
    for index, name in enumerate(header_row):
        values = [_cell_text(row[index]) if index < len(row) else None for row in body]
        headers.append("" if name is None else _cell_text(name) or "")
        arrays.append(pa.array(values, type=pa.string()))
    return pa.Table.from_arrays(arrays, names=headers)
