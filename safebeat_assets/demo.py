"""`safebeat demo`: sample data if the landing zone is empty, one full run and the day's report
run, a printed summary. Exits non-zero only when the report is FAILED."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import dagster as dg

from .analytics.requirements import FORECAST_HORIZON_DAYS
from .asset_names import (
    ASSOCIATION_RULES,
    CALL_FORECAST,
    EVENT_RISK_SCORES,
    FACT_CALLS,
    RAW_CALLS,
    ZONE_CLUSTERS,
)
from .daily_run import ReportOutcome, run_daily_with_report
from .definitions import build_definitions
from .defs.jobs import (
    PIPELINE_QUEUE,
    PIPELINE_QUEUE_TAG,
    PIPELINE_RUN_TAGS,
)
from .defs.partitions import monthly_partitions, months_tags
from .defs.sensors.orphaned_runs import RUN_PID_TAG, fail_orphaned_runs
from .reporting.status import STATUS_FAILED
from .settings import DEFAULT_CITY, ENV_PARTITION_START, Settings, load_settings
from .storage.embedded import stop_embedded_server
from .storage.landing import SOURCE_PATTERNS, LandingZone, MissingSourceError
from .storage.object_store import LakeStorage

# The generated history of `safebeat demo` (and of `safebeat sample`'s defaults).
SAMPLE_START, SAMPLE_END = "2023-01-01", "2025-12-31"


def local_instance_yaml(home: Path) -> str:
    """The local profile's `dagster.yaml` for the Dagster home `home`."""
    return f"""\
# Local-profile Dagster instance (written by `safebeat demo` and `make ui`; rewritten on each
# start): SQLite storage in this folder, Dagster's own with each database's engine kept
# (safebeat_assets/storage/dagster_sqlite.py). Run monitoring enforces the pipeline runs' 2-hour
# `dagster/max_runtime`; one pipeline run at a time (a second request queues).
storage:
  custom:
    module: safebeat_assets.storage.dagster_sqlite
    class: SharedEngineSqliteStorage
    config:
      base_dir: {json.dumps(str(home.resolve()))}
telemetry:
  enabled: false
run_monitoring:
  enabled: true
  start_timeout_seconds: 180
  poll_interval_seconds: 30
concurrency:
  runs:
    tag_concurrency_limits:
      - key: {PIPELINE_QUEUE_TAG}
        value: {PIPELINE_QUEUE}
        limit: 1
freshness:
  enabled: true
"""


def landing_is_empty(landing_dir: Path) -> bool:
    landing = LandingZone(location=str(landing_dir), storage=LakeStorage(root=str(landing_dir)))
    for source in SOURCE_PATTERNS:
        try:
            landing.source_files(source)
            return False
        except MissingSourceError:
            continue
    return True


def ensure_inputs(settings: Settings, calls: int, seed: int) -> bool:
    """Generate the city's sample when its landing zone is empty; True when it did."""
    if not landing_is_empty(settings.landing_dir):
        print(f"using input files under {settings.landing_dir}")
        return False
    started = time.perf_counter()
    if settings.city.name == DEFAULT_CITY:
        from .sample import generate_sample

        paths = generate_sample(
            settings.landing_dir, n_calls=calls, seed=seed, start=SAMPLE_START, end=SAMPLE_END
        )
        written = [paths.calls, paths.events, paths.block_groups]
    else:
        from .sample.cities import build_city_sample, write_city_sample

        sample = build_city_sample(settings.city.name, calls, seed, SAMPLE_START, SAMPLE_END)
        city_paths = write_city_sample(
            sample, settings.city.name, settings.landing_dir, SAMPLE_START, SAMPLE_END
        )
        written = [city_paths.calls, city_paths.block_groups]
    print(
        f"no input files found: generated {settings.city.title} sample data ({calls:,} calls, "
        f"seed {seed}) in {time.perf_counter() - started:.1f}s:\n"
        + "\n".join(f"  {path}" for path in written)
    )
    return True


def _history_of_the_sample(settings: Settings) -> Settings:
    """A city whose published history starts before the generated sample (Montgomery's feed
    starts in 2015-12) gets monthly partitions from the sample's first month, unless
    SAFEBEAT_PARTITION_START says otherwise: years of empty months would only cost time."""
    if os.environ.get(ENV_PARTITION_START) or settings.partition_start >= SAMPLE_START:
        return settings
    os.environ[ENV_PARTITION_START] = SAMPLE_START[:7]
    print(
        f"partitions start at {SAMPLE_START[:7]}, the generated history's first month "
        f"({settings.city.title}'s published history starts {settings.partition_start[:7]})"
    )
    return load_settings()


def local_instance(settings: Settings) -> dg.DagsterInstance:
    home = settings.dagster_home
    home.mkdir(parents=True, exist_ok=True)
    config = home / "dagster.yaml"
    text = local_instance_yaml(home)
    if not config.exists() or config.read_text() != text:
        config.write_text(text)
    os.environ["DAGSTER_HOME"] = str(home)
    instance = dg.DagsterInstance.get()
    for run_id in fail_orphaned_runs(instance):
        print(f"run {run_id} was left STARTED by a process that is gone: marked failed")
    return instance


def _metadata_value(metadata: dict, key: str):
    value = metadata.get(key)
    return getattr(value, "value", value)


def format_summary(
    result: dg.ExecuteInProcessResult, seconds: float, report: ReportOutcome | None = None
) -> str:
    lines = [
        f"SafeBeat demo run {result.run_id}: {'SUCCESS' if result.success else 'FAILURE'} "
        f"in {seconds:.1f}s",
        "",
        "Rows per asset:",
    ]
    metadata_by_asset: dict[str, dict] = {}
    partitions_by_asset: dict[str, int] = {}
    for event in result.get_asset_materialization_events():
        materialization = event.step_materialization_data.materialization
        name = materialization.asset_key.to_user_string()
        # A monthly asset records one event per partition, all with the run's metadata.
        metadata_by_asset[name] = materialization.metadata
        if materialization.partition:
            partitions_by_asset[name] = partitions_by_asset.get(name, 0) + 1
    for name, metadata in metadata_by_asset.items():
        rows = _metadata_value(metadata, "dagster/row_count")
        shown = f"{rows:>10,}" if isinstance(rows, int) else f"{'-':>10}"
        months = partitions_by_asset.get(name)
        suffix = f"  ({months} monthly partitions)" if months else ""
        calls = _metadata_value(metadata, "call_rows")
        if isinstance(calls, int):
            # The raw export stores its manifest (one row per file and month): show the calls.
            shown, suffix = f"{calls:>10,}", f"  (calls; manifest of {rows:,} file-months)"
        lines.append(f"  {name:<24} {shown}{suffix}")

    def meta(asset: str, key: str):
        return _metadata_value(metadata_by_asset.get(asset, {}), key)

    match_rate = meta(FACT_CALLS, "geo_match_rate")
    forecast_mean = meta(CALL_FORECAST, "mean_predicted_calls_per_day")
    lines += [
        "",
        f"Geo match rate:      {match_rate:.1%}"
        if match_rate is not None
        else "Geo match rate:      -",
        f"Association rules:   {meta(ASSOCIATION_RULES, 'rules_found')}",
        f"Zones clustered:     {meta(ZONE_CLUSTERS, 'zones_clustered')} "
        f"(K = {meta(ZONE_CLUSTERS, 'chosen_k')})",
        f"Forecast:            {forecast_mean} calls/day over the next "
        f"{FORECAST_HORIZON_DAYS} days ({meta(CALL_FORECAST, 'model')})",
        f"Event risk:          {meta(EVENT_RISK_SCORES, 'risk_distribution')}",
    ]
    evaluations = result.get_asset_check_evaluations()
    failed = [e for e in evaluations if not e.passed]
    lines += ["", f"Asset checks: {len(evaluations) - len(failed)} passed, {len(failed)} failed"]
    lines += [
        f"  FAILED [{e.severity.value}] {e.asset_key.to_user_string()}.{e.check_name}"
        for e in failed
    ]
    if report is not None:
        lines += ["", f"Report status: {report.status}", f"HTML report: {report.html}"]
        lines += [f"  {line}" for line in report.details]
    if not result.success:
        failures = [e for e in result.all_events if e.is_step_failure]
        lines += ["", "Failed steps:"] + [
            f"  {e.step_key}: {e.step_failure_data.error.message.strip()}" for e in failures
        ]
    return "\n".join(lines)


def run_demo(calls: int, seed: int, keep_warehouse: bool = False) -> int:
    settings = load_settings()
    print(f"city: {settings.city.title} ({settings.city.name}), data under {settings.data_dir}")
    if ensure_inputs(settings, calls, seed):
        settings = _history_of_the_sample(settings)
    instance = local_instance(settings)
    defs = build_definitions(settings)
    # The pid lets a later start (or the daemon) tell a killed demo run from a running one.
    run_tags = {**PIPELINE_RUN_TAGS, RUN_PID_TAG: str(os.getpid())}
    started = time.perf_counter()
    try:
        daily = run_daily_with_report(
            defs,
            instance,
            daily_run_config={
                "loggers": {"console": {"config": {"log_level": "INFO"}}},
                # The demo is a full run: read the export even if it was stored before.
                "ops": {RAW_CALLS: {"config": {"reread_unchanged_files": True}}},
            },
            tags={
                **run_tags,
                **months_tags(
                    monthly_partitions(settings.partition_start, settings.city.time_zone)
                ),
            },
            log_config={"console": {"config": {"log_level": "INFO"}}},
        )
        report = daily.report
        print(format_summary(daily.daily, time.perf_counter() - started, report))
    finally:
        if settings.uses_embedded_warehouse and not keep_warehouse:
            stop_embedded_server(settings.data_dir)
    # A PARTIAL day (a model skipped for lack of data, say) still produced its report.
    return 1 if report.status == STATUS_FAILED else 0
