"""Raw stage: source exports from the landing zone, kept as read (text), with file provenance.

A calls export that would remove more rows than the configured bounds allow, compared with the
last good load (per month, from this asset's previous `rows_by_month` metadata), is refused
before anything is written, unless the run carries the override tag (`guards.ALLOW_SHRINK_TAG`).
"""

import hashlib
import json
import time

import dagster as dg
import pandas as pd
from pydantic import Field

from ..asset_names import RAW_CALLS
from ..domain import DEFAULT_COUNTY_FIPS
from ..guards import ALLOW_SHRINK_TAG, refuse_destructive_change
from ..resources import PipelineSettings
from ..settings import RAW_BUCKET
from ..sources import empty_ace_events, read_ace_events
from ..sources.tiger_block_groups import load_block_groups
from ..storage.landing import LandingZone
from ..storage.object_store import LakeStorage
from ..storage.raw_fragments import (
    FileIngest,
    RawCallFragments,
    manifest_of,
    partition_fingerprints,
    partition_rows,
    rows_outside,
)
from ..transform.geo import COUNTY_NAMES
from .checks.alert_rules import no_events_source_metadata
from .conventions import DATA_OWNERS, json_metadata, lake_stage, versioned
from .partitions import MONTH_FINGERPRINTS_KEY

RAW = lake_stage("raw", RAW_BUCKET, DATA_OWNERS, kinds=())
SOURCES_FINGERPRINT_KEY = "sources_fingerprint"
# Rows per monthly partition of the stored export: what the next export is compared with.
ROWS_BY_MONTH_KEY = "rows_by_month"
# SHA-256 of the files of the stored export (their fragments must outlive a failed next run).
SOURCE_SHAS_KEY = "source_shas"
# Rejected block-group features listed by name in the metadata (all are counted).
_LISTED_REJECTS = 20
_DEFAULT_COUNTIES = ", ".join(f"{COUNTY_NAMES[c]} {c}" for c in DEFAULT_COUNTY_FIPS)


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


def _last_rows_by_month(context: dg.AssetExecutionContext) -> dict[str, int] | None:
    """Rows per month of the last stored export (any code version); None before the first
    load, or when that load predates the per-month counts."""
    event = context.instance.get_latest_materialization_event(context.asset_key)
    if event is None or event.asset_materialization is None:
        return None
    value = event.asset_materialization.metadata.get(ROWS_BY_MONTH_KEY)
    if value is None or not isinstance(value.value, dict):
        return None
    return {str(month): int(rows) for month, rows in value.value.items()}


def _refuse_sharp_shrink(
    context: dg.AssetExecutionContext,
    counts: dict[str, int],
    pipeline: PipelineSettings,
    files: list[tuple[str, str]],
) -> list[str]:
    """Raise DestructiveChangeError when the export removes too many rows; the overridden
    problems otherwise (empty when within bounds or on a first load)."""
    previous = _last_rows_by_month(context)
    if previous is None:
        context.log.info("no earlier export with per-month row counts: nothing to compare with")
        return []
    names = ", ".join(name for name, _ in files) or "no file"
    problems = refuse_destructive_change(
        f"raw_911_calls (calls export {names})",
        previous,
        counts,
        pipeline.removal_bounds(),
        context.run.tags,
    )
    if problems:
        context.log.warning(
            f"{ALLOW_SHRINK_TAG} is set: storing an export that removes rows beyond the bounds: "
            + "; ".join(problems)
        )
    return problems


def _last_source_shas(context: dg.AssetExecutionContext) -> set[str]:
    """The files of the stored export: their fragments stay until a newer export is stored."""
    event = context.instance.get_latest_materialization_event(context.asset_key)
    if event is None or event.asset_materialization is None:
        return set()
    value = event.asset_materialization.metadata.get(SOURCE_SHAS_KEY)
    return set(value.value) if value is not None and isinstance(value.value, list) else set()


def _ingest(
    context: dg.AssetExecutionContext,
    fragments: RawCallFragments,
    paths: list,
    files: list[tuple[str, str]],
    reread: bool,
    city: str,
) -> tuple[list[tuple[str, FileIngest]], int]:
    """Each landing file's record: read (streamed) when new, reused when its bytes were read
    before; returns the records and how many files were read."""
    records, read = [], 0
    for path, (name, sha) in zip(paths, files, strict=True):
        record = None if reread else fragments.ingested(sha)
        if record is None:
            started = time.perf_counter()
            record = fragments.ingest(path, sha, city)
            read += 1
            context.log.info(
                f"read {name} ({record.adapter} layout): {record.total_rows:,} rows in "
                f"{len(record.rows)} month(s), {time.perf_counter() - started:.1f} s"
            )
        else:
            context.log.info(f"{name} (sha256 {sha[:12]}…) was read before: not read again")
        records.append((name, record))
    return records, read


def build_raw_calls(monthly: dg.PartitionsDefinition) -> dg.AssetsDefinition:
    """The raw calls asset; `monthly` tells which months its rows belong to downstream."""

    @RAW.asset(
        code_version="5",
        kinds={"pyarrow", "csv"},
        output_required=False,
        description=(
            "The city's 911 exports (CSV or XLSX) from the landing zone: Austin APD's 25- or "
            "27-column layout as exported, another city's translated by its adapter (chosen by "
            "SAFEBEAT_CITY, checked against the header) onto the same columns, plus latitude/"
            "longitude for feeds located by coordinates. Columns are bound by header name and "
            "every value kept as text, plus the source file, its SHA-256 and the row number; "
            "what translating counted (hashed ids, unmapped priorities, ...) is in the "
            "metadata. Each landing file is read once, "
            "streamed in batches, into immutable fragments by month (under "
            "raw/raw_911_calls/fragments/, keyed by the file's SHA-256); the stored value is the "
            "manifest: one row per (file, month) with rows, content fingerprint and fragments. A "
            "file read before is not read again, and an export whose files are all the ones "
            "already stored is not even listed again (no materialization, nothing downstream "
            "runs). An export that removes more rows than the configured bounds allow compared "
            "with the last good load (an empty or truncated file) is refused, the stored "
            f"manifest unchanged, unless the run has the tag {ALLOW_SHRINK_TAG}=true."
        ),
    )
    def raw_911_calls(
        context: dg.AssetExecutionContext,
        config: RawCallsConfig,
        landing: LandingZone,
        pipeline: PipelineSettings,
        lake_storage: LakeStorage,
    ):
        # Snapshots come hashed; an unchanged landed file is not even copied again.
        landed = landing.snapshot("calls")
        paths = [file.path for file in landed]
        files = [(file.name, file.sha256) for file in landed]
        fingerprint = _sources_fingerprint(files)
        if not config.reread_unchanged_files and fingerprint == _last_sources_fingerprint(context):
            context.log.info(
                f"the calls export is unchanged ({len(files)} file(s), sources fingerprint "
                f"{fingerprint[:12]}…): not re-read, nothing downstream is stale"
            )
            return
        fragments = RawCallFragments.in_lake(lake_storage, RAW_BUCKET, RAW_CALLS)
        records, read = _ingest(
            context, fragments, paths, files, config.reread_unchanged_files, pipeline.city
        )
        manifest = manifest_of(records)
        first, last = monthly.get_first_partition_key(), monthly.get_last_partition_key()
        # Rows dated before/after the calendar belong to its first/last partition, whose
        # cleaning quarantines them: a change to them re-runs that partition.
        counts = partition_rows(manifest, first, last)
        overridden = _refuse_sharp_shrink(context, counts, pipeline, files)
        meta = _files_metadata(files, [record.total_rows for _, record in records])
        meta[SOURCES_FINGERPRINT_KEY] = fingerprint
        meta[ROWS_BY_MONTH_KEY] = json_metadata(counts)
        meta["call_rows"] = int(manifest["rows"].sum())
        meta["files_read"] = read
        meta["city"] = pipeline.city
        meta["adapters"] = json_metadata({name: record.adapter for name, record in records})
        translation: dict[str, int] = {}
        for _, record in records:
            for key, count in record.translation.items():
                translation[key] = translation.get(key, 0) + count
        if translation:
            meta["translation_counts"] = json_metadata(translation)
        meta["files_already_read"] = len(files) - read
        if overridden:
            meta["removal_bounds_overridden"] = json_metadata(overridden)
        # What tells the month-change sensor which monthly partitions this export changed: a
        # partition counts as changed only when its own rows do (file names, hashes and row
        # numbers do not enter).
        prints = partition_fingerprints(manifest, first, last)
        meta[MONTH_FINGERPRINTS_KEY] = prints
        outside = rows_outside(manifest, first, last)
        meta["rows_outside_partitions"] = outside
        if outside:
            context.log.warning(
                f"{outside:,} call rows are dated outside the monthly partitions {first} .. "
                f"{last} (see SAFEBEAT_PARTITION_START): cleaning quarantines them in the "
                "first or last partition"
            )
        # The stored export's files keep their fragments until this manifest replaces it.
        current = {sha for _, sha in files}
        pruned = fragments.prune(current | _last_source_shas(context))
        if pruned:
            context.log.info(f"removed the fragments of {len(pruned)} file(s) no longer landed")
        meta[SOURCE_SHAS_KEY] = json_metadata(sorted(current))
        version = hashlib.sha256(json.dumps([files, prints], sort_keys=True).encode())
        yield dg.Output(
            manifest, metadata=meta, data_version=dg.DataVersion(version.hexdigest()[:24])
        )

    return raw_911_calls


@RAW.asset(
    code_version="2",
    kinds={"pandas", "csv"},
    description=(
        "ACE special-event permits as exported: one row per road-closure segment (FOLDERRSN "
        "repeats), values kept as text, with source file provenance. A city without a permit "
        "feed (PipelineSettings.events_source false) gets an empty frame of the same columns "
        "and the landing zone is not read (metadata events_source: none); with a feed, a "
        "missing events file is an error."
    ),
)
def raw_events(landing: LandingZone, pipeline: PipelineSettings) -> dg.Output[pd.DataFrame]:
    if not pipeline.events_source:
        return versioned(
            empty_ace_events(),
            {**no_events_source_metadata(), "source_file_count": 0, "distinct_permits": 0},
        )
    files = landing.source_files("events")
    frame = pd.concat([read_ace_events(path) for path in files], ignore_index=True)
    meta = _files_metadata_of_frame(frame)
    meta["events_source"] = "landing"
    meta["distinct_permits"] = int(frame["folderrsn"].nunique())
    return versioned(frame, meta)


@RAW.asset(
    code_version="2",
    kinds={"geopandas"},
    description=(
        "US Census TIGER/Line block groups (GeoJSON, GeoPackage or zipped shapefile, EPSG:4269) "
        f"filtered to the configured counties ({_DEFAULT_COUNTIES} by default). Features "
        "without a usable GEOID, internal point, area or polygon are rejected, counted and "
        "listed in the metadata; invalid polygons are repaired (make_valid) and counted."
    ),
)
def raw_block_groups(
    context: dg.AssetExecutionContext, landing: LandingZone, pipeline: PipelineSettings
) -> dg.Output[pd.DataFrame]:
    files = landing.source_files("block_groups")
    reads = [load_block_groups(path, county_fps=tuple(pipeline.county_fips)) for path in files]
    frames = [read.block_groups for read in reads]
    frame = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
    counts = frame.groupby("COUNTYFP").size().to_dict()
    rejected = pd.concat([read.rejected for read in reads], ignore_index=True)
    stats: dict[str, int] = {}
    for read in reads:
        for name, count in read.stats.items():
            stats[name] = stats.get(name, 0) + count
    if len(rejected):
        context.log.warning(
            f"{len(rejected):,} block-group feature(s) rejected (calls in them stay unmatched): "
            + ", ".join(f"{r}: {n}" for r, n in rejected["reject_reason"].value_counts().items())
        )
    return versioned(
        frame,
        {
            **_files_metadata_of_frame(frame),
            "block_groups_by_county": dg.MetadataValue.json({k: int(v) for k, v in counts.items()}),
            "crs": str(frame.crs),
            "features_rejected": len(rejected),
            "features_rejected_by_reason": json_metadata(
                rejected["reject_reason"].value_counts().to_dict()
            ),
            "geometries_repaired": int(stats.get("geometries_repaired", 0)),
            "rejected_features": dg.MetadataValue.md(
                rejected.head(_LISTED_REJECTS).to_markdown(index=False) if len(rejected) else "none"
            ),
            "read_stats": json_metadata(stats),
        },
    )
