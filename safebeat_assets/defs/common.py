"""Shared wiring conventions: owners, buckets, IO manager keys and the pipeline settings resource."""

import base64
import hashlib
import json
from typing import Any

import dagster as dg
import pandas as pd

from ..storage.lake import BUCKET_METADATA_KEY

DATA_OWNERS = ["team:safebeat-data"]
ANALYTICS_OWNERS = ["team:safebeat-analytics"]

LAKE_IO = "lake_io_manager"
WAREHOUSE_IO = "warehouse_io_manager"


class PipelineSettings(dg.ConfigurableResource):
    """Tunables shared by several assets (from settings.py, overridable in the launchpad)."""

    link_radius_km: float = 1.5
    county_fips: list[str] = ["453", "209", "491"]
    min_calls_for_rules: int = 1_000
    min_geolocated_calls_for_zones: int = 100
    min_days_for_forecast: int = 30
    min_warehouse_calls: int = 100_000
    min_zones_clustered: int = 100
    min_geo_match_rate: float = 0.90
    forecast_horizon_days: int = 7


def lake_metadata(bucket: str, **extra: Any) -> dict[str, Any]:
    return {BUCKET_METADATA_KEY: bucket, **extra}


def columns_in(*columns: str) -> dg.AssetIn:
    """An input that loads only these columns (the IO managers honour the `columns` metadata)."""
    return dg.AssetIn(metadata={"columns": list(columns)})


def rate(part: int, whole: int) -> float:
    return float(part) / whole if whole else 0.0


def _to_python(value: Any) -> Any:
    if hasattr(value, "item"):
        return value.item()
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


def json_metadata(value: Any) -> dg.JsonMetadataValue:
    """JSON metadata from plain or numpy/pandas values (numbers, dates, nested dicts/lists)."""
    return dg.MetadataValue.json(json.loads(json.dumps(value, default=_to_python)))


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
