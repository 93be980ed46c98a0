"""Readers of the real source formats: APD 911 calls, ACE event permits, TIGER block groups.

Pure functions of a file path (no dagster): every reader binds columns by header name and
returns values as text plus provenance; typing happens in `safebeat_assets.transform`.
"""

from safebeat_assets.sources.ace_events import empty_ace_events, read_ace_events
from safebeat_assets.sources.apd_calls import (
    RAW_CALL_COLUMNS,
    read_apd_calls,
    read_apd_calls_table,
)
from safebeat_assets.sources.columns import SourceSchemaError, canonical_name
from safebeat_assets.sources.files import file_sha256, list_source_files
from safebeat_assets.sources.tiger_block_groups import DEFAULT_COUNTY_FIPS, read_block_groups

__all__ = [
    "DEFAULT_COUNTY_FIPS",
    "RAW_CALL_COLUMNS",
    "SourceSchemaError",
    "canonical_name",
    "empty_ace_events",
    "file_sha256",
    "list_source_files",
    "read_ace_events",
    "read_apd_calls",
    "read_apd_calls_table",
    "read_block_groups",
]
