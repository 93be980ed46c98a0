"""The Parquet lake: one IO manager over a UPath, so local folders and S3 buckets look the same.

Objects live at ``<root>/<bucket>/<asset_name>.parquet``; the bucket comes from the asset's
``safebeat/lake_bucket`` definition metadata. Frames with a geometry column are stored as
GeoParquet. Every output records row count, column schema and a small preview.
"""

import io
from typing import Any

import dagster as dg
import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from dagster._core.storage.upath_io_manager import UPathIOManager
from upath import UPath

from .metadata import frame_metadata
from .object_store import LakeStorage

BUCKET_METADATA_KEY = "safebeat/lake_bucket"
COLUMNS_METADATA_KEY = "columns"
# Input metadata asking for the stored Arrow table itself (the consumer filters rows before
# paying for Python objects).
ARROW_METADATA_KEY = "as_arrow_table"
# A partitioned asset returns one frame for all partitions of its run, with this column telling
# each row's partition; the lake writes one object per partition (`<asset>/<key>.parquet`).
PARTITION_COLUMN = "partition_key"


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


class ParquetLake(UPathIOManager):
    extension = ".parquet"

    def __init__(self, storage: LakeStorage):
        super().__init__(base_path=storage.upath())
        self.storage = storage

    def get_asset_relative_path(self, context: dg.InputContext | dg.OutputContext) -> UPath:
        return UPath(_bucket_of(context), *context.asset_key.path)

    def handle_output(self, context: dg.OutputContext, obj: Any) -> None:
        if not context.has_asset_partitions:
            super().handle_output(context, obj)
            return
        if PARTITION_COLUMN not in obj.columns:
            raise dg.DagsterInvariantViolationError(
                f"partitioned lake asset {context.asset_key.to_user_string()} must return a "
                f"{PARTITION_COLUMN!r} column"
            )
        paths = self._get_paths_for_partitions(context)
        keys = obj[PARTITION_COLUMN]
        stray = set(keys.unique()) - set(paths)
        if stray:
            raise dg.DagsterInvariantViolationError(
                f"{context.asset_key.to_user_string()} returned rows for partitions outside this "
                f"run: {sorted(map(str, stray))[:5]}"
            )
        # One conversion to Arrow, then one gather per month (pandas would copy per month).
        table = _to_arrow(obj).drop_columns([PARTITION_COLUMN])
        rows_by_key = keys.groupby(keys.to_numpy(), sort=False).indices
        for key, path in paths.items():
            rows = rows_by_key.get(key, np.empty(0, dtype=np.int64))
            self.make_directory(path.parent)
            self._write_table(table.take(pa.array(rows, pa.int64())), path)
        meta = self.get_metadata(context, obj, exclude=(PARTITION_COLUMN,))
        meta["partitions_written"] = len(paths)
        context.add_output_metadata(meta)

    def load_input(self, context: dg.InputContext) -> Any:
        if not (context.has_asset_key and context.has_asset_partitions):
            return super().load_input(context)
        paths = self._get_paths_for_partitions(context)
        # Months that were never materialized (a new month with no run yet) hold no rows.
        frames = [self.load_from_path(context, p) for _, p in sorted(paths.items()) if p.exists()]
        if not frames:
            raise dg.DagsterInvariantViolationError(
                f"no partition of {context.asset_key.to_user_string()} has been materialized"
            )
        return pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]

    def dump_to_path(self, context: dg.OutputContext, obj: Any, path: UPath) -> None:
        if isinstance(obj, gpd.GeoDataFrame):
            buffer = io.BytesIO()
            obj.to_parquet(buffer, index=False, compression="zstd")
            self.storage.write_bytes(path, buffer.getvalue())
        elif isinstance(obj, pd.DataFrame | pa.Table):
            self._write_table(_to_arrow(obj), path)
        else:
            raise TypeError(
                f"the Parquet lake stores DataFrames and Arrow tables; "
                f"{context.asset_key.to_user_string()} returned {type(obj).__name__}"
            )

    def _write_table(self, table: pa.Table, path: UPath) -> None:
        buffer = pa.BufferOutputStream()
        pq.write_table(table, buffer, compression="zstd")
        self.storage.write_bytes(path, buffer.getvalue().to_pybytes())

    def load_from_path(self, context: dg.InputContext, path: UPath) -> pd.DataFrame:
        columns = (context.definition_metadata or {}).get(COLUMNS_METADATA_KEY)
        with path.open("rb") as handle:
            data = handle.read()
        schema = pq.read_schema(io.BytesIO(data))
        if schema.metadata and b"geo" in schema.metadata:
            return gpd.read_parquet(io.BytesIO(data), columns=columns)
        table = pq.read_table(io.BytesIO(data), columns=list(columns) if columns else None)
        if (context.definition_metadata or {}).get(ARROW_METADATA_KEY):
            return table
        return table.to_pandas()

    def get_metadata(
        self, context: dg.OutputContext, obj: Any, exclude: tuple[str, ...] = ()
    ) -> dict[str, Any]:
        meta = frame_metadata(obj, exclude)
        meta["safebeat/bucket"] = dg.MetadataValue.text(_bucket_of(context))
        return meta


class ParquetLakeIOManager(dg.ConfigurableIOManagerFactory):
    """Parquet lake on the configured LakeStorage (a local folder or S3 buckets)."""

    storage: dg.ResourceDependency[LakeStorage]

    def create_io_manager(self, context) -> ParquetLake:
        self.storage.ensure_buckets()
        return ParquetLake(self.storage)
