"""Canonical column names of the three sources, the alias map and the schema error.

Every reader binds columns by header *name* (the two APD layouts order the same columns
differently), so the one job of this module is to turn whatever header a file carries into a
canonical name and to say, in one error, everything that is wrong with a file's header.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from pathlib import Path

from ..errors import DataError

# --- APD 911 calls -------------------------------------------------------------------------

# The 25 columns of the "Calls for Service" layout (e687-fx2y), in that file's order.
APD_CORE_COLUMNS: tuple[str, ...] = (
    "incident_number",
    "incident_type",
    "mental_health_flag",
    "priority_level",
    "response_datetime",
    "response_day_of_week",
    "response_hour",
    "first_unit_arrived_datetime",
    "call_closed_datetime",
    "sector",
    "initial_problem_description",
    "initial_problem_category",
    "final_problem_description",
    "final_problem_category",
    "number_of_units_arrived",
    "unit_time_on_scene",
    "call_disposition_description",
    "report_written_flag",
    "response_time",
    "officer_injured_killed_count",
    "subject_injured_killed_count",
    "other_injured_killed_count",
    "geo_id",
    "census_block_group",
    "council_district",
)
# Only the 27-column CAD layout (22de-7rzg) has these; they are added as all-null otherwise.
APD_OPTIONAL_COLUMNS: tuple[str, ...] = ("response_year", "response_month")
APD_RAW_COLUMNS: tuple[str, ...] = APD_CORE_COLUMNS + APD_OPTIONAL_COLUMNS

# --- ACE special-event permits -------------------------------------------------------------

ACE_REQUIRED_COLUMNS: tuple[str, ...] = (
    "folderrsn",
    "foldername",
    "start_date",
    "end_date",
    "gpslatitude",
    "gpslongitude",
)
# Contract order of the raw_events frame; the non-required ones are added as null when absent.
ACE_KNOWN_COLUMNS: tuple[str, ...] = (
    "folderrsn",
    "foldertype",
    "foldername",
    "status",
    "tier_type",
    "event_applicant_organization",
    "start_date",
    "end_date",
    "event_setup",
    "event_teardown",
    "event_length",
    "alcohol_served",
    "amplified_sound",
    "road_closure",
    "type_of_road_closure",
    "gpslatitude",
    "gpslongitude",
)

# --- TIGER/Line block groups ---------------------------------------------------------------

BLOCK_GROUP_REQUIRED_COLUMNS: tuple[str, ...] = (
    "GEOID",
    "STATEFP",
    "COUNTYFP",
    "INTPTLAT",
    "INTPTLON",
    "ALAND",
    "geometry",
)
BLOCK_GROUP_COLUMNS: tuple[str, ...] = (
    "STATEFP",
    "COUNTYFP",
    "TRACTCE",
    "BLKGRPCE",
    "GEOID",
    "NAMELSAD",
    "MTFCC",
    "FUNCSTAT",
    "ALAND",
    "AWATER",
    "INTPTLAT",
    "INTPTLON",
    "geometry",
)

# --- Provenance columns every raw frame carries ----------------------------------------------

SOURCE_FILE = "source_file"
SOURCE_SHA256 = "source_sha256"
SOURCE_ROW = "source_row"
PROVENANCE_COLUMNS: tuple[str, ...] = (SOURCE_FILE, SOURCE_SHA256, SOURCE_ROW)

# Socrata JSON API field names that do not canonicalise to our names by the generic rule.
COLUMN_ALIASES: dict[str, str] = {
    "geoid": "geo_id",
    "blkgpnm": "census_block_group",
}

_SEPARATORS = re.compile(r"[\s/]+")


def canonical_name(header: str) -> str:
    """`Officer Injured/Killed Count` -> `officer_injured_killed_count`; `GEOID` -> `geo_id`.

    Trim, lower-case, turn runs of spaces and `/` into one `_`, then apply the alias map.
    A UTF-8 byte-order mark glued to the first header by some exporters is dropped too.
    """
    name = _SEPARATORS.sub("_", str(header).replace("\ufeff", "").strip().lower())
    return COLUMN_ALIASES.get(name, name)


class SourceSchemaError(DataError):
    """A source file's header does not fit the expected layout.

    The message names the file, every missing required column and every unknown column, so a
    broken export is diagnosed from one error instead of one column at a time.
    """

    def __init__(
        self,
        source: str | Path,
        missing: Iterable[str] = (),
        unknown: Iterable[str] = (),
        duplicated: Iterable[str] = (),
    ) -> None:
        self.source = str(source)
        self.missing = sorted(missing)
        self.unknown = sorted(unknown)
        self.duplicated = sorted(duplicated)
        problems = []
        if self.missing:
            problems.append(f"missing required columns {self.missing}")
        if self.unknown:
            problems.append(f"unknown columns {self.unknown}")
        if self.duplicated:
            problems.append(f"columns appearing more than once {self.duplicated}")
        super().__init__(f"{self.source}: " + "; ".join(problems or ["schema error"]))


def canonical_header_map(headers: Sequence[str], source: str | Path) -> dict[str, str]:
    """Map each original header to its canonical name; two headers with one name is an error."""
    mapping = {h: canonical_name(h) for h in headers}
    seen: dict[str, int] = {}
    for name in mapping.values():
        seen[name] = seen.get(name, 0) + 1
    duplicated = [name for name, n in seen.items() if n > 1]
    if duplicated or len(mapping) != len(headers):
        # len differs when the *original* header repeats (the dict collapsed it).
        repeated = {canonical_name(h) for h in headers if list(headers).count(h) > 1}
        raise SourceSchemaError(source, duplicated=set(duplicated) | repeated)
    return mapping


def check_columns(
    present: Iterable[str],
    required: Iterable[str],
    source: str | Path,
    allowed: Iterable[str] | None = None,
) -> None:
    """Raise SourceSchemaError if a required column is absent or (when `allowed` is given) a
    column outside `allowed` is present."""
    present_set = set(present)
    missing = set(required) - present_set
    unknown = present_set - set(allowed) if allowed is not None else set()
    if missing or unknown:
        raise SourceSchemaError(source, missing=missing, unknown=unknown)
