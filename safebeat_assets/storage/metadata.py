"""Metadata every stored frame carries, so the Dagster UI explains each dataset."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import dagster as dg
import pandas as pd
import pyarrow as pa

PREVIEW_ROWS = 5
PREVIEW_MAX_COLUMNS = 12


def column_schema(
    frame: pd.DataFrame | pa.Table,
    exclude: tuple[str, ...] = (),
    descriptions: Mapping[str, str] | None = None,
) -> dg.TableSchema:
    """Name and type of each column, with its description where `descriptions` has one (see
    `safebeat_assets.contracts.column_descriptions`)."""
    if isinstance(frame, pa.Table):
        types = [(f.name, str(f.type)) for f in frame.schema]
    else:
        types = [(str(name), str(dtype)) for name, dtype in frame.dtypes.items()]
    descriptions = descriptions or {}
    return dg.TableSchema(
        columns=[
            # None, not "", for an undescribed column: the UI then shows no description at all.
            dg.TableColumn(name=name, type=kind, description=descriptions.get(name) or None)
            for name, kind in types
            if name not in exclude
        ]
    )


def preview_markdown(
    frame: pd.DataFrame | pa.Table, rows: int = PREVIEW_ROWS, exclude: tuple[str, ...] = ()
) -> str:
    # Cut to a few rows first: dropping a column of the whole frame copies all of it.
    head = frame.slice(0, rows).to_pandas() if isinstance(frame, pa.Table) else frame.head(rows)
    head = head.drop(columns=[c for c in head.columns if c == "geometry" or c in exclude])
    head = head.iloc[:, :PREVIEW_MAX_COLUMNS]
    if head.empty:
        return "_no rows_"
    return head.astype(str).to_markdown(index=False)


def frame_metadata(
    frame: pd.DataFrame | pa.Table,
    exclude: tuple[str, ...] = (),
    descriptions: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """Row count, column schema (with the columns' `descriptions`) and preview, leaving out the
    `exclude` columns."""
    return {
        "dagster/row_count": dg.MetadataValue.int(len(frame)),
        "dagster/column_schema": column_schema(frame, exclude, descriptions),
        "preview": dg.MetadataValue.md(preview_markdown(frame, exclude=exclude)),
    }
