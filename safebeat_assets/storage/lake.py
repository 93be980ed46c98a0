"""The Parquet lake: one IO manager over a UPath, so local folders and S3 buckets look the same.

Objects live at ``<root>/<bucket>/<asset_name>.parquet``, or ``<root>/<bucket>/<asset_name>/
<partition_key>.parquet`` for monthly assets; the bucket comes from the asset's
``safebeat/lake_bucket`` definition metadata. Frames with a geometry column are stored as
GeoParquet. Every output records row count, column schema and a small preview.
"""

import io
from typing import Any

import dagster as dg
import geopandas as gpd
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from upath import UPath

from ..contracts import column_descriptions
from .metadata import frame_metadata
from .object_store import LakeStorage
from .partitioned import PARTITION_COLUMN, rows_by_partition

BUCKET_METADATA_KEY = "safebeat/lake_bucket"
# Input metadata naming the columns to load (the warehouse IO manager honours it too).
COLUMNS_METADATA_KEY = "columns"
# Input metadata asking for the stored Arrow table itself (the consumer filters rows before
# paying for Python objects).
ARROW_METADATA_KEY = "as_arrow_table"
# Input metadata asking only for the number of stored rows (read from the Parquet footers).
ROW_COUNT_METADATA_KEY = "row_count_only"
EXTENSION = ".parquet"


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
    def __init__(self, storage: LakeStorage):
        self.storage = storage
        self.root = storage.upath()

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
        if not isinstance(obj, pd.DataFrame | pa.Table):
            raise TypeError(
                f"the Parquet lake stores DataFrames and Arrow tables; "
                f"{context.asset_key.to_user_string()} returned {type(obj).__name__}"
            )
        if context.has_asset_partitions:
            rows = rows_by_partition(context, obj)
            # One conversion to Arrow, then one gather per month (pandas would copy per month).
            table = _to_arrow(obj).drop_columns([PARTITION_COLUMN])
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

    def load_input(self, context: dg.InputContext) -> Any:
        if not context.has_asset_partitions:
            paths = [self.object_path(context)]
        else:
            paths = [self.object_path(context, key) for key in sorted(context.asset_partition_keys)]
        if context.has_asset_partitions:
            # Months that were never materialized (a new month with no run yet) hold no rows.
            paths = [path for path in paths if path.exists()]
        if not paths:
            raise dg.DagsterInvariantViolationError(
                f"no partition of {context.asset_key.to_user_string()} has been materialized"
            )
        if (context.definition_metadata or {}).get(ROW_COUNT_METADATA_KEY):
            return sum(self._row_count(path) for path in paths)
        if not context.has_asset_partitions:
            return self._read(context, paths[0])
        frames = [self._read(context, path) for path in paths]
        if len(frames) == 1:
            return frames[0]
        if isinstance(frames[0], pa.Table):
            # Months written by different runs may type an all-null column differently.
            return pa.concat_tables(frames, promote_options="default")
        return pd.concat(frames, ignore_index=True)

    def _write_frame(self, obj: pd.DataFrame | pa.Table, path: UPath) -> None:
        if isinstance(obj, gpd.GeoDataFrame):
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
        with path.open("rb") as handle:
            data = handle.read()
        schema = pq.read_schema(io.BytesIO(data))
        is_geo = bool(schema.metadata and b"geo" in schema.metadata)
        as_arrow = wanted.get(ARROW_METADATA_KEY)
        if is_geo and not as_arrow and (columns is None or "geometry" in columns):
            return gpd.read_parquet(io.BytesIO(data), columns=columns)
        table = pq.read_table(io.BytesIO(data), columns=list(columns) if columns else None)
        return table if as_arrow else table.to_pandas()

    @staticmethod
    def _row_count(path: UPath) -> int:
        with path.open("rb") as handle:
            return pq.ParquetFile(handle).metadata.num_rows

    def _metadata(
        self, context: dg.OutputContext, obj: Any, exclude: tuple[str, ...] = ()
    ) -> dict[str, Any]:
        meta = frame_metadata(obj, exclude, column_descriptions(context.asset_key.path[-1]))
        meta["safebeat/bucket"] = dg.MetadataValue.text(_bucket_of(context))
        return meta


class ParquetLakeIOManager(dg.ConfigurableIOManagerFactory):
    """Parquet lake on the configured LakeStorage (a local folder or S3 buckets)."""

    storage: dg.ResourceDependency[LakeStorage]

    def create_io_manager(self, context) -> ParquetLake:
        self.storage.ensure_buckets()
        return ParquetLake(self.storage)
