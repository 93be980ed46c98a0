"""The daily schedule as operators run it: the real daemon, on a deployment that already holds
every asset, launches the daily run at `SAFEBEAT_DAILY_RUN_UTC`, and the report-after-run sensor
then requests that day's report. Nothing is launched by hand."""

from __future__ import annotations

import shutil
import time
from datetime import UTC, datetime, timedelta

import dagster as dg
import pytest
from dagster._core.storage.tags import SCHEDULED_EXECUTION_TIME_TAG

from safebeat_assets import quiet
from safebeat_assets.benchmark.daemon import (
    ENDED,
    DaemonProcess,
    daemon_environment,
    write_instance_yaml,
)
from safebeat_assets.defs.jobs import REPORT_SOURCE_RUN_TAG
from safebeat_assets.defs.schedules import DAILY_SCHEDULE_NAME
from safebeat_assets.settings import ENV_DAILY_RUN_UTC, ENV_WAREHOUSE_URL, load_settings
from safebeat_assets_tests.helpers import child_process_environment, run_daily_job

pytestmark = pytest.mark.e2e

TICK_SECONDS = 5
# The scheduler daemon only fires ticks after it first sees the schedule; leave it time to start.
LEAD_SECONDS = 45
RUNS_TIMEOUT_S = 300
SCHEDULE_TAG = "dagster/schedule_name"


def _next_minute(after: datetime) -> datetime:
    return (after + timedelta(seconds=LEAD_SECONDS + 60)).replace(second=0, microsecond=0)


def _runs(home) -> list[dg.DagsterRun]:
    with dg.DagsterInstance.from_config(str(home)) as instance:
        return list(instance.get_runs())


def _wait_for(home, daemon: DaemonProcess, found, timeout: float) -> dg.DagsterRun:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        run = next((r for r in _runs(home) if found(r) and r.status in ENDED), None)
        if run is not None:
            return run
        assert daemon.alive(), f"the daemon exited\n{daemon.log_tail()}"
        time.sleep(2)
    runs = "\n".join(
        f"  {r.run_id[:8]} {r.job_name} {r.status.value} {r.tags}" for r in _runs(home)
    )
    pytest.fail(f"no such run after {timeout:.0f} s; runs:\n{runs}\n{daemon.log_tail()}")


def test_daemon_launches_the_daily_run_at_its_time_then_the_report(
    tmp_path, sample_landing, warehouse_url, warehouse_schema, monkeypatch
):
    landing = tmp_path / "landing"
    shutil.copytree(sample_landing, landing)
    data_dir = tmp_path / "data"
    home = data_dir / "dagster_home"
    env = child_process_environment(
        data_dir, landing, warehouse_url, warehouse_schema, SAFEBEAT_PARTITION_START="2025-01"
    )
    settings = load_settings(env)
    monkeypatch.setenv(ENV_WAREHOUSE_URL, warehouse_url)

    # A deployment that already holds every asset (built in-process, as `make demo` builds it).
    write_instance_yaml(home)
    with dg.DagsterInstance.from_config(str(home)) as instance:
        assert run_daily_job(settings, instance=instance).success
    before = {r.run_id for r in _runs(home)}

    due = _next_minute(datetime.now(UTC))
    env = daemon_environment(quiet.child_environment(env, tmp_path / "hook"), home, TICK_SECONDS)
    env[ENV_DAILY_RUN_UTC] = f"{due.hour:02d}:{due.minute:02d}"
    with DaemonProcess(env, tmp_path / "daemon.log") as daemon:
        wait = (due - datetime.now(UTC)).total_seconds() + RUNS_TIMEOUT_S
        daily = _wait_for(
            home, daemon, lambda r: r.tags.get(SCHEDULE_TAG) == DAILY_SCHEDULE_NAME, wait
        )
        report = _wait_for(
            home,
            daemon,
            lambda r: r.tags.get(REPORT_SOURCE_RUN_TAG) == daily.run_id,
            RUNS_TIMEOUT_S,
        )

    assert daily.run_id not in before
    assert daily.status == dg.DagsterRunStatus.SUCCESS, daemon.log_tail()
    scheduled = datetime.fromisoformat(daily.tags[SCHEDULED_EXECUTION_TIME_TAG]).astimezone(UTC)
    assert scheduled == due
    assert report.status == dg.DagsterRunStatus.SUCCESS, daemon.log_tail()
    report_config = report.run_config["ops"]["daily_report"]["config"]
    assert report_config == {"report_date": due.date().isoformat(), "source_run_id": daily.run_id}
