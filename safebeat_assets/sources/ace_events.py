"""Reader of ACE special-event permit exports (`teth-r7k8`), one row per road-closure segment.

Headers are upper case in CSV/XLSX exports and lower case in the JSON API; both canonicalise to
the lower-case names. The layout is loosely specified, so only the fields the pipeline cannot do
without are required; other known fields are added as null when absent, and extra columns are
kept (as text) after the known ones.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyarrow as pa

from safebeat_assets.sources.columns import (
    ACE_KNOWN_COLUMNS,
    ACE_REQUIRED_COLUMNS,
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


def read_ace_events(path: Path) -> pd.DataFrame:
    """Read one ACE events CSV or XLSX into the raw_events frame (values str/None as read)."""
    path = Path(path)
    table = read_text_table(path)
    mapping = canonical_header_map(table.column_names, path)
    # A file column named like a provenance column would be overwritten: keep it, prefixed.
    names = [mapping[h] for h in table.column_names]
    table = table.rename_columns([f"file_{n}" if n in PROVENANCE_COLUMNS else n for n in names])
    check_columns(table.column_names, required=ACE_REQUIRED_COLUMNS, source=path)
    extras = [c for c in table.column_names if c not in ACE_KNOWN_COLUMNS]
    frame = text_frame(select_text_columns(table, list(ACE_KNOWN_COLUMNS) + extras))
    return add_provenance(frame, path, file_sha256(path))


def empty_ace_events() -> pd.DataFrame:
    """The raw_events frame of a city that publishes no permits: no rows, but the columns and
    dtypes a read gives, so cleaning and everything after it run on it unchanged."""
    empty = pa.table({name: pa.array([], pa.string()) for name in ACE_KNOWN_COLUMNS})
    return add_provenance(text_frame(empty), Path("none"), "")
