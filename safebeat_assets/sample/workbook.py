"""An APD calls CSV export rewritten as the XLSX workbook APD's Excel export gives: for the
benchmark's Austin-scale XLSX read (issue 13), made once from the generated CSV."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from .vocabulary import CALLS_HEADER_25, CALLS_HEADER_27
from .writers import write_calls_xlsx


def write_calls_workbook(csv_path: Path, xlsx_path: Path) -> Path:
    """The rows of the calls CSV at `csv_path` (25- or 27-column layout) as `xlsx_path`: one
    sheet, the CSV's header row, datetimes as native date cells, counts and IDs as numbers,
    the rest as text, blank cells left out; the same writer as `generate_sample(...,
    calls_format="xlsx")`, so the reader meets the cells it is tested on. It renders the sheet
    XML vectorised in 20,000-row chunks: 835,198 rows take ~30 s and make a ~113 MB file
    ("Reading XLSX workbooks" in docs/data-contracts.md)."""
    frame = pd.read_csv(csv_path, dtype=str, keep_default_na=False)
    columns = tuple(frame.columns)
    if columns not in (CALLS_HEADER_25, CALLS_HEADER_27):
        raise ValueError(f"{csv_path}: not an APD calls export header: {list(columns)}")
    return write_calls_xlsx(frame, Path(xlsx_path), layout=len(columns))
