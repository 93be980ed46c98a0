"""One call that writes a complete, consistent set of landing files."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import pandas as pd

from .calls import generate_calls
from .events import generate_events
from .geography import generate_block_groups
from .writers import (
    write_block_groups_geojson,
    write_calls_csv,
    write_calls_xlsx,
    write_events_csv,
)

EVENTS_FILE_NAME = "ACE_Events_sample.csv"
BLOCK_GROUPS_FILE_NAME = "tl_2020_48_bg_sample.geojson"


@dataclass(frozen=True)
class SamplePaths:
    """Where ``generate_sample`` wrote the three landing files."""

    calls: Path
    events: Path
    block_groups: Path


@dataclass(frozen=True)
class SampleTables:
    """The generated tables, exactly as written (text columns for calls and events)."""

    block_groups: gpd.GeoDataFrame
    events: pd.DataFrame
    calls: pd.DataFrame


def calls_file_name(start: str, end: str, calls_format: str = "csv") -> str:
    return f"APD_911_Calls_for_Service_{_day(start)}_{_day(end)}.{calls_format}"


def _day(value: str) -> str:
    return pd.Timestamp(value).strftime("%Y-%m-%d")


def _check(n_calls: int, start: str, end: str, layout: int, calls_format: str) -> None:
    if int(n_calls) < 1:
        raise ValueError("n_calls must be at least 1")
    if layout not in (25, 27):
        raise ValueError(f"layout must be 25 or 27, not {layout!r}")
    if calls_format not in ("csv", "xlsx"):
        raise ValueError(f"calls_format must be 'csv' or 'xlsx', not {calls_format!r}")
    if pd.Timestamp(start) > pd.Timestamp(end):
        raise ValueError(f"start {start!r} is after end {end!r}")


def build_sample(
    n_calls: int = 110_000,
    seed: int = 42,
    start: str = "2023-01-01",
    end: str = "2025-12-31",
) -> SampleTables:
    """Generate the three tables in memory (block groups -> events -> calls)."""
    block_groups = generate_block_groups(seed)
    events = generate_events(block_groups, seed, start, end)
    calls = generate_calls(int(n_calls), block_groups, events, seed, start, end)
    return SampleTables(block_groups=block_groups, events=events, calls=calls)


def write_sample(
    tables: SampleTables,
    out_dir: Path,
    start: str,
    end: str,
    layout: int = 25,
    calls_format: str = "csv",
) -> SamplePaths:
    out_dir = Path(out_dir)
    calls_path = out_dir / "calls" / calls_file_name(start, end, calls_format)
    if calls_format == "xlsx":
        write_calls_xlsx(tables.calls, calls_path, layout)
    else:
        write_calls_csv(tables.calls, calls_path, layout)
    events_path = write_events_csv(tables.events, out_dir / "events" / EVENTS_FILE_NAME)
    bg_path = write_block_groups_geojson(
        tables.block_groups, out_dir / "block_groups" / BLOCK_GROUPS_FILE_NAME
    )
    return SamplePaths(calls=calls_path, events=events_path, block_groups=bg_path)


def generate_sample(
    out_dir: Path,
    n_calls: int = 110_000,
    seed: int = 42,
    start: str = "2023-01-01",
    end: str = "2025-12-31",
    layout: int = 25,
    calls_format: str = "csv",
) -> SamplePaths:
    """Write a realistic, seeded sample of the three landing sources under ``out_dir``:

    - ``calls/APD_911_Calls_for_Service_<start>_<end>.csv`` (or ``.xlsx``), 25 or 27 columns
    - ``events/ACE_Events_sample.csv``
    - ``block_groups/tl_2020_48_bg_sample.geojson``

    Same arguments -> byte-identical files. Existing files with the same names are replaced;
    other files in those folders are left alone (readers concatenate every file there).
    """
    _check(n_calls, start, end, layout, calls_format)
    tables = build_sample(n_calls, seed, start, end)
    return write_sample(tables, out_dir, start, end, layout, calls_format)
