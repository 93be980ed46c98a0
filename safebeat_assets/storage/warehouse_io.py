"""Dagster resources over the warehouse: a connection resource and the table IO manager."""

from pathlib import Path
from typing import Any

import dagster as dg
import pandas as pd

from ..contracts import column_descriptions
from .embedded import ensure_embedded_server
from .lake import COLUMNS_METADATA_KEY
from .metadata import frame_metadata
from .partitioned import PARTITION_COLUMN, partition_keys
from .tables import TABLES, TableSpec
from .warehouse import Warehouse


class WarehouseResource(dg.ConfigurableResource):
    """A PostgreSQL warehouse: an explicit server URL, or the embedded server under a folder."""

    url: str | None = None
    embedded_data_dir: str | None = None
    schema_name: str = "safebeat"

    def dsn(self) -> str:
        if self.url:
            return self.url
        if not self.embedded_data_dir:
            raise dg.DagsterInvalidConfigError(
                "the warehouse needs either a url or an embedded_data_dir", [], None
            )
        return ensure_embedded_server(Path(self.embedded_data_dir))

    def client(self) -> Warehouse:
        return Warehouse(self.dsn(), self.schema_name)

    @property
    def is_embedded(self) -> bool:
        return not self.url


def table_spec_for(asset_key: dg.AssetKey) -> TableSpec:
    name = asset_key.path[-1]
    if name not in TABLES:
        raise dg.DagsterInvariantViolationError(f"no warehouse table is declared for asset {name}")
    return TABLES[name]


class WarehouseIOManager(dg.ConfigurableIOManager):
    """Stores an asset's frame as the warehouse table of the same name (bulk, idempotent).

    A monthly asset's frame follows the partition convention (a `partition_key` column); the
    run's months are replaced as one date slice of the table's partition column."""

    warehouse: dg.ResourceDependency[WarehouseResource]

    def handle_output(self, context: dg.OutputContext, obj: pd.DataFrame) -> None:
        spec = table_spec_for(context.asset_key)
        client = self.warehouse.client()
        date_slice, ignored = None, ()
        if context.has_asset_partitions:
            partition_keys(context, obj)  # checked only: the slice, not the rows, is per month
            window = context.asset_partitions_time_window
            date_slice, ignored = (window.start.date(), window.end.date()), (PARTITION_COLUMN,)
        stats = client.replace_table(spec, obj, date_slice, ignored_columns=ignored)
        if spec.geometry and not client.postgis:
            context.log.info(
                f"{spec.name}: PostGIS is not installed on this server, so the geometry columns "
                f"({', '.join(g.name for g in spec.geometry)}) are left out"
            )
        context.log.info(
            f"{spec.name}: {stats.rows} rows; {stats.inserted} inserted, {stats.updated} updated, "
            f"{stats.deleted} deleted in {stats.seconds:.1f}s"
        )
        meta: dict[str, Any] = frame_metadata(obj, ignored, column_descriptions(spec.name))
        meta.update(
            {
                "dagster/table_name": f"{self.warehouse.schema_name}.{spec.name}",
                "rows_inserted": stats.inserted,
                "rows_updated": stats.updated,
                "rows_deleted": stats.deleted,
                "write_seconds": dg.MetadataValue.float(round(stats.seconds, 3)),
                "primary_key": ", ".join(spec.primary_key),
                "postgis": client.postgis,
                "geometry_columns": ", ".join(g.name for g in spec.geometry)
                if client.postgis
                else "",
            }
        )
        context.add_output_metadata(meta)

    def load_input(self, context: dg.InputContext) -> pd.DataFrame:
        spec = table_spec_for(context.asset_key)
        columns = (context.definition_metadata or {}).get(COLUMNS_METADATA_KEY)
        date_slice = None
        if context.has_asset_partitions and spec.partition_column:
            # The requested months only, as the lake does; all of them for an unpartitioned
            # consumer.
            window = context.asset_partitions_time_window
            date_slice = (window.start.date(), window.end.date())
        return self.warehouse.client().read_table(spec, columns, date_slice=date_slice)
