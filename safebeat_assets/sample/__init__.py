"""Realistic sample-data generator for SafeBeat (APD 911 calls, ACE events, TIGER block groups).

Pure numpy/pandas/geopandas; never imports dagster. Entry point: ``generate_sample``.
"""

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
