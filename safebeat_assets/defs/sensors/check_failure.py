"""Failed checks: `reports/alerts/<date>_checks_<run>.json` for each finished run whose watched
checks (alert rules, HIGH-risk spike, blocking ML pre-checks) failed."""

from __future__ import annotations

import json
import time

import dagster as dg

from ... import alerting
from ...resources import AlertChannels
from ...storage.reports import ReportStore
from ..checks import WATCHED_CHECKS
from .publish import plain_metadata, publish_alert

RUN_END_EVENTS = (
    dg.DagsterEventType.RUN_SUCCESS,
    dg.DagsterEventType.RUN_FAILURE,
    dg.DagsterEventType.RUN_CANCELED,
)
RUNS_PER_TICK = 20
# Sensor evaluations time out after 60 s: stop taking new runs after this much time (slow
# channels), the cursor keeps the rest for the next tick.
TICK_BUDGET_SECONDS = 30.0
CHECK_EVENTS_PER_RUN = 1_000


def _finished_runs_after(instance: dg.DagsterInstance, after_storage_id: int | None, limit: int):
    """The first `limit` run-end events (success, failure, cancel) after the storage id, oldest
    first: one indexed, bounded query per event type, merged by storage id."""
    records = []
    for event_type in RUN_END_EVENTS:
        result = instance.fetch_run_status_changes(
            dg.RunStatusChangeRecordsFilter(
                event_type=event_type, after_storage_id=after_storage_id
            ),
            limit=limit,
            ascending=True,
        )
        records.extend(result.records)
    return sorted(records, key=lambda r: r.storage_id)[:limit]


def _latest_run_end_storage_id(instance: dg.DagsterInstance) -> int:
    latest = 0
    for event_type in RUN_END_EVENTS:
        result = instance.fetch_run_status_changes(event_type, limit=1, ascending=False)
        if result.records:
            latest = max(latest, result.records[0].storage_id)
    return latest


def failed_watched_checks(instance: dg.DagsterInstance, run_id: str) -> list[alerting.FailedCheck]:
    """The run's failed evaluations of watched checks (one bounded per-run query)."""
    records = instance.get_records_for_run(
        run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION, limit=CHECK_EVENTS_PER_RUN
    ).records
    failed = []
    for record in records:
        evaluation = record.event_log_entry.dagster_event.event_specific_data
        if evaluation.passed or evaluation.check_name not in WATCHED_CHECKS:
            continue
        failed.append(
            alerting.FailedCheck(
                check=evaluation.check_name,
                asset=evaluation.asset_key.to_user_string(),
                run_id=run_id,
                check_severity=evaluation.severity.value,
                description=evaluation.description,
                metadata=plain_metadata(evaluation.metadata),
            )
        )
    return failed


def _check_cursor(after_storage_id: int) -> str:
    return json.dumps({"after_storage_id": after_storage_id})


def _read_check_cursor(cursor: str | None, log) -> int | None:
    if not cursor:
        return None
    try:
        return int(json.loads(cursor)["after_storage_id"])
    except (ValueError, KeyError, TypeError) as exc:
        log.warning(f"ignoring unreadable cursor {cursor!r} ({exc}); restarting from now")
        return None


def _publish_run_alerts(
    context: dg.SensorEvaluationContext,
    run_id: str,
    failed: list[alerting.FailedCheck],
    reports: ReportStore,
    alert_channels: AlertChannels,
) -> str:
    run = context.instance.get_run_by_id(run_id)
    job_name = run.job_name if run else "unknown job"
    alerts = [alerting.check_failure_alert(f, WATCHED_CHECKS[f.check]) for f in failed]
    document = alerting.build_alert_document(
        alerting.SOURCE_CHECK_FAILURE, run_id, job_name, alerts
    )
    path = alerting.alert_relative_path(alerting.SOURCE_CHECK_FAILURE, run_id)
    return publish_alert(document, path, reports, alert_channels, context.log)


@dg.sensor(
    name="check_failure_alert_sensor",
    minimum_interval_seconds=30,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description=(
        "For each newly finished run, reads its asset check evaluations and writes "
        "reports/alerts/<date>_checks_<run>.json when watched checks failed (alert rules, "
        "HIGH-risk spike, blocking ML pre-checks), then sends it to the configured channels."
    ),
)
def check_failure_alert_sensor(
    context: dg.SensorEvaluationContext, reports: ReportStore, alert_channels: AlertChannels
):
    instance = context.instance
    after = _read_check_cursor(context.cursor, context.log)
    if after is None:  # first tick (or unreadable cursor): alert on runs that finish from now on
        latest = _latest_run_end_storage_id(instance)
        return dg.SensorResult(
            skip_reason=dg.SkipReason(f"started watching runs that finish after event {latest}"),
            cursor=_check_cursor(latest),
        )
    finished = _finished_runs_after(instance, after, RUNS_PER_TICK)
    written: list[str] = []
    started = time.monotonic()
    checked = 0
    for record in finished:
        if checked and time.monotonic() - started > TICK_BUDGET_SECONDS:
            context.log.warning(
                f"tick budget used after {checked} run(s); the rest is handled next tick"
            )
            break
        run_id = record.run_id
        try:
            failed = failed_watched_checks(instance, run_id)
            if failed:
                written.append(
                    _publish_run_alerts(context, run_id, failed, reports, alert_channels)
                )
        except Exception as exc:
            if not checked:
                raise  # nothing done this tick: fail the tick visibly and retry it next time
            context.log.error(f"alerting for run {run_id} failed, retrying next tick: {exc}")
            return dg.SensorResult(
                skip_reason=dg.SkipReason(
                    f"wrote {len(written)} alert file(s); stopped at run {run_id}: {exc}"
                ),
                cursor=_check_cursor(after),
            )
        after = record.storage_id
        checked += 1
    message = (
        f"{checked} finished run(s) checked; wrote {', '.join(written)}"
        if written
        else f"no failed watched checks in {checked} newly finished run(s)"
    )
    return dg.SensorResult(skip_reason=dg.SkipReason(message), cursor=_check_cursor(after))
