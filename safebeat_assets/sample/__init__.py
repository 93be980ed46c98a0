"""Realistic sample-data generator for SafeBeat (APD 911 calls, ACE events, TIGER block groups).

Pure numpy/pandas/geopandas; never imports dagster. Entry point: ``generate_sample``.

The names below are imported on first use (PEP 562): `safebeat --help` imports `sample.cli`,
which runs this file, and importing the generator's pandas/geopandas here cost ~0.5 s of it.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .calls import generate_calls
    from .events import event_schedule, generate_events, parse_event_dates
    from .generate import (
        SamplePaths,
        SampleTables,
        build_sample,
        calls_file_name,
        generate_sample,
        write_sample,
    )
    from .geography import generate_block_groups
    from .locations import block_group_profile, unmatched_geo_ids
    from .vocabulary import CALLS_HEADER_25, CALLS_HEADER_27, EVENTS_HEADER
    from .writers import (
        calls_for_layout,
        write_block_groups_geojson,
        write_calls_csv,
        write_calls_xlsx,
        write_events_csv,
    )

# Exported name -> the submodule that defines it.
_SOURCES = {
    "generate_calls": "calls",
    "event_schedule": "events",
    "generate_events": "events",
    "parse_event_dates": "events",
    "SamplePaths": "generate",
    "SampleTables": "generate",
    "build_sample": "generate",
    "calls_file_name": "generate",
    "generate_sample": "generate",
    "write_sample": "generate",
    "generate_block_groups": "geography",
    "block_group_profile": "locations",
    "unmatched_geo_ids": "locations",
    "CALLS_HEADER_25": "vocabulary",
    "CALLS_HEADER_27": "vocabulary",
    "EVENTS_HEADER": "vocabulary",
    "calls_for_layout": "writers",
    "write_block_groups_geojson": "writers",
    "write_calls_csv": "writers",
    "write_calls_xlsx": "writers",
    "write_events_csv": "writers",
}

__all__ = [
    "CALLS_HEADER_25",
    "CALLS_HEADER_27",
    "EVENTS_HEADER",
    "SamplePaths",
    "SampleTables",
    "block_group_profile",
    "build_sample",
    "calls_file_name",
    "calls_for_layout",
    "event_schedule",
    "generate_block_groups",
    "generate_calls",
    "generate_events",
    "generate_sample",
    "parse_event_dates",
    "unmatched_geo_ids",
    "write_block_groups_geojson",
    "write_calls_csv",
    "write_calls_xlsx",
    "write_events_csv",
    "write_sample",
]


def __getattr__(name: str) -> Any:
    source = _SOURCES.get(name)
    if source is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(f"{__name__}.{source}"), name)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
