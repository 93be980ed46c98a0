"""Raw stage: source exports from the landing zone, kept as read (text), with file provenance."""

import hashlib
import json

import dagster as dg
import pandas as pd
import pyarrow as pa
from pydantic import Field

from ..domain import DEFAULT_COUNTY_FPS
from ..resources import PipelineSettings
from ..settings import RAW_BUCKET
from ..sources import file_sha256, read_ace_events, read_apd_calls_table, read_block_groups
from ..sources.columns import PROVENANCE_COLUMNS
from ..storage.landing import LandingZone
from ..transform.geo import COUNTY_NAMES
from ..transform.months import table_month_fingerprints, text_month_keys
from .conventions import DATA_OWNERS, lake_stage, versioned
from .partitions import MONTH_FINGERPRINTS_KEY

RAW = lake_stage("raw", RAW_BUCKET, DATA_OWNERS, kinds=())
SOURCES_FINGERPRINT_KEY = "sources_fingerprint"
_DEFAULT_COUNTIES = ", ".join(f"{COUNTY_NAMES[c]} {c}" for c in DEFAULT_COUNTY_FPS)


def _files_metadata_of_frame(frame: pd.DataFrame) -> dict:
    per_file = frame.groupby(["source_file", "source_sha256"], sort=True).size()
    return _files_metadata(list(per_file.index), per_file.tolist())


def _files_metadata(files: list[tuple[str, str]], rows: list[int]) -> dict:
    per_file = dict(zip(files, rows, strict=True))
    return {
        "source_files": dg.MetadataValue.md(
            "\n".join(
                f"- `{name}` sha256 `{sha[:12]}…`: {rows:,} rows"
                for (name, sha), rows in per_file.items()
            )
        ),
        "source_file_count": len(per_file),
    }


class RawCallsConfig(dg.Config):
    reread_unchanged_files: bool = Field(
        default=False,
        description=(
            "Read and store the export again even when its files have the same SHA-256 as at "
            "the last materialization (by default an unchanged export is not re-read)."
        ),
    )


def _sources_fingerprint(files: list[tuple[str, str]]) -> str:
    return hashlib.sha256("\n".join(f"{name} {sha}" for name, sha in files).encode()).hexdigest()


def _last_sources_fingerprint(context: dg.AssetExecutionContext) -> str | None:
    """The source fingerprint of the last materialization made by this code version."""
    event = context.instance.get_latest_materialization_event(context.asset_key)
    if event is None or event.asset_materialization is None:
        return None
    materialization = event.asset_materialization
    code_version = context.assets_def.specs_by_key[context.asset_key].code_version
    if (materialization.tags or {}).get("dagster/code_version") != code_version:
        return None
    value = materialization.metadata.get(SOURCES_FINGERPRINT_KEY)
    return None if value is None else str(value.value)


def build_raw_calls(monthly: dg.PartitionsDefinition) -> dg.AssetsDefinition:
    """The raw calls asset; `monthly` tells which months its rows belong to downstream."""

    @RAW.asset(
        code_version="2",
        kinds={"pyarrow", "csv"},
        output_required=False,
        description=(
            "APD '911 Calls for Service' exports (CSV or XLSX, 25- or 27-column layout) from the "
            "landing zone, columns bound by header name and every value kept as text, plus the "
            "source file, its SHA-256 and the row number. An export whose files are "
            "byte-for-byte the ones already stored is not re-read (no materialization, nothing "
            "downstream runs)."
        ),
    )
    def raw_911_calls(
        context: dg.AssetExecutionContext, config: RawCallsConfig, landing: LandingZone
    ):
        paths = landing.source_files("calls")
        files = [(path.name, file_sha256(path)) for path in paths]
        fingerprint = _sources_fingerprint(files)
        if not config.reread_unchanged_files and fingerprint == _last_sources_fingerprint(context):
            context.log.info(
                f"the calls export is unchanged ({len(files)} file(s), sources fingerprint "
                f"{fingerprint[:12]}…): not re-read, nothing downstream is stale"
            )
            return
        tables = [
            read_apd_calls_table(path, sha) for path, (_, sha) in zip(paths, files, strict=True)
        ]
        table = pa.concat_tables(tables) if len(tables) > 1 else tables[0]
        context.log.info(f"read {table.num_rows:,} call rows from {len(files)} file(s)")
        first, last = monthly.get_first_partition_key(), monthly.get_last_partition_key()
        months = text_month_keys(table["response_datetime"])
        months[pd.isna(months)] = last
        meta = _files_metadata(files, [t.num_rows for t in tables])
        meta[SOURCES_FINGERPRINT_KEY] = fingerprint
        # What tells the month-change sensor which monthly partitions this export changed.
        # Provenance (file name, hash, row number) changes with any edit of the file; a month
        # counts as changed only when its own rows do.
        prints = table_month_fingerprints(table.drop_columns(list(PROVENANCE_COLUMNS)), months)
        meta[MONTH_FINGERPRINTS_KEY] = prints
        outside = int(((months < first) | (months > last)).sum())
        meta["rows_outside_partitions"] = outside
        if outside:
            context.log.warning(
                f"{outside:,} call rows fall outside the monthly partitions {first} .. {last} "
                "(see SAFEBEAT_PARTITION_START) and are not processed further"
            )
        version = hashlib.sha256(json.dumps([files, prints], sort_keys=True).encode())
        yield dg.Output(table, metadata=meta, data_version=dg.DataVersion(version.hexdigest()[:24]))

    return raw_911_calls


@RAW.asset(
    code_version="1",
    kinds={"pandas", "csv"},
    description=(
        "ACE special-event permits as exported: one row per road-closure segment (FOLDERRSN "
        "repeats), values kept as text, with source file provenance."
    ),
)
def raw_events(landing: LandingZone) -> dg.Output[pd.DataFrame]:
    files = landing.source_files("events")
    frame = pd.concat([read_ace_events(path) for path in files], ignore_index=True)
    meta = _files_metadata_of_frame(frame)
    meta["distinct_permits"] = int(frame["folderrsn"].nunique())
    return versioned(frame, meta)


@RAW.asset(
    code_version="1",
    kinds={"geopandas"},
    description=(
        "US Census TIGER/Line block groups (GeoJSON, GeoPackage or zipped shapefile, EPSG:4269) "
        f"filtered to the configured counties ({_DEFAULT_COUNTIES} by default)."
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
            **_files_metadata_of_frame(frame),
            "block_groups_by_county": dg.MetadataValue.json({k: int(v) for k, v in counts.items()}),
            "crs": str(frame.crs),
        },
    )
