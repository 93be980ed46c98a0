"""The report-after-run sensor (a report every day) and the orphaned-run sensor (killed runs are
marked failed), evaluated against a real (SQLite) instance."""

import os
import subprocess
import sys
import uuid

import dagster as dg
from dagster._core.storage.tags import SCHEDULED_EXECUTION_TIME_TAG  # what the scheduler writes

from safebeat_assets.asset_names import DAILY_REPORT
from safebeat_assets.defs.jobs import (
    DAILY_JOB_NAME,
    DAILY_RUN_TAGS,
    MAX_RUNTIME_TAG,
    PIPELINE_QUEUE_TAG,
    REPORT_SOURCE_RUN_TAG,
)
from safebeat_assets.defs.sensors.orphaned_runs import (
    RUN_PID_TAG,
    fail_orphaned_runs,
    orphaned_run_sensor,
)
from safebeat_assets.defs.sensors.report_after_run import report_after_daily_run_sensor
from safebeat_assets.settings import RUN_TIMEOUT_SECONDS


def _add_run(instance, status, tags, job_name=DAILY_JOB_NAME) -> dg.DagsterRun:
    run = dg.DagsterRun(job_name=job_name, run_id=str(uuid.uuid4()), status=status, tags=tags)
    return instance.add_run(run)


def test_every_ended_daily_run_gets_its_report_run():
    with dg.instance_for_test() as instance:
        first = report_after_daily_run_sensor(dg.build_sensor_context(instance=instance))
        assert isinstance(first, dg.SkipReason)  # a new deployment starts watching now
        ended = {
            status: _add_run(instance, status, DAILY_RUN_TAGS)
            for status in (
                dg.DagsterRunStatus.SUCCESS,
                dg.DagsterRunStatus.FAILURE,
                dg.DagsterRunStatus.CANCELED,
            )
        }
        _add_run(instance, dg.DagsterRunStatus.STARTED, DAILY_RUN_TAGS)  # still running
        _add_run(instance, dg.DagsterRunStatus.SUCCESS, {})  # not a daily run
        context = dg.build_sensor_context(instance=instance, cursor="0")
        requests = report_after_daily_run_sensor(context)
        assert {r.tags[REPORT_SOURCE_RUN_TAG] for r in requests} == {
            run.run_id for run in ended.values()
        }
        for request in requests:
            config = request.run_config["ops"][DAILY_REPORT]["config"]
            assert config["source_run_id"] == request.tags[REPORT_SOURCE_RUN_TAG]
            assert request.run_key == f"report-after-{config['source_run_id']}"
            assert request.tags[PIPELINE_QUEUE_TAG] == "pipeline"
            assert request.tags[MAX_RUNTIME_TAG] == str(RUN_TIMEOUT_SECONDS)
        again = report_after_daily_run_sensor(
            dg.build_sensor_context(instance=instance, cursor=context.cursor)
        )
        assert isinstance(again, dg.SkipReason)


def test_scheduled_runs_report_on_their_scheduled_day():
    with dg.instance_for_test() as instance:
        tags = {**DAILY_RUN_TAGS, SCHEDULED_EXECUTION_TIME_TAG: "2026-11-30T03:00:00+00:00"}
        _add_run(instance, dg.DagsterRunStatus.FAILURE, tags)
        requests = report_after_daily_run_sensor(
            dg.build_sensor_context(instance=instance, cursor="0")
        )
        config = requests[0].run_config["ops"][DAILY_REPORT]["config"]
        assert config["report_date"] == "2026-11-30"


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_a_run_whose_process_is_gone_is_marked_failed():
    with dg.instance_for_test() as instance:
        orphan = _add_run(instance, dg.DagsterRunStatus.STARTED, {RUN_PID_TAG: str(_dead_pid())})
        alive = _add_run(instance, dg.DagsterRunStatus.STARTED, {RUN_PID_TAG: str(os.getpid())})
        unknown = _add_run(instance, dg.DagsterRunStatus.STARTED, {})
        result = orphaned_run_sensor(dg.build_sensor_context(instance=instance))
        assert orphan.run_id in result.skip_message
        assert instance.get_run_by_id(orphan.run_id).status == dg.DagsterRunStatus.FAILURE
        assert instance.get_run_by_id(alive.run_id).status == dg.DagsterRunStatus.STARTED
        assert instance.get_run_by_id(unknown.run_id).status == dg.DagsterRunStatus.STARTED
        assert fail_orphaned_runs(instance) == []


def test_a_launched_run_is_tracked_by_the_pid_dagster_records():
    with dg.instance_for_test() as instance:
        run = _add_run(instance, dg.DagsterRunStatus.STARTED, {})
        instance.report_engine_event(f"Started process for run (pid: {_dead_pid()}).", run)
        assert fail_orphaned_runs(instance) == [run.run_id]
