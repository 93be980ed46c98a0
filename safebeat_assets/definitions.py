"""The one Definitions object: assets, checks, schedule, resources for the active profile."""

from __future__ import annotations

import dagster as dg

from .defs import cleaned, enriched, ml, raw, reporting, risk, warehouse
from .defs.automation import (
    automation_sensor,
    daily_schedule,
    raw_month_change_sensor,
    safebeat_daily_job,
    with_policies,
)
from .defs.checks import ALL_CHECKS
from .defs.sensors import SENSORS
from .resources import build_resources
from .settings import Settings, load_settings

ASSET_MODULES = (raw, cleaned, enriched, warehouse, ml, risk, reporting)


def build_definitions(settings: Settings | None = None) -> dg.Definitions:
    settings = settings or load_settings()
    defs = dg.Definitions(
        assets=dg.load_assets_from_modules(ASSET_MODULES),
        asset_checks=ALL_CHECKS,
        jobs=[safebeat_daily_job],
        schedules=[daily_schedule],
        sensors=[automation_sensor, raw_month_change_sensor, *SENSORS],
        resources=build_resources(settings),
        # One process for the whole run: on 2 cores, per-step process start-up and re-imports
        # of pandas/geopandas/sklearn cost more than the parallelism gains.
        executor=dg.in_process_executor,
    )
    return defs.map_resolved_asset_specs(func=with_policies)


defs = build_definitions()
