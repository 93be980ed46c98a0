"""The one Definitions object: assets, checks, schedule, sensors, and the resources and executor
of the active profile, all built from one `Settings`."""

from __future__ import annotations

import dagster as dg

from .defs import (
    aggregates,
    cleaned,
    enriched,
    event_day_aggregates,
    event_impact,
    hot_spots,
    ml,
    raw,
    reporting,
    risk,
    warehouse,
)
from .defs.automation import automation_sensor, with_check_conditions, with_policies
from .defs.checks import ASSET_CHECKS
from .defs.jobs import safebeat_daily_job, safebeat_report_job
from .defs.partitions import monthly_partitions
from .defs.schedules import build_daily_schedule
from .defs.sensors import build_sensors
from .executors import build_executor
from .memory import freeze_long_lived
from .resources import build_resources
from .settings import Settings, load_settings

STAGE_MODULES = (raw, cleaned, enriched, warehouse, ml, hot_spots, event_impact, risk, reporting)


def build_assets(monthly: dg.PartitionsDefinition) -> list[dg.AssetsDefinition]:
    """The stages' module-level assets, plus those built for the partition calendar."""
    return [
        *dg.load_assets_from_modules(STAGE_MODULES),
        raw.build_raw_calls(monthly),
        cleaned.build_cleaned_calls(monthly),
        enriched.build_enriched_calls(monthly),
        *warehouse.build_call_facts(monthly),
        *aggregates.build_model_aggregates(monthly),
        event_day_aggregates.build_event_day_aggregates(monthly),
    ]


def build_definitions(settings: Settings | None = None) -> dg.Definitions:
    settings = settings or load_settings()
    monthly = monthly_partitions(settings.partition_start, settings.city.time_zone)
    assets = [with_check_conditions(a) for a in build_assets(monthly)]
    defs = dg.Definitions(
        assets=assets,
        asset_checks=ASSET_CHECKS,
        jobs=[safebeat_daily_job, safebeat_report_job],
        schedules=[build_daily_schedule(monthly)],
        sensors=[automation_sensor, *build_sensors(monthly)],
        resources=build_resources(settings),
        executor=build_executor(settings, assets, ASSET_CHECKS),
    )
    return defs.map_resolved_asset_specs(func=with_policies)


defs = build_definitions()
# Every process that loads the code location (run workers, the code server, the daemon) keeps
# the definitions until it exits: later collections need not traverse them (`memory.py`).
freeze_long_lived()
