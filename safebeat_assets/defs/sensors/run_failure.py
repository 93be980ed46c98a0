"""Run failures: `reports/alerts/<date>_run_failure_<run>.json`, one ERROR alert per failed step;
and when the failed run is a report run, the day's FAILED report (so every day has one)."""

from __future__ import annotations

import dagster as dg

from ... import alerting
from ...resources import AlertChannels, PipelineSettings
from ...storage.reports import ReportStore
from ..jobs import REPORT_JOB_NAME, REPORT_SOURCE_RUN_TAG
from .publish import error_summary, publish_alert

PLAN_EVENTS = {
    dg.DagsterEventType.ASSET_MATERIALIZATION_PLANNED,
    dg.DagsterEventType.ASSET_CHECK_EVALUATION_PLANNED,
}
PLAN_EVENT_LIMIT = 1_000


def _planned_by_step(instance: dg.DagsterInstance, run_id: str) -> dict[str, tuple[set, set]]:
    """step key -> (asset keys, check names) the run planned for that step."""
    planned: dict[str, tuple[set, set]] = {}
    records = instance.get_records_for_run(run_id, of_type=PLAN_EVENTS, limit=PLAN_EVENT_LIMIT)
    for record in records.records:
        event = record.event_log_entry.dagster_event
        if event is None or not event.step_key:
            continue
        assets, checks = planned.setdefault(event.step_key, (set(), set()))
        data = event.event_specific_data
        if event.event_type == dg.DagsterEventType.ASSET_CHECK_EVALUATION_PLANNED:
            assets.add(data.asset_key.to_user_string())
            checks.add(data.check_name)
        elif event.asset_key is not None:
            assets.add(event.asset_key.to_user_string())
    return planned


@dg.run_failure_sensor(
    name="run_failure_alert_sensor",
    default_status=dg.DefaultSensorStatus.RUNNING,
    monitor_all_code_locations=False,
    description=(
        "Writes reports/alerts/<date>_run_failure_<run>.json for every failed run of this code "
        "location (one ERROR alert per failed step) and sends it to the configured channels."
    ),
)
def run_failure_alert_sensor(
    context: dg.RunFailureSensorContext,
    reports: ReportStore,
    alert_channels: AlertChannels,
    pipeline: PipelineSettings,
) -> None:
    run = context.dagster_run
    planned = _planned_by_step(context.instance, run.run_id)
    failures = []
    for event in context.get_step_failure_events():
        assets, checks = planned.get(event.step_key, (set(), set()))
        failures.append(
            alerting.StepFailure(
                step_key=event.step_key,
                error=error_summary(getattr(event.event_specific_data, "error", None)),
                assets=tuple(sorted(assets)),
                checks=tuple(sorted(checks)),
            )
        )
    run_message = context.failure_event.message or f"run {run.run_id} failed"
    error = getattr(context.failure_event.event_specific_data, "error", None)
    if not failures and error is not None:
        run_message = f"{run_message} {error_summary(error)}"
    alerts = alerting.run_failure_alerts(run.run_id, run.job_name, run_message, failures)
    document = alerting.build_alert_document(
        alerting.SOURCE_RUN_FAILURE, run.run_id, run.job_name, alerts
    )
    path = alerting.alert_relative_path(alerting.SOURCE_RUN_FAILURE, run.run_id)
    publish_alert(document, path, reports, alert_channels, context.log)
    if run.job_name == REPORT_JOB_NAME or REPORT_SOURCE_RUN_TAG in run.tags:
        _write_failed_report(context, reports, run, run_message, pipeline)


def _write_failed_report(
    context,
    reports: ReportStore,
    run: dg.DagsterRun,
    run_message: str,
    pipeline: PipelineSettings,
) -> None:
    # Imported here: the reporting stage imports the sensors' helpers.
    from ..report_parts import run_step_errors
    from ..reporting import configured_report_date, write_failed_report

    steps = run_step_errors(context.instance, run.run_id)
    source = run.tags.get(REPORT_SOURCE_RUN_TAG)
    if source:
        steps = run_step_errors(context.instance, source) + steps
    uri = write_failed_report(
        reports,
        configured_report_date(run),
        run.run_id,
        run.job_name,
        steps,
        run_message,
        city=(pipeline.city, pipeline.city_title),
    )
    context.log.info(f"report run {run.run_id} failed: FAILED report written to {uri}")
