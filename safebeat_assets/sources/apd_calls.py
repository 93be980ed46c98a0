"""Reader of APD 911 call exports (25-column `e687-fx2y` and 27-column CAD `22de-7rzg`).

Columns are bound by header name, so both layouts (and any column order) give the same frame:
the 27 canonical columns (the two CAD-only ones all-null for the 25-column file), every value
str/None exactly as read, plus source_file, source_sha256 and source_row.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from safebeat_assets.sources.columns import (
    APD_CORE_COLUMNS,
    APD_RAW_COLUMNS,
    PROVENANCE_COLUMNS,
    canonical_header_map,
    check_columns,
)
from safebeat_assets.sources.files import (
    add_provenance,
    file_sha256,
    read_text_table,
    select_text_columns,
    text_frame,
)

RAW_CALL_COLUMNS: tuple[str, ...] = APD_RAW_COLUMNS + PROVENANCE_COLUMNS


def read_apd_calls(path: Path) -> pd.DataFrame:
    """Read one APD calls CSV or XLSX into the raw_911_calls frame.

    Raises SourceSchemaError naming the file, every missing core column and every unknown
    column; an unknown column is an error because the APD layouts are exactly specified.
    """
    path = Path(path)
    table = read_text_table(path)
    mapping = canonical_header_map(table.column_names, path)
    table = table.rename_columns([mapping[h] for h in table.column_names])
    check_columns(
        table.column_names, required=APD_CORE_COLUMNS, source=path, allowed=APD_RAW_COLUMNS
    )
    frame = text_frame(select_text_columns(table, APD_RAW_COLUMNS))
    return add_provenance(frame, path, file_sha256(path))
