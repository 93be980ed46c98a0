"""One day's pipeline, run in process: the daily job, then the day's report run whatever the
daily run's outcome, and the FAILED report if even the report run fails. This is what the
schedule, the report-after-run sensor and the run-failure sensor do under the daemon; `safebeat
demo` and the tests run it without one."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import dagster as dg

from .asset_names import DAILY_REPORT
from .defs.jobs import DAILY_JOB_NAME, REPORT_JOB_NAME, REPORT_SOURCE_RUN_TAG
from .defs.report_parts import run_step_errors
from .defs.reporting import write_failed_report
from .memory import release_freed_memory
from .reporting.status import STATUS_FAILED


@dataclass(frozen=True)
class ReportOutcome:
    status: str
    html: str
    details: tuple[str, ...] = ()  # the parts not built, one line each, or the failed steps


@dataclass(frozen=True)
class DailyRun:
    daily: dg.ExecuteInProcessResult
    report_run: dg.ExecuteInProcessResult
    report: ReportOutcome

    @property
    def success(self) -> bool:
        return self.daily.success and self.report_run.success

    @property
    def run_id(self) -> str:
        return self.daily.run_id

    def get_asset_materialization_events(self) -> list[dg.DagsterEvent]:
        return [
            *self.daily.get_asset_materialization_events(),
            *self.report_run.get_asset_materialization_events(),
        ]

    def get_asset_check_evaluations(self) -> list[dg.AssetCheckEvaluation]:
        return [
            *self.daily.get_asset_check_evaluations(),
            *self.report_run.get_asset_check_evaluations(),
        ]

    def asset_materializations_for_node(self, node_name: str) -> list[dg.AssetMaterialization]:
        return [
            materialization
            for result in (self.daily, self.report_run)
            if result.job_def.graph.has_node_named(node_name)
            for materialization in result.asset_materializations_for_node(node_name)
        ]

    @property
    def all_events(self) -> list[dg.DagsterEvent]:
        return [*self.daily.all_events, *self.report_run.all_events]


def _value(metadata: Mapping[str, Any], key: str) -> Any:
    value = metadata.get(key)
    return getattr(value, "value", value)


def run_report(
    defs: dg.Definitions,
    instance: dg.DagsterInstance,
    source_run_id: str,
    report_date: date,
    tags: Mapping[str, str],
    log_config: Mapping[str, Any] | None = None,
) -> tuple[dg.ExecuteInProcessResult, ReportOutcome]:
    config: dict[str, Any] = {
        "ops": {
            DAILY_REPORT: {
                "config": {"report_date": report_date.isoformat(), "source_run_id": source_run_id}
            }
        }
    }
    if log_config:
        config["loggers"] = dict(log_config)
    result = defs.resolve_job_def(REPORT_JOB_NAME).execute_in_process(
        instance=instance,
        raise_on_error=False,
        run_config=config,
        tags={**tags, REPORT_SOURCE_RUN_TAG: source_run_id},
    )
    if result.success:
        metadata: Mapping[str, Any] = {}
        for event in result.get_asset_materialization_events():
            metadata = event.step_materialization_data.materialization.metadata
        parts = str(_value(metadata, "parts") or "")
        details = tuple(line for line in parts.splitlines() if not line.endswith(": built"))
        outcome = ReportOutcome(
            str(_value(metadata, "status")), str(_value(metadata, "report_html")), details
        )
        return result, outcome
    steps = run_step_errors(instance, source_run_id) + run_step_errors(instance, result.run_id)
    pipeline = defs.resources["pipeline"]
    with dg.build_resources({"reports": defs.resources["reports"]}) as resources:
        html = write_failed_report(
            resources.reports,
            report_date,
            result.run_id,
            REPORT_JOB_NAME,
            steps,
            "the report run failed",
            city=(pipeline.city, pipeline.city_title),
        )
    details = tuple(f"{step.step_key}: {step.error}" for step in steps)
    return result, ReportOutcome(STATUS_FAILED, html, details)


def run_daily_with_report(
    defs: dg.Definitions,
    instance: dg.DagsterInstance,
    daily_run_config: Mapping[str, Any] | None = None,
    tags: Mapping[str, str] | None = None,
    report_date: date | None = None,
    log_config: Mapping[str, Any] | None = None,
) -> DailyRun:
    tags = dict(tags or {})
    daily = defs.resolve_job_def(DAILY_JOB_NAME).execute_in_process(
        instance=instance,
        raise_on_error=False,
        run_config=dict(daily_run_config or {}),
        tags=tags,
    )
    release_freed_memory()  # the daily run's, before the report run (`memory.py`)
    report_tags = {k: v for k, v in tags.items() if not k.startswith("dagster/asset_partition")}
    report_run, outcome = run_report(
        defs,
        instance,
        daily.run_id,
        report_date or datetime.now(UTC).date(),
        report_tags,
        log_config,
    )
    return DailyRun(daily, report_run, outcome)
