"""Chooses resources and IO managers for the active profile (see settings.py)."""

from __future__ import annotations

from typing import Any

import dagster as dg

from .defs.common import LAKE_IO, WAREHOUSE_IO, PipelineSettings
from .settings import Settings
from .storage.lake import ParquetLakeIOManager
from .storage.landing import LandingZone
from .storage.reports import ReportStore
from .storage.warehouse_io import WarehouseIOManager, WarehouseResource


def build_resources(settings: Settings) -> dict[str, Any]:
    if settings.profile != "local":
        raise NotImplementedError(
            f"profile {settings.profile!r} is not available yet; use SAFEBEAT_ENV=local"
        )
    if settings.uses_embedded_warehouse:
        warehouse = WarehouseResource(
            embedded_data_dir=str(settings.data_dir), schema_name=settings.warehouse_schema
        )
    else:
        warehouse = WarehouseResource(
            url=dg.EnvVar(settings.warehouse_url_env), schema_name=settings.warehouse_schema
        )
    lake_root = str(settings.lake_dir)
    return {
        LAKE_IO: ParquetLakeIOManager(root=lake_root),
        WAREHOUSE_IO: WarehouseIOManager(warehouse=warehouse),
        "warehouse": warehouse,
        "landing": LandingZone(root=str(settings.landing_dir)),
        "reports": ReportStore(root=lake_root),
        "pipeline": PipelineSettings(
            link_radius_km=settings.link_radius_km, county_fips=list(settings.county_fips)
        ),
    }
