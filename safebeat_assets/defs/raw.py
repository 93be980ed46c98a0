"""Raw stage: source exports from the landing zone, kept as read (text), with file provenance."""

import dagster as dg
import pandas as pd

from ..sources import read_ace_events, read_apd_calls, read_block_groups
from ..storage.landing import LandingZone
from ..transform.months import month_fingerprints, route_to_months
from .common import DATA_OWNERS, LAKE_IO, PipelineSettings, lake_metadata, versioned
from .partitions import MONTH_FINGERPRINTS_KEY, MONTHLY


def _files_metadata(frame: pd.DataFrame) -> dict:
    per_file = frame.groupby(["source_file", "source_sha256"], sort=True).size()
    return {
        "source_files": dg.MetadataValue.md(
            "\n".join(
                f"- `{name}` sha256 `{sha[:12]}…`: {rows:,} rows"
                for (name, sha), rows in per_file.items()
            )
        ),
        "source_file_count": len(per_file),
    }


@dg.asset(
    group_name="raw",
    kinds={"pandas", "parquet", "csv"},
    owners=DATA_OWNERS,
    code_version="1",
    io_manager_key=LAKE_IO,
    metadata=lake_metadata("raw-data"),
    description=(
        "APD '911 Calls for Service' exports (CSV or XLSX, 25- or 27-column layout) from the "
        "landing zone, columns bound by header name and every value kept as text, plus the "
        "source file, its SHA-256 and the row number."
    ),
)
def raw_911_calls(
    context: dg.AssetExecutionContext, landing: LandingZone
) -> dg.Output[pd.DataFrame]:
    files = landing.source_files("calls")
    frame = pd.concat([read_apd_calls(path) for path in files], ignore_index=True)
    context.log.info(f"read {len(frame):,} call rows from {len(files)} file(s)")
    months = route_to_months(frame["response_datetime"], MONTHLY.get_last_partition_key())
    meta = _files_metadata(frame)
    # What tells the month-change sensor which monthly partitions this export changed.
    # Provenance (file name, hash, row number) changes with any edit of the file; a month
    # counts as changed only when its own rows do.
    content = frame.drop(columns=["source_file", "source_sha256", "source_row"])
    meta[MONTH_FINGERPRINTS_KEY] = month_fingerprints(content, months)
    first, last = MONTHLY.get_first_partition_key(), MONTHLY.get_last_partition_key()
    outside = int(((months < first) | (months > last)).sum())
    meta["rows_outside_partitions"] = outside
    if outside:
        context.log.warning(
            f"{outside:,} call rows fall outside the monthly partitions {first} .. {last} "
            "(see SAFEBEAT_PARTITION_START) and are not processed further"
        )
    return versioned(frame, meta)


@dg.asset(
    group_name="raw",
    kinds={"pandas", "parquet", "csv"},
    owners=DATA_OWNERS,
    code_version="1",
    io_manager_key=LAKE_IO,
    metadata=lake_metadata("raw-data"),
    description=(
        "ACE special-event permits as exported: one row per road-closure segment (FOLDERRSN "
        "repeats), values kept as text, with source file provenance."
    ),
)
def raw_events(landing: LandingZone) -> dg.Output[pd.DataFrame]:
    files = landing.source_files("events")
    frame = pd.concat([read_ace_events(path) for path in files], ignore_index=True)
    meta = _files_metadata(frame)
    meta["distinct_permits"] = int(frame["folderrsn"].nunique())
    return versioned(frame, meta)


@dg.asset(
    group_name="raw",
    kinds={"geopandas", "parquet"},
    owners=DATA_OWNERS,
    code_version="1",
    io_manager_key=LAKE_IO,
    metadata=lake_metadata("raw-data"),
    description=(
        "US Census TIGER/Line block groups (GeoJSON, GeoPackage or zipped shapefile, EPSG:4269) "
        "filtered to the configured counties (Travis 453, Hays 209, Williamson 491 by default)."
    ),
)
def raw_block_groups(landing: LandingZone, pipeline: PipelineSettings) -> dg.Output[pd.DataFrame]:
    files = landing.source_files("block_groups")
    frames = [read_block_groups(path, county_fps=tuple(pipeline.county_fips)) for path in files]
    frame = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
    counts = frame.groupby("COUNTYFP").size().to_dict()
    return versioned(
        frame,
        {
            **_files_metadata(frame),
            "block_groups_by_county": dg.MetadataValue.json({k: int(v) for k, v in counts.items()}),
            "crs": str(frame.crs),
        },
    )
