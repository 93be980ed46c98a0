"""Reader of APD 911 call exports (25-column `e687-fx2y` and 27-column CAD `22de-7rzg`).

Columns are bound by header name, so both layouts (and any column order) give the same frame:
the 27 canonical columns (the two CAD-only ones all-null for the 25-column file), every value
str/None exactly as read, plus source_file, source_sha256 and source_row.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyarrow as pa

from safebeat_assets.sources.columns import (
    APD_CORE_COLUMNS,
    APD_RAW_COLUMNS,
    PROVENANCE_COLUMNS,
    canonical_header_map,
    check_columns,
)
from safebeat_assets.sources.files import (
    file_sha256,
    read_text_table,
    select_text_columns,
    text_frame,
    with_provenance,
)

RAW_CALL_COLUMNS: tuple[str, ...] = APD_RAW_COLUMNS + PROVENANCE_COLUMNS


def read_apd_calls(path: Path, sha256: str | None = None) -> pd.DataFrame:
    """Read one APD calls CSV or XLSX into the raw_911_calls frame.

    Raises SourceSchemaError naming the file, every missing core column and every unknown
    column; an unknown column is an error because the APD layouts are exactly specified.
    """
    return text_frame(read_apd_calls_table(path, sha256))


def read_apd_calls_table(path: Path, sha256: str | None = None) -> pa.Table:
    """`read_apd_calls` as an Arrow table of string columns (plus provenance): the raw asset
    stores it without a round trip through Python string objects. `sha256` is the file's
    hash when the caller already computed it."""
    path = Path(path)
    table = read_text_table(path)
    mapping = canonical_header_map(table.column_names, path)
    table = table.rename_columns([mapping[h] for h in table.column_names])
    check_columns(
        table.column_names, required=APD_CORE_COLUMNS, source=path, allowed=APD_RAW_COLUMNS
    )
    table = select_text_columns(table, APD_RAW_COLUMNS)
    return with_provenance(table, path, sha256 or file_sha256(path))
