"""What every asset of a stage shares (group, owners, storage, kinds), declared once per stage,
and the metadata helpers the asset bodies use."""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import dagster as dg
import pandas as pd

from ..executors import WAREHOUSE_POOL
from ..resources import LAKE_IO, WAREHOUSE_IO
from ..retries import TRANSIENT_RETRY, fail_fast_unless_transient_fn
from ..storage.lake import ARROW_METADATA_KEY, BUCKET_METADATA_KEY, COLUMNS_METADATA_KEY
from .checks.alert_rules import alert_check_specs

DATA_OWNERS = ("team:safebeat-data",)
ANALYTICS_OWNERS = ("team:safebeat-analytics",)

# Monthly assets run as backfills of at most MONTHS_PER_RUN months per run: one run covers many
# months (a run's fixed cost is paid once per year, not per month), while a step never holds
# more than a year of calls, whatever the history (memory depends on a month's size).
MONTHS_PER_RUN = 12
BOUNDED_RUNS = dg.BackfillPolicy.multi_run(max_partitions_per_run=MONTHS_PER_RUN)


@dataclass(frozen=True)
class Stage:
    """The decorator arguments shared by the assets of one stage. An asset adds its own
    description, code version and extra kinds; a lake stage names its bucket; `shared` holds
    further arguments every asset of the stage takes (e.g. a common dependency). An asset
    that has alert-rule checks (`checks.alert_rules`) gets their specs by its name."""

    group: str
    owners: tuple[str, ...]
    kinds: frozenset[str]
    io_manager_key: str
    bucket: str | None = None
    shared: Mapping[str, Any] = field(default_factory=dict)
    # The concurrency pool the stage's steps hold a slot of (op property: assets, not outs).
    pool: str | None = None

    def _arguments(
        self,
        code_version: str,
        description: str,
        kinds: Iterable[str],
        monthly: dg.PartitionsDefinition | None,
    ) -> dict[str, Any]:
        arguments: dict[str, Any] = {
            "owners": list(self.owners),
            "kinds": set(self.kinds) | set(kinds),
            "io_manager_key": self.io_manager_key,
            "code_version": code_version,
            "description": description,
            # Every stage reads or writes the lake, the warehouse or the landing zone.
            "retry_policy": TRANSIENT_RETRY,
        }
        if self.bucket:
            arguments["metadata"] = {BUCKET_METADATA_KEY: self.bucket}
        if monthly is not None:
            arguments["partitions_def"] = monthly
            arguments["backfill_policy"] = BOUNDED_RUNS
        if self.pool:
            arguments["pool"] = self.pool
        return arguments

    def asset(
        self,
        *,
        code_version: str,
        description: str,
        kinds: Iterable[str] = (),
        monthly: dg.PartitionsDefinition | None = None,
        **asset_arguments: Any,
    ) -> Callable[[Callable[..., Any]], dg.AssetsDefinition]:
        """`@dg.asset` with the stage's arguments; `monthly` partitions it by month."""

        def decorate(compute: Callable[..., Any]) -> dg.AssetsDefinition:
            arguments = self._arguments(code_version, description, kinds, monthly)
            arguments["group_name"] = self.group
            own = dict(asset_arguments)
            for name, shared in self.shared.items():
                # Shared lists (deps) are extended, not replaced, by the asset's own.
                arguments[name] = [*shared, *own.pop(name, [])]
            arguments["metadata"] = {**arguments.get("metadata", {}), **own.pop("metadata", {})}
            arguments.update(own)
            specs = alert_check_specs(own.get("name", compute.__name__))
            if specs:
                arguments["check_specs"] = [*specs, *own.get("check_specs", [])]
            return dg.asset(**arguments)(fail_fast_unless_transient_fn(compute))

        return decorate

    def out(
        self,
        *,
        code_version: str,
        description: str,
        kinds: Iterable[str] = (),
        is_required: bool = True,
    ) -> dg.AssetOut:
        """One output of a `@dg.multi_asset` with the stage's arguments (the multi-asset itself
        carries the group and the partitions); a subsettable multi-asset's outputs are not
        required (a run may build some of them)."""
        arguments = self._arguments(code_version, description, kinds, monthly=None)
        # Op properties: the multi-asset itself takes them.
        arguments.pop("retry_policy")
        arguments.pop("pool", None)
        return dg.AssetOut(**arguments, is_required=is_required)


def lake_stage(
    group: str,
    bucket: str,
    owners: tuple[str, ...],
    kinds: Iterable[str],
    shared: Mapping[str, Any] | None = None,
) -> Stage:
    return Stage(group, owners, frozenset(kinds) | {"parquet"}, LAKE_IO, bucket, shared or {})


def warehouse_stage(group: str, owners: tuple[str, ...]) -> Stage:
    """Assets stored in the warehouse; their steps share the instance's `warehouse` pool, so
    however many steps run at once, writers to PostGIS queue behind its limit."""
    return Stage(
        group, owners, frozenset({"pandas", "postgres"}), WAREHOUSE_IO, pool=WAREHOUSE_POOL
    )


def columns_in(*columns: str, as_arrow_table: bool = False) -> dg.AssetIn:
    """An input that loads only these columns (both IO managers honour the `columns` metadata);
    from the lake, `as_arrow_table` loads the Arrow table itself (every month as one table)."""
    metadata: dict[str, Any] = {COLUMNS_METADATA_KEY: list(columns)}
    if as_arrow_table:
        metadata[ARROW_METADATA_KEY] = True
    return dg.AssetIn(metadata=metadata)


def _to_python(value: Any) -> Any:
    if hasattr(value, "item"):
        return value.item()
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


def plain_json(value: Any) -> Any:
    """Plain JSON values (dicts, lists, str, numbers) from numpy/pandas ones."""
    return json.loads(json.dumps(value, default=_to_python))


def json_metadata(value: Any) -> dg.JsonMetadataValue:
    """JSON metadata from plain or numpy/pandas values (numbers, dates, nested dicts/lists)."""
    return dg.MetadataValue.json(plain_json(value))


def optional_float(value: Any, digits: int) -> dg.MetadataValue:
    """A rounded float, or an explicit null when the value could not be computed."""
    if value is None:
        return dg.MetadataValue.null()
    return dg.MetadataValue.float(round(float(value), digits))


def content_version(frame: pd.DataFrame) -> str:
    """A data version derived from the frame's content: identical rows give the same version."""
    hashable = frame
    if "geometry" in frame.columns:  # shapely objects do not hash by value; their WKB does
        hashable = pd.DataFrame(frame.drop(columns="geometry"))
        hashable["geometry"] = frame["geometry"].to_wkb()
    digest = hashlib.sha256()
    digest.update(repr([(str(c), str(t)) for c, t in hashable.dtypes.items()]).encode())
    digest.update(pd.util.hash_pandas_object(hashable, index=False).to_numpy().tobytes())
    return digest.hexdigest()[:24]


def versioned(
    frame: pd.DataFrame,
    metadata: dict[str, Any] | None = None,
    output_name: str = "result",
    version: str | None = None,
) -> dg.Output:
    """The frame as an Output carrying its content-derived data version (`version` when the
    caller already derived one from the content)."""
    return dg.Output(
        frame,
        output_name=output_name,
        metadata=metadata or {},
        data_version=dg.DataVersion(version or content_version(frame)),
    )


def image_metadata(png: bytes, caption: str) -> dg.MarkdownMetadataValue:
    """A PNG shown inline in the asset's metadata (markdown image with a data URI)."""
    encoded = base64.b64encode(png).decode("ascii")
    return dg.MetadataValue.md(f"![{caption}](data:image/png;base64,{encoded})")
