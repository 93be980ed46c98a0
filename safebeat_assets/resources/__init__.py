"""Chooses resources and IO managers for the active profile (see settings.py).

local: lake folders under the data dir, the embedded warehouse unless SAFEBEAT_WAREHOUSE_URL is
set, a local landing folder. prod: S3 buckets (MinIO) for lake, landing and reports, and the
PostGIS server at SAFEBEAT_WAREHOUSE_URL. Secrets are only ever EnvVar references.
"""

from typing import Any

import dagster as dg

from ..settings import ENV_S3_ACCESS_KEY_ID, ENV_S3_SECRET_ACCESS_KEY, RAW_BUCKET, Settings
from ..storage.lake import ParquetLakeIOManager
from ..storage.landing import LandingZone
from ..storage.object_store import LakeStorage
from ..storage.reports import ReportStore
from ..storage.warehouse_io import WarehouseIOManager, WarehouseResource
from .alert_channels import AlertChannels
from .pipeline import PipelineSettings

LAKE_IO = "lake_io_manager"
WAREHOUSE_IO = "warehouse_io_manager"

__all__ = [
    "LAKE_IO",
    "WAREHOUSE_IO",
    "AlertChannels",
    "PipelineSettings",
    "build_resources",
]


def _lake_storage(settings: Settings) -> LakeStorage:
    if settings.uses_object_storage:
        return LakeStorage(
            root="s3://",
            endpoint_url=settings.s3_endpoint_url,
            region_name=settings.s3_region,
            access_key_id=dg.EnvVar(ENV_S3_ACCESS_KEY_ID),
            secret_access_key=dg.EnvVar(ENV_S3_SECRET_ACCESS_KEY),
        )
    return LakeStorage(root=str(settings.lake_dir))


def _warehouse(settings: Settings) -> WarehouseResource:
    timeouts = {
        "connect_timeout_seconds": settings.warehouse_connect_timeout_seconds,
        "statement_timeout_seconds": settings.warehouse_statement_timeout_seconds,
        "lock_timeout_seconds": settings.warehouse_lock_timeout_seconds,
        "time_zone": settings.city.time_zone,
    }
    if settings.uses_embedded_warehouse:
        return WarehouseResource(
            embedded_data_dir=str(settings.data_dir),
            schema_name=settings.warehouse_schema,
            **timeouts,
        )
    return WarehouseResource(
        url=dg.EnvVar(settings.warehouse_url_env),
        schema_name=settings.warehouse_schema,
        **timeouts,
    )


def build_resources(settings: Settings) -> dict[str, Any]:
    storage = _lake_storage(settings)
    warehouse = _warehouse(settings)
    landing_location = (
        f"s3://{RAW_BUCKET}/{settings.landing_prefix}"
        if settings.uses_object_storage
        else str(settings.landing_dir)
    )
    return {
        LAKE_IO: ParquetLakeIOManager(storage=storage),
        WAREHOUSE_IO: WarehouseIOManager(
            warehouse=warehouse,
            max_removed_fraction_per_month=settings.max_removed_fraction_per_month,
            max_removed_fraction_overall=settings.max_removed_fraction_overall,
        ),
        "lake_storage": storage,
        "warehouse": warehouse,
        "landing": LandingZone(
            location=landing_location,
            storage=storage,
            cache_dir=str(settings.data_dir / "landing-cache"),
        ),
        "reports": ReportStore(storage=storage),
        "alert_channels": AlertChannels.from_settings(settings),
        "pipeline": PipelineSettings(
            city=settings.city.name,
            city_title=settings.city.title,
            time_zone=settings.city.time_zone,
            box=list(settings.city.box),
            events_source=settings.city.event_permits,
            link_radius_km=settings.link_radius_km,
            county_fips=list(settings.county_fips),
            max_removed_fraction_per_month=settings.max_removed_fraction_per_month,
            max_removed_fraction_overall=settings.max_removed_fraction_overall,
        ),
    }
