"""Dagster resources over the warehouse: a connection resource and the table IO manager."""

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import dagster as dg
import pandas as pd

from ..contracts import column_descriptions
from ..domain import LOCAL_TZ
from ..guards import ALLOW_SHRINK_TAG, RemovalBounds
from ..retries import fail_fast_unless_transient
from .embedded import ensure_embedded_server
from .lake import COLUMNS_METADATA_KEY
from .metadata import frame_metadata
from .partitioned import PARTITION_COLUMN, partition_keys
from .pg_timeouts import Timeouts
from .tables import TABLES, TableSpec
from .warehouse import Warehouse

_DEFAULT_TIMEOUTS = Timeouts()


class WarehouseResource(dg.ConfigurableResource):
    """A PostgreSQL warehouse: an explicit server URL, or the embedded server under a folder.

    Statements the server has not finished after `statement_timeout_seconds` are cancelled by
    the server; one that has no answer `client_grace_seconds` later (a frozen server) is cut off
    by the client. Both fail the step with a transient error (retried)."""

    url: str | None = None
    embedded_data_dir: str | None = None
    schema_name: str = "safebeat"
    connect_timeout_seconds: float = _DEFAULT_TIMEOUTS.connect_seconds
    statement_timeout_seconds: float = _DEFAULT_TIMEOUTS.statement_seconds
    lock_timeout_seconds: float = _DEFAULT_TIMEOUTS.lock_seconds
    # None: the statement timeout.
    idle_in_transaction_timeout_seconds: float | None = None
    client_grace_seconds: float = _DEFAULT_TIMEOUTS.grace_seconds
    # The city's zone: timestamptz columns are read back as its local time.
    time_zone: str = LOCAL_TZ

    def dsn(self) -> str:
        if self.url:
            return self.url
        if not self.embedded_data_dir:
            raise dg.DagsterInvalidConfigError(
                "the warehouse needs either a url or an embedded_data_dir", [], None
            )
        return ensure_embedded_server(Path(self.embedded_data_dir))

    def timeouts(self) -> Timeouts:
        return Timeouts(
            connect_seconds=self.connect_timeout_seconds,
            statement_seconds=self.statement_timeout_seconds,
            lock_seconds=self.lock_timeout_seconds,
            idle_in_transaction_seconds=self.idle_in_transaction_timeout_seconds,
            grace_seconds=self.client_grace_seconds,
        )

    def client(self) -> Warehouse:
        return Warehouse(
            self.dsn(), self.schema_name, timeouts=self.timeouts(), time_zone=self.time_zone
        )

    @property
    def is_embedded(self) -> bool:
        return not self.url


def table_spec_for(asset_key: dg.AssetKey) -> TableSpec:
    name = asset_key.path[-1]
    if name not in TABLES:
        raise dg.DagsterInvariantViolationError(f"no warehouse table is declared for asset {name}")
    return TABLES[name]


def run_tags(context: dg.OutputContext) -> Mapping[str, str]:
    """The run's tags (the override of the removal bounds is one), or none outside a run."""
    try:
        return context.step_context.run_tags
    except dg.DagsterInvariantViolationError:  # an OutputContext built without a step
        return {}


class WarehouseIOManager(dg.ConfigurableIOManager):
    """Stores an asset's frame as the warehouse table of the same name (bulk, idempotent).

    A monthly asset's frame follows the partition convention (a `partition_key` column); the
    run's months are replaced as one date slice of the table's partition column.

    Before the new rows replace the old (same transaction), they pass the table's audits and
    may remove at most `max_removed_fraction_per_month` of any month's rows and
    `max_removed_fraction_overall` of all rows, compared with the table's current contents;
    the run tag `safebeat/allow-shrink=true` (`guards.ALLOW_SHRINK_TAG`) accepts a larger removal. A refused load fails the
    step at once (never retried) and writes nothing; a warehouse that does not answer fails it
    with a transient error that the step's retry policy retries."""

    warehouse: dg.ResourceDependency[WarehouseResource]
    max_removed_fraction_per_month: float = RemovalBounds.per_month
    max_removed_fraction_overall: float = RemovalBounds.overall

    def removal_bounds(self) -> RemovalBounds:
        return RemovalBounds(
            per_month=self.max_removed_fraction_per_month,
            overall=self.max_removed_fraction_overall,
        )

    def handle_output(self, context: dg.OutputContext, obj: pd.DataFrame) -> None:
        with fail_fast_unless_transient():
            self._store(context, obj)

    def _store(self, context: dg.OutputContext, obj: pd.DataFrame) -> None:
        spec = table_spec_for(context.asset_key)
        client = self.warehouse.client()
        date_slice, ignored = None, ()
        if context.has_asset_partitions:
            partition_keys(context, obj)  # checked only: the slice, not the rows, is per month
            window = context.asset_partitions_time_window
            date_slice, ignored = (window.start.date(), window.end.date()), (PARTITION_COLUMN,)
        stats = client.replace_table(
            spec,
            obj,
            date_slice,
            ignored_columns=ignored,
            removal_bounds=self.removal_bounds(),
            run_tags=run_tags(context),
        )
        if stats.removal_overridden:
            context.log.warning(
                f"{spec.name}: the run tag {ALLOW_SHRINK_TAG} accepted a load beyond the "
                f"removal bounds: {'; '.join(stats.removal_overridden)}"
            )
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
                "audits": ", ".join(a.name for a in spec.audits) or "keys and NOT NULL only",
                "postgis": client.postgis,
                "geometry_columns": ", ".join(g.name for g in spec.geometry)
                if client.postgis
                else "",
            }
        )
        if stats.removal_overridden:
            meta["removal_bounds_overridden"] = dg.MetadataValue.text(
                "; ".join(stats.removal_overridden)
            )
        context.add_output_metadata(meta)

    def load_input(self, context: dg.InputContext) -> pd.DataFrame:
        with fail_fast_unless_transient():
            spec = table_spec_for(context.asset_key)
            columns = (context.definition_metadata or {}).get(COLUMNS_METADATA_KEY)
            date_slice = None
            if context.has_asset_partitions and spec.partition_column:
                # The requested months only, as the lake does; all of them for an unpartitioned
                # consumer.
                window = context.asset_partitions_time_window
                date_slice = (window.start.date(), window.end.date())
            return self.warehouse.client().read_table(spec, columns, date_slice=date_slice)
