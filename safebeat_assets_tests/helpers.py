"""Helpers for tests that run parts of the asset graph."""

import dagster as dg
import pandas as pd

from safebeat_assets.definitions import ASSET_MODULES
from safebeat_assets.defs.checks import ALL_CHECKS
from safebeat_assets.defs.partitions import months_tags
from safebeat_assets.resources import build_resources
from safebeat_assets.settings import Settings


def materialize_subset(settings: Settings, selection: str, instance=None, **kwargs):
    """Materialize the space-separated clauses of `selection` (e.g. "*fact_911_calls dim_event")
    against the settings' real storage."""
    return dg.materialize(
        assets=[*dg.load_assets_from_modules(ASSET_MODULES), *ALL_CHECKS],
        selection=dg.AssetSelection.from_coercible(
            selection.split()
        ).required_multi_asset_neighbors(),
        resources=build_resources(settings),
        instance=instance or dg.DagsterInstance.ephemeral(),
        raise_on_error=False,
        tags=kwargs.pop("tags", months_tags()),
        **kwargs,
    )


def row_counts(result) -> dict[str, int]:
    counts = {}
    for event in result.get_asset_materialization_events():
        materialization = event.step_materialization_data.materialization
        value = materialization.metadata.get("dagster/row_count")
        if value is not None:
            counts[materialization.asset_key.to_user_string()] = value.value
    return counts


def check_results(result) -> dict[str, bool]:
    return {e.check_name: e.passed for e in result.get_asset_check_evaluations()}


def lake_frame(settings: Settings, bucket: str, asset: str) -> pd.DataFrame:
    """An asset's lake object, or all its monthly objects (`<asset>/<month>.parquet`) together."""
    single = settings.lake_dir / bucket / f"{asset}.parquet"
    if single.exists():
        return pd.read_parquet(single)
    parts = sorted((settings.lake_dir / bucket / asset).glob("*.parquet"))
    return pd.concat([pd.read_parquet(p) for p in parts], ignore_index=True)
