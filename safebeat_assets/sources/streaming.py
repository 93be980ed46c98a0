"""APD call exports read in bounded batches: the same text, checks and errors as
`read_apd_calls_table`, without ever holding a whole export in memory.

A CSV export is parsed block by block (STREAM_BLOCK_BYTES of text at a time, about 150,000
rows); an XLSX workbook has no row-streaming reader that meets the speed target, so its one
sheet comes as a single batch. Each batch carries the canonical 27 columns plus provenance,
with `source_row` counted from the file's first data row, so a batch is indistinguishable from
the matching slice of `read_apd_calls_table(path)`.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv

from safebeat_assets.errors import SourceFormatError
from safebeat_assets.sources.adapters import AdapterSpec, adapt_calls, detect_adapter
from safebeat_assets.sources.adapters.registry import builtin_adapters
from safebeat_assets.sources.apd_calls import read_apd_calls_table
from safebeat_assets.sources.columns import (
    APD_CORE_COLUMNS,
    APD_RAW_COLUMNS,
    canonical_header_map,
    check_columns,
)
from safebeat_assets.sources.files import (
    _HEAD_BYTES,
    _ZIP_MAGIC,
    CSV_SUFFIXES,
    _csv_error,
    _drop_blank_headed_empty_columns,
    _read_csv_header,
    _refuse_nul_characters,
    read_text_table,
    select_text_columns,
    with_provenance,
)

STREAM_BLOCK_BYTES = 32 << 20
# The adapter of Austin's layouts: its files take the APD reader's own path, unchanged.
AUSTIN_ADAPTER = "austin"


class ForeignExportError(SourceFormatError):
    """A landed calls file in another city's layout than the configured city's."""


@dataclass
class AdaptedBatch:
    """One batch of a city's export on the raw APD layout (with provenance), and what
    translating it counted."""

    table: pa.Table
    counts: dict[str, int]


@dataclass
class CityCallStream:
    """A landed calls file: the adapter its header selected, and its batches."""

    adapter: AdapterSpec
    batches: Iterator[AdaptedBatch]


def open_city_calls(path: Path, sha256: str, city: str = AUSTIN_ADAPTER) -> CityCallStream:
    """A calls export of the configured `city` (an adapter name), read in batches on the raw
    APD layout. The header selects the adapter among the built-in ones: a file fitting none
    raises NoAdapterMatchesError listing each adapter tried and the columns it missed, and a
    file fitting another city's adapter is refused (ForeignExportError: one lake holds one
    city). Austin's files are read by `iter_apd_call_batches`, so their fragments are exactly
    as before."""
    path = Path(path)
    adapters = builtin_adapters()
    configured = next((a for a in adapters if a.name == city), None)
    if configured is None:
        raise ValueError(f"no built-in adapter named {city!r}")
    header = _header_of(path)
    if header is not None and configured.missing_columns(header):
        other = detect_adapter(header, str(path), adapters)  # raises when none fits
        raise ForeignExportError(
            path,
            f"the header is a {other.name} export ({other.city.title}), but the configured "
            f"city is {configured.name} ({configured.city.title}); land it in that city's "
            "landing zone or set SAFEBEAT_CITY",
        )
    if configured.name == AUSTIN_ADAPTER:
        batches = (AdaptedBatch(t, {}) for t in iter_apd_call_batches(path, sha256))
    else:
        batches = _adapted_batches(path, sha256, configured)
    return CityCallStream(configured, batches)


def _header_of(path: Path) -> list[str] | None:
    """A CSV file's header names (None for a workbook or an unreadable head: the reader then
    reports the file's problem in its own words)."""
    with path.open("rb") as handle:
        head = handle.read(_HEAD_BYTES)
    if path.suffix.lower() not in CSV_SUFFIXES or not head or head.startswith(_ZIP_MAGIC):
        return None
    try:
        header, _ = _read_csv_header(path, head)
    except SourceFormatError:
        return None
    return [name for name in header if name.strip()]


def _adapted_batches(path: Path, sha256: str, adapter: AdapterSpec) -> Iterator[AdaptedBatch]:
    """A non-Austin export translated batch by batch (translation is row-local, so a batch's
    result is the matching slice of the whole file's)."""
    with path.open("rb") as handle:
        head = handle.read(_HEAD_BYTES)
    if path.suffix.lower() not in CSV_SUFFIXES or not head or head.startswith(_ZIP_MAGIC):
        whole = read_text_table(path)
        if whole.num_rows:
            adapted = adapt_calls(whole, adapter)
            yield AdaptedBatch(with_provenance(adapted.table, path, sha256), adapted.counts)
        return
    header, header_bytes = _read_csv_header(path, head)
    offset = 0
    for batch in _csv_text_batches(path, header, header_bytes):
        batch = _checked(path, batch, offset)
        adapted = adapt_calls(batch, adapter)
        table = _shift_rows(with_provenance(adapted.table, path, sha256), offset)
        yield AdaptedBatch(table, adapted.counts)
        offset += batch.num_rows


def iter_apd_call_batches(path: Path, sha256: str) -> Iterator[pa.Table]:
    """`read_apd_calls_table(path, sha256)` as consecutive row batches (a header-only file
    yields nothing). Raises the same SourceFormatError/SourceSchemaError, at the first batch
    holding the problem, with the row number counted over the whole file."""
    path = Path(path)
    with path.open("rb") as handle:
        head = handle.read(_HEAD_BYTES)
    if path.suffix.lower() not in CSV_SUFFIXES or not head or head.startswith(_ZIP_MAGIC):
        # Workbooks, and files whose format error the whole-file reader words best.
        table = read_apd_calls_table(path, sha256)
        if table.num_rows:
            yield table
        return
    header, header_bytes = _read_csv_header(path, head)
    # Blank-headed columns are dropped (when empty) before names are bound, as in the
    # whole-file reader.
    mapping = canonical_header_map([name for name in header if name.strip()], path)
    check_columns(
        list(mapping.values()),
        required=APD_CORE_COLUMNS,
        source=path,
        allowed=APD_RAW_COLUMNS,
    )
    offset = 0
    for batch in _csv_text_batches(path, header, header_bytes):
        batch = _checked(path, batch, offset)
        batch = batch.rename_columns([mapping[name] for name in batch.column_names])
        batch = select_text_columns(batch, APD_RAW_COLUMNS)
        yield _shift_rows(with_provenance(batch, path, sha256), offset)
        offset += batch.num_rows


def _csv_text_batches(path: Path, header: list[str], header_bytes: int) -> Iterator[pa.Table]:
    """Text batches of the data rows under their original header names. A quoted value
    holding a line break splits its record in the fast parser: from the batch where that shows,
    the file is parsed again allowing them, skipping the rows already given out (which held
    none, so both parsers agree on them)."""
    given = 0
    for newlines_in_values in (False, True):
        skip = given
        try:
            for batch in _open_csv(path, header, header_bytes, newlines_in_values):
                if skip >= batch.num_rows:
                    skip -= batch.num_rows
                    continue
                batch = batch.slice(skip)
                skip = 0
                given += batch.num_rows
                yield batch
            return
        except pa.ArrowInvalid as exc:
            if str(exc).startswith("Empty CSV file"):  # header only
                return
            if newlines_in_values or "columns, got" not in str(exc):
                raise _csv_error(path, header, exc) from exc


def _open_csv(
    path: Path, header: list[str], header_bytes: int, newlines_in_values: bool
) -> Iterator[pa.Table]:
    # Positional placeholders read every column as text even when the header repeats a name.
    placeholders = [f"c{i}" for i in range(len(header))]
    convert = pa_csv.ConvertOptions(
        column_types=dict.fromkeys(placeholders, pa.string()),
        null_values=[""],
        strings_can_be_null=True,
        quoted_strings_can_be_null=True,
    )
    if not newlines_in_values:
        # Without line breaks inside values every line ends a record, so the file can be cut
        # at line ends and each block parsed by Arrow's multi-threaded reader: 2.7x faster
        # than its streaming reader, which parses on one thread (docs/performance.md).
        for block in _line_blocks(path, header_bytes):
            table = pa_csv.read_csv(
                pa.py_buffer(block),
                read_options=pa_csv.ReadOptions(column_names=placeholders),
                convert_options=convert,
            )
            if table.num_rows:
                yield table.rename_columns(header)
        return
    with path.open("rb") as handle:
        handle.seek(header_bytes)
        reader = pa_csv.open_csv(
            handle,
            read_options=pa_csv.ReadOptions(
                column_names=placeholders, block_size=STREAM_BLOCK_BYTES
            ),
            parse_options=pa_csv.ParseOptions(newlines_in_values=True),
            convert_options=convert,
        )
        for batch in reader:
            yield pa.Table.from_batches([batch]).rename_columns(header)


def _line_blocks(path: Path, start: int) -> Iterator[bytes]:
    """The file from byte `start` in blocks of about STREAM_BLOCK_BYTES, each ending at a line
    end (the last one wherever the file ends)."""
    with path.open("rb") as handle:
        handle.seek(start)
        carried = b""
        while True:
            data = handle.read(STREAM_BLOCK_BYTES)
            if not data:
                if carried:
                    yield carried
                return
            data = carried + data if carried else data
            end = data.rfind(b"\n") + 1
            if end == 0:  # one line longer than a block: read on
                carried = data
                continue
            carried = data[end:]
            yield data[:end]


def _checked(path: Path, batch: pa.Table, offset: int) -> pa.Table:
    """The whole-file reader's checks on one batch, rows counted over the file."""
    try:
        batch = _drop_blank_headed_empty_columns(path, batch)
        _refuse_nul_characters(path, batch)
    except SourceFormatError as exc:
        if exc.row is None:
            raise
        raise SourceFormatError(exc.source, exc.reason, exc.column, exc.row + offset) from None
    return batch


def _shift_rows(batch: pa.Table, offset: int) -> pa.Table:
    if not offset:
        return batch
    position = batch.schema.get_field_index("source_row")
    rows = pc.add(batch.column(position), offset)
    return batch.set_column(position, "source_row", rows)
