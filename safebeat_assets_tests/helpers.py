"""Helpers for tests that run parts of the asset graph: always through `build_definitions`, so
tests exercise the same assets, checks, policies and resources as `make demo` and the UI."""

import os
import shutil
import socket
from contextlib import contextmanager
from dataclasses import replace
from datetime import date
from pathlib import Path

import dagster as dg
import pandas as pd

from safebeat_assets import asset_names as names
from safebeat_assets.daily_run import DailyRun, run_daily_with_report
from safebeat_assets.definitions import build_definitions
from safebeat_assets.defs.jobs import PIPELINE_RUN_TAGS
from safebeat_assets.defs.partitions import monthly_partitions, months_tags
from safebeat_assets.settings import PROJECT_ROOT, Settings
from safebeat_assets.storage.tables import TABLES
from safebeat_assets.storage.warehouse import Warehouse

# What the tests expect of the graph, stated once: every asset and its group.
ASSET_GROUPS: dict[str, str] = {
    names.RAW_CALLS: "raw",
    names.RAW_EVENTS: "raw",
    names.RAW_BLOCK_GROUPS: "raw",
    names.CLEANED_CALLS: "cleaned",
    names.QUARANTINED_CALLS: "cleaned",
    names.CLEANED_EVENTS: "cleaned",
    names.ENRICHED_CALLS: "enriched",
    names.DIM_GEO: "warehouse",
    names.DIM_EVENT: "warehouse",
    names.FACT_CALLS: "warehouse",
    names.FACT_EVENT_INCIDENTS: "warehouse",
    names.RULE_TRANSACTIONS: "aggregates",
    names.CALLS_BY_DAY: "aggregates",
    names.BLOCK_GROUP_CALL_SUMS: "aggregates",
    names.HOT_SPOT_CALL_COUNTS: "aggregates",
    names.CALLS_BY_BLOCK_GROUP_HOUR: "aggregates",
    names.BASELINE_CALL_COUNTS: "aggregates",
    names.EVENT_DAY_CALL_CELLS: "aggregates",
    names.CALLS_BY_PRIORITY_CATEGORY: "aggregates",
    names.ASSOCIATION_RULES: "ml",
    names.ZONE_CLUSTERS: "ml",
    names.CALL_FORECAST: "ml",
    names.CALL_BASELINE_RATES: "ml",
    names.EVENT_IMPACT_MODEL: "ml",
    names.EVENT_RISK_SCORES: "risk",
    names.ZONE_RISK_SCORES: "risk",
    names.CALL_HOT_SPOTS: "risk",
    names.DAILY_REPORT: "reporting",
}
SENSOR_NAMES = {
    "safebeat_automation_sensor",
    "raw_month_change_sensor",
    "landing_zone_sensor",
    "run_failure_alert_sensor",
    "check_failure_alert_sensor",
    "report_after_daily_run_sensor",
    "orphaned_run_sensor",
}
# What the tests leave for a reader (screenshots, summaries, server logs): gitignored.
TEST_ARTIFACTS = PROJECT_ROOT / "test-artifacts"
S3_KEY = "testing"  # moto accepts any credentials; these are not secrets
REPORT_DATE = "2025-07-01"


def child_process_environment(
    data_dir: Path, landing: Path, warehouse_url: str, schema: str, **extra: str
) -> dict[str, str]:
    """The environment of a SafeBeat process a test starts (the daemon, `safebeat demo`): this
    process's, without any SAFEBEAT_/DAGSTER_ variable, on the given storage, retrying at once."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SAFEBEAT_", "DAGSTER_"))}
    env.update(
        SAFEBEAT_DATA_DIR=str(data_dir),
        SAFEBEAT_LANDING_DIR=str(landing),
        SAFEBEAT_WAREHOUSE_URL=warehouse_url,
        SAFEBEAT_WAREHOUSE_SCHEMA=schema,
        SAFEBEAT_RETRY_DELAY_SECONDS="0",
        **extra,
    )
    return env


def free_port() -> int:
    """A TCP port on loopback that is free right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def assets_in_group(group: str) -> set[str]:
    return {name for name, of in ASSET_GROUPS.items() if of == group}


def all_months_tags(settings: Settings) -> dict[str, str]:
    """Run tags covering every month of the settings' partition calendar."""
    return months_tags(monthly_partitions(settings.partition_start, settings.city.time_zone))


@contextmanager
def clean_definitions_context():
    """Loads and runs independent of earlier tests: in Dagster 1.13, leaving a `with
    DagsterInstance` block disposes the instance but leaves its definitions-state storage the
    current one, and the next definitions load reads it ("undefined DagsterInstance weakref").
    An ephemeral instance has no such storage."""
    with dg.DagsterInstance.ephemeral():
        yield


def materialize_subset(
    settings: Settings, selection: str | dg.AssetSelection, instance=None, **kwargs
):
    """Materialize `selection` (space-separated clauses such as "*fact_911_calls dim_event", or
    an AssetSelection) of the settings' definitions against their real storage."""
    if isinstance(selection, str):
        clauses = dg.AssetSelection.from_coercible(selection.split())
        selection = clauses.required_multi_asset_neighbors()
    with clean_definitions_context():
        defs = build_definitions(settings)
        return dg.materialize(
            assets=[*defs.assets, *defs.asset_checks],
            selection=selection,
            resources=defs.resources,
            instance=instance or dg.DagsterInstance.ephemeral(),
            raise_on_error=False,
            tags=kwargs.pop("tags", all_months_tags(settings)),
            **kwargs,
        )


def run_daily_job(settings: Settings, instance=None, run_config=None, tags=None) -> DailyRun:
    """The daily job over every month, then the day's report run (dated REPORT_DATE), as
    `make demo` runs them. The result answers like one run's result over both runs."""
    with clean_definitions_context():
        return run_daily_with_report(
            build_definitions(settings),
            instance or dg.DagsterInstance.ephemeral(),
            daily_run_config=run_config,
            tags={**PIPELINE_RUN_TAGS, **all_months_tags(settings), **(tags or {})},
            report_date=date.fromisoformat(REPORT_DATE),
        )


def without_events_source(monkeypatch) -> None:
    """Settings loaded from now on (in this test) are of a city that publishes no event permits
    (Austin's sample otherwise): its city profile says so, as a city's adapter file would."""
    from safebeat_assets import settings as settings_module

    load_city = settings_module.load_city
    monkeypatch.setattr(
        settings_module, "load_city", lambda name: replace(load_city(name), event_permits=False)
    )


def no_events_city(settings: Settings) -> Settings:
    """`settings` for a city that publishes no event permits."""
    return replace(settings, city=replace(settings.city, event_permits=False))


def landing_without_events(landing: Path, target: Path) -> Path:
    """A copy of `landing` with no events folder: a city that publishes no permits."""
    shutil.copytree(landing, target, ignore=shutil.ignore_patterns("events"))
    return target


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


def table_fingerprints(warehouse: Warehouse) -> dict[str, tuple]:
    prints = {}
    for name, spec in TABLES.items():
        order = ", ".join(spec.primary_key)
        prints[name] = warehouse.fetch_one(
            f"SELECT count(*), md5(coalesce(string_agg(t::text, '|' ORDER BY {order}), '')) FROM {{t}} t",
            t=name,
        )
    return prints


# Headless Chromium for the browser tests: no sandbox (CI runs as root), and none of the
# background services that would call out of this closed network.
CHROMIUM_HEADLESS_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)
