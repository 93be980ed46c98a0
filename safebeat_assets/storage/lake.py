"""The Parquet lake: one IO manager over a UPath, so local folders and S3 buckets look the same.

Objects live at ``<root>/<bucket>/<asset_name>.parquet``, or ``<root>/<bucket>/<asset_name>/
<partition_key>.parquet`` for monthly assets; the bucket comes from the asset's
``safebeat/lake_bucket`` definition metadata. Frames with a geometry column are stored as
GeoParquet. Every output records row count, column schema and a small preview.

Every month of a run is written, an empty one as an empty object, so an absent object means
the month was never built (or was lost): loading it raises `MissingPartitionError` rather than
reading it as a month without calls, which a downstream replace would turn into deleted rows.
A failure that is not transient (see `errors.is_transient`) fails the step without retries.

A long read of a monthly asset (a refit over history) takes each past year's months from one
roll-up object under ``<asset_name>/_years/`` (`lake_rollups.py`), built on first use and named
after the versions of the months it holds, so a rewritten month is never read stale.
"""

import io
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import dagster as dg
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from upath import UPath

from ..contracts import column_descriptions
from ..errors import MissingPartitionError
from ..retries import fail_fast_unless_transient
from .lake_rollups import EXTENSION, ROLLUP_FOLDER, YearRollup, plan_read, stale_rollups
from .metadata import frame_metadata
from .object_store import LakeStorage, is_local
from .partitioned import PARTITION_COLUMN, rows_by_partition

BUCKET_METADATA_KEY = "safebeat/lake_bucket"
# Input metadata naming the columns to load (the warehouse IO manager honours it too).
COLUMNS_METADATA_KEY = "columns"
# Input metadata asking for the stored Arrow table itself (the consumer filters rows before
# paying for Python objects).
ARROW_METADATA_KEY = "as_arrow_table"
# Input metadata asking only for the number of stored rows (read from the Parquet footers).
ROW_COUNT_METADATA_KEY = "row_count_only"
# Input metadata for an optional unpartitioned input: None when the asset was never stored
# (the daily report reads a model that may have been skipped by its pre-check).
MISSING_AS_NONE_METADATA_KEY = "missing_as_none"
# Input metadata (Dagster's UPathIOManager name) letting a consumer skip absent months, for a
# reader that deliberately takes whatever months exist; the skipped months are logged.
ALLOW_MISSING_METADATA_KEY = "allow_missing_partitions"
# How many missing months a MissingPartitionError lists before it only counts the rest.
_LISTED_MONTHS = 6


def _bucket_of(context: dg.InputContext | dg.OutputContext) -> str:
    output = context.upstream_output if isinstance(context, dg.InputContext) else context
    bucket = (output.definition_metadata or {}).get(BUCKET_METADATA_KEY)
    if not bucket:
        raise dg.DagsterInvariantViolationError(
            f"asset {context.asset_key.to_user_string()} has no {BUCKET_METADATA_KEY} metadata; "
            "every lake asset must name its bucket"
        )
    return str(bucket)


def _to_arrow(obj: pd.DataFrame | pa.Table) -> pa.Table:
    if isinstance(obj, pa.Table):
        return obj
    return pa.Table.from_pandas(obj, preserve_index=False)


class ParquetLake(dg.IOManager):
    def __init__(self, storage: LakeStorage, rollups: bool = True):
        self.storage = storage
        self.root = storage.upath()
        # Long reads of past years take their yearly roll-ups (`lake_rollups.py`).
        self.rollups = rollups

    def asset_path(self, context: dg.InputContext | dg.OutputContext) -> UPath:
        """Where the asset lives, without extension: its object, or its partitions' folder."""
        return self.root.joinpath(_bucket_of(context), *context.asset_key.path)

    def object_path(
        self, context: dg.InputContext | dg.OutputContext, partition_key: str | None = None
    ) -> UPath:
        base = self.asset_path(context)
        if partition_key is None:
            return base.parent / f"{base.name}{EXTENSION}"
        return base / f"{partition_key}{EXTENSION}"

    def handle_output(self, context: dg.OutputContext, obj: Any) -> None:
        with fail_fast_unless_transient():
            self._handle_output(context, obj)

    def load_input(self, context: dg.InputContext) -> Any:
        with fail_fast_unless_transient():
            return self._load_input(context)

    def _handle_output(self, context: dg.OutputContext, obj: Any) -> None:
        if not isinstance(obj, pd.DataFrame | pa.Table):
            raise TypeError(
                f"the Parquet lake stores DataFrames and Arrow tables; "
                f"{context.asset_key.to_user_string()} returned {type(obj).__name__}"
            )
        if context.has_asset_partitions:
            rows = rows_by_partition(context, obj)
            # One conversion to Arrow, then one gather per month (pandas would copy per month).
            table = _to_arrow(obj).drop_columns([PARTITION_COLUMN])
            # One month after the other, in calendar order: a write that fails leaves the months
            # before it new and every month after it as it was (two writer threads stored a
            # later month beside a failed one).
            for key, positions in rows.items():
                self._write_table(
                    table.take(pa.array(positions, pa.int64())), self.object_path(context, key)
                )
            meta = self._metadata(context, obj, exclude=(PARTITION_COLUMN,))
            meta["partitions_written"] = len(rows)
        else:
            path = self.object_path(context)
            self._write_frame(obj, path)
            meta = {"path": dg.MetadataValue.path(str(path)), **self._metadata(context, obj)}
        context.add_output_metadata(meta)

    def _load_input(self, context: dg.InputContext) -> Any:
        wanted = context.definition_metadata or {}
        if not context.has_asset_partitions:
            path = self.object_path(context)
            try:
                if wanted.get(ROW_COUNT_METADATA_KEY):
                    return self._row_count(context, path)
                return self._read(context, path)
            except FileNotFoundError:
                if wanted.get(MISSING_AS_NONE_METADATA_KEY):
                    return None
                raise
        keys, versions = self._partition_keys(context)
        if wanted.get(ROW_COUNT_METADATA_KEY):
            return sum(self._row_count(context, self.object_path(context, key)) for key in keys)
        parts = plan_read(keys, versions) if self.rollups else keys
        rollups = [part for part in parts if isinstance(part, YearRollup)]
        if rollups and not self._rollups_ready(context, rollups, versions):
            parts = keys
        frames = [
            self._read_rollup(context, part)
            if isinstance(part, YearRollup)
            else self._read(context, self.object_path(context, part))
            for part in parts
        ]
        if len(frames) == 1:
            return frames[0]
        if isinstance(frames[0], pa.Table):
            return _concat_months(frames)
        return pd.concat(frames, ignore_index=True)

    def _partition_keys(self, context: dg.InputContext) -> tuple[list[str], dict[str, str]]:
        """The requested months, all of which must exist (unless the input allows missing
        months, and at least one exists), and the stored objects' versions."""
        keys = sorted(context.asset_partition_keys)
        folder = self.asset_path(context)
        versions = self.storage.object_versions(folder)
        missing = [key for key in keys if f"{key}{EXTENSION}" not in versions]
        if missing and (context.definition_metadata or {}).get(ALLOW_MISSING_METADATA_KEY):
            present = [key for key in keys if key not in set(missing)]
            if present:
                dg.get_dagster_logger().warning(
                    f"{context.asset_key.to_user_string()}: skipping {_months(missing)}, "
                    f"absent from {folder} ({ALLOW_MISSING_METADATA_KEY} is set)"
                )
                return present, versions
        if missing:
            raise _missing_partitions(context, missing, folder)
        return keys, versions

    # --- yearly roll-ups (`lake_rollups.py`) -------------------------------------------------
    def _rollup_folder(self, context: dg.InputContext) -> UPath:
        return self.asset_path(context) / ROLLUP_FOLDER

    def _rollups_ready(
        self, context: dg.InputContext, rollups: list[YearRollup], versions: dict[str, str]
    ) -> bool:
        """Builds the planned roll-ups that are not stored yet and removes the stale ones of
        their years. False (the months are read one by one, as they are) when the months are
        GeoParquet, when Arrow cannot widen them to one type (pandas would make them object),
        or when one was rewritten while they were read."""
        folder = self._rollup_folder(context)
        stored = self.storage.object_names(folder)
        for rollup in rollups:
            if rollup.name in stored:
                continue
            months = [self._month_table(context, key) for key in rollup.months]
            if any(_is_geo_schema(table.schema) for table in months):
                return False
            try:
                year = _concat_months(months)
            except (pa.ArrowInvalid, pa.ArrowTypeError):
                return False
            # The roll-up is named after the versions listed before the read: a month rewritten
            # in between (then perhaps back to the same bytes, hence the same ETag) would
            # otherwise give that name other content.
            now = self.storage.object_versions(self.asset_path(context))
            if any(
                now.get(f"{key}{EXTENSION}") != versions[f"{key}{EXTENSION}"]
                for key in rollup.months
            ):
                return False
            self._write_table(year, folder / rollup.name)
        self.storage.delete_objects(folder, stale_rollups(stored, rollups))
        return True

    def _month_table(self, context: dg.InputContext, key: str) -> pa.Table:
        path = self.object_path(context, key)
        return pq.read_table(pa.BufferReader(self._object_bytes(context, path)))

    def _read_rollup(self, context: dg.InputContext, rollup: YearRollup) -> Any:
        """A year's months as one read; like `_read` of a month, columns and type as asked."""
        wanted = context.definition_metadata or {}
        columns = wanted.get(COLUMNS_METADATA_KEY)
        path = self._rollup_folder(context) / rollup.name
        try:
            data = self.storage.read_bytes(path)
        except FileNotFoundError:
            # Replaced by a reader that saw a month rewritten after this read listed them.
            table = _concat_months([self._month_table(context, key) for key in rollup.months])
            table = table.select(list(columns)) if columns else table
        else:
            read = list(columns) if columns else None
            table = pq.read_table(pa.BufferReader(data), columns=read)
        return table if wanted.get(ARROW_METADATA_KEY) else table.to_pandas()

    # Objects are serialized in memory and stored whole (see LakeStorage.write_bytes): a
    # writer streaming into the final key could leave a truncated object behind.
    def _write_frame(self, obj: pd.DataFrame | pa.Table, path: UPath) -> None:
        if _is_geo_frame(obj):
            buffer = io.BytesIO()
            obj.to_parquet(buffer, index=False, compression="zstd")
            self.storage.write_bytes(path, buffer.getvalue())
        else:
            self._write_table(_to_arrow(obj), path)

    def _write_table(self, table: pa.Table, path: UPath) -> None:
        buffer = pa.BufferOutputStream()
        pq.write_table(table, buffer, compression="zstd")
        self.storage.write_bytes(path, buffer.getvalue().to_pybytes())

    def _read(self, context: dg.InputContext, path: UPath) -> Any:
        wanted = context.definition_metadata or {}
        columns = wanted.get(COLUMNS_METADATA_KEY)
        data = self._object_bytes(context, path)
        # Arrow reads its own buffer natively; a BytesIO is read through Python calls.
        is_geo = _is_geo_schema(pq.read_schema(pa.BufferReader(data)))
        as_arrow = wanted.get(ARROW_METADATA_KEY)
        if is_geo and not as_arrow and (columns is None or "geometry" in columns):
            import geopandas as gpd  # imported here: see _is_geo_frame

            return gpd.read_parquet(io.BytesIO(data), columns=columns)
        table = pq.read_table(pa.BufferReader(data), columns=list(columns) if columns else None)
        return table if as_arrow else table.to_pandas()

    def _object_bytes(self, context: dg.InputContext, path: UPath) -> bytes:
        with _still_there(context, path):
            return self.storage.read_bytes(path)

    def _row_count(self, context: dg.InputContext, path: UPath) -> int:
        with _still_there(context, path):
            if is_local(path):
                return pq.ParquetFile(path.path).metadata.num_rows
            # Only the footer is fetched (ranged reads of one ETag-pinned version).
            with (
                self.storage.answering("read the Parquet footer of", str(path)),
                path.open("rb") as handle,
            ):
                return pq.ParquetFile(handle).metadata.num_rows

    def _metadata(
        self, context: dg.OutputContext, obj: Any, exclude: tuple[str, ...] = ()
    ) -> dict[str, Any]:
        meta = frame_metadata(obj, exclude, column_descriptions(context.asset_key.path[-1]))
        meta["safebeat/bucket"] = dg.MetadataValue.text(_bucket_of(context))
        return meta


def _concat_months(tables: list[pa.Table]) -> pa.Table:
    """Months as one Arrow table, typed as concatenating them in pandas would: an empty month
    (stored from an empty frame: text columns typed null, sums int64) adds neither rows nor
    types, and a column typed differently by months with rows is widened (int64 and double
    give double, as pandas upcasts)."""
    with_rows = [table for table in tables if table.num_rows] or tables[:1]
    return pa.concat_tables(with_rows, promote_options="permissive")


def _is_geo_schema(schema: pa.Schema) -> bool:
    return bool(schema.metadata and b"geo" in schema.metadata)


def _is_geo_frame(obj: Any) -> bool:
    # geopandas (with shapely and pyproj) costs ~0.2 s to import, so it is not imported with the
    # definitions; a GeoDataFrame can only exist once something else has imported it.
    geopandas = sys.modules.get("geopandas")
    return geopandas is not None and isinstance(obj, geopandas.GeoDataFrame)


@contextmanager
def _still_there(context: dg.InputContext, path: UPath) -> Iterator[None]:
    """A month deleted between the listing and the read is still a missing month."""
    try:
        yield
    except FileNotFoundError as exc:
        if not context.has_asset_partitions:
            raise
        month = path.name[: -len(EXTENSION)]
        raise _missing_partitions(context, [month], path.parent) from exc


def _months(keys: list[str]) -> str:
    shown = ", ".join(keys[:_LISTED_MONTHS])
    more = f" and {len(keys) - _LISTED_MONTHS} more" if len(keys) > _LISTED_MONTHS else ""
    return f"{len(keys)} month(s) {shown}{more}"


def _missing_partitions(
    context: dg.InputContext, missing: list[str], folder: UPath
) -> MissingPartitionError:
    asset = context.asset_key.to_user_string()
    return MissingPartitionError(
        f"{asset}: {_months(missing)} requested but absent from the lake at {folder} "
        f"(an empty month is stored as an empty object, so an absent one was never built or "
        f"was lost; it is not read as empty). Materialize {asset} for these months first."
    )


class ParquetLakeIOManager(dg.ConfigurableIOManagerFactory):
    """Parquet lake on the configured LakeStorage (a local folder or S3 buckets)."""

    storage: dg.ResourceDependency[LakeStorage]

    def create_io_manager(self, context) -> ParquetLake:
        self.storage.ensure_buckets()
        return ParquetLake(self.storage)
