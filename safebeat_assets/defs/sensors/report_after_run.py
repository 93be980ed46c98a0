"""A report every day: after each daily run ends (success, failure or cancellation) request the
report run for that day, like the old DAG's report task that ran whatever happened upstream.

The report states which parts the daily run built, skipped or failed. If the report run itself
cannot finish, the run-failure sensor writes a FAILED report instead.
"""

from __future__ import annotations

from datetime import UTC, datetime

import dagster as dg
from dagster._core.storage.tags import SCHEDULED_EXECUTION_TIME_TAG

from ...asset_names import DAILY_REPORT
from ..jobs import PIPELINE_RUN_TAGS, REPORT_AFTER_TAG, REPORT_SOURCE_RUN_TAG, safebeat_report_job

ENDED = [
    dg.DagsterRunStatus.SUCCESS,
    dg.DagsterRunStatus.FAILURE,
    dg.DagsterRunStatus.CANCELED,
]
BATCH = 25


def report_date_for(run: dg.DagsterRun, ended_at: datetime) -> str:
    """The day a run reports on: its schedule's day, else the day it ended (UTC)."""
    # Dagster's own constant: the scheduler writes the tick's time under a hidden tag
    # (`.dagster/...`); the visible `dagster/scheduled_execution_time` read before never existed
    # on a scheduled run, so a daily run that ended after midnight reported on the wrong day.
    scheduled = run.tags.get(SCHEDULED_EXECUTION_TIME_TAG)
    if scheduled:
        return datetime.fromisoformat(scheduled).astimezone(UTC).date().isoformat()
    return ended_at.astimezone(UTC).date().isoformat()


def report_run_request(source_run_id: str, report_date: str) -> dg.RunRequest:
    return dg.RunRequest(
        run_key=f"report-after-{source_run_id}",
        run_config={
            "ops": {
                DAILY_REPORT: {
                    "config": {"report_date": report_date, "source_run_id": source_run_id}
                }
            }
        },
        tags={**PIPELINE_RUN_TAGS, REPORT_SOURCE_RUN_TAG: source_run_id},
    )


@dg.sensor(
    name="report_after_daily_run_sensor",
    job=safebeat_report_job,
    default_status=dg.DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=30,
    description=(
        "When a daily run ends (success, failure or cancellation), requests the daily report "
        "for its day; the report lists every part built, skipped or failed."
    ),
)
def report_after_daily_run_sensor(context: dg.SensorEvaluationContext):
    if context.cursor is None:
        # A new deployment reports on runs that end from now on, not on the instance's history.
        context.update_cursor(str(datetime.now(UTC).timestamp()))
        return dg.SkipReason("started watching daily runs")
    since = datetime.fromtimestamp(float(context.cursor), UTC)
    records = context.instance.get_run_records(
        filters=dg.RunsFilter(statuses=ENDED, tags={REPORT_AFTER_TAG: "true"}, updated_after=since),
        order_by="update_timestamp",
        ascending=True,
        limit=BATCH,
    )
    if not records:
        return dg.SkipReason("no daily run ended since the last tick")
    requests = []
    for record in records:
        ended_at = record.update_timestamp
        if ended_at.tzinfo is None:  # run storage keeps naive UTC timestamps
            ended_at = ended_at.replace(tzinfo=UTC)
        run = record.dagster_run
        requests.append(report_run_request(run.run_id, report_date_for(run, ended_at)))
        since = max(since, ended_at)
    context.update_cursor(str(since.timestamp()))
    return requests
