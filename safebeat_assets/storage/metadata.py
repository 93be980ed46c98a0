"""Metadata every stored frame carries, so the Dagster UI explains each dataset."""

from __future__ import annotations

from typing import Any

import dagster as dg
import pandas as pd

PREVIEW_ROWS = 5
PREVIEW_MAX_COLUMNS = 12


def column_schema(frame: pd.DataFrame) -> dg.TableSchema:
    return dg.TableSchema(
        columns=[
            dg.TableColumn(name=str(name), type=str(dtype)) for name, dtype in frame.dtypes.items()
        ]
    )


def preview_markdown(frame: pd.DataFrame, rows: int = PREVIEW_ROWS) -> str:
    head = frame.drop(columns=[c for c in frame.columns if c == "geometry"]).head(rows)
    head = head.iloc[:, :PREVIEW_MAX_COLUMNS]
    if head.empty:
        return "_no rows_"
    return head.astype(str).to_markdown(index=False)


def frame_metadata(frame: pd.DataFrame) -> dict[str, Any]:
    return {
        "dagster/row_count": dg.MetadataValue.int(len(frame)),
        "dagster/column_schema": column_schema(frame),
        "preview": dg.MetadataValue.md(preview_markdown(frame)),
    }
