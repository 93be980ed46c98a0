"""Runs whose process was killed are marked failed.

Dagster's run monitoring fails runs that never start and runs past their `dagster/max_runtime`
(2 hours for pipeline runs), but the default run launcher cannot report a dead run worker, so
a killed run would otherwise stay STARTED for those two hours (forever for the demo's
in-process runs, which no launcher watches). The worker's process id is known: the launcher
records it in the run's "Started process for run (pid: N)" event, and the demo tags its runs
with `RUN_PID_TAG`. Run workers are child processes of the code server, so this check, which
runs in the code server (sensor) or the demo itself, sees the same process table.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Iterator
from pathlib import Path

import dagster as dg

RUN_PID_TAG = "safebeat/pid"
_STARTED_PROCESS = re.compile(r"Started process for run \(pid: (\d+)\)")
_CLOCK_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
# A process that started this long after the run did is a different one with a reused pid.
PID_REUSE_MARGIN_S = 120


def _worker_pid(instance: dg.DagsterInstance, run: dg.DagsterRun) -> int | None:
    if run.tags.get(RUN_PID_TAG, "").isdigit():
        return int(run.tags[RUN_PID_TAG])
    for entry in instance.all_logs(run.run_id, of_type=dg.DagsterEventType.ENGINE_EVENT):
        match = _STARTED_PROCESS.search(entry.message or "")
        if match:
            return int(match.group(1))
    return None


def _process_start_time(pid: int) -> float | None:
    """Epoch seconds the process started (Linux /proc), None when unknown."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        uptime = float(Path("/proc/uptime").read_text().split()[0])
    except (OSError, IndexError, ValueError):
        return None
    started_after_boot = int(fields[19]) / _CLOCK_TICKS
    return time.time() - uptime + started_after_boot


def process_alive(pid: int, run_started_at: float | None) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, owned by someone else
    started = _process_start_time(pid)
    if started is not None and run_started_at is not None:
        return started <= run_started_at + PID_REUSE_MARGIN_S
    return True


def orphaned_runs(instance: dg.DagsterInstance) -> Iterator[tuple[dg.DagsterRun, int]]:
    records = instance.get_run_records(
        filters=dg.RunsFilter(statuses=[dg.DagsterRunStatus.STARTED]), limit=100
    )
    for record in records:
        pid = _worker_pid(instance, record.dagster_run)
        if pid is not None and not process_alive(pid, record.start_time):
            yield record.dagster_run, pid


def fail_orphaned_runs(instance: dg.DagsterInstance) -> list[str]:
    """Mark every STARTED run whose worker process is gone as failed; their ids."""
    failed = []
    for run, pid in orphaned_runs(instance):
        instance.report_run_failed(
            run,
            f"the process running it (pid {pid}) is gone (killed or crashed); marked failed so "
            "the next run can start and the day's report is written",
        )
        failed.append(run.run_id)
    return failed


@dg.sensor(
    name="orphaned_run_sensor",
    default_status=dg.DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=60,
    description=(
        "Marks STARTED runs whose worker process is gone (killed, out of memory) as failed; run "
        "monitoring alone would wait for the 2-hour maximum runtime."
    ),
)
def orphaned_run_sensor(context: dg.SensorEvaluationContext) -> dg.SkipReason:
    failed = fail_orphaned_runs(context.instance)
    if failed:
        return dg.SkipReason(f"marked {len(failed)} orphaned run(s) failed: {', '.join(failed)}")
    return dg.SkipReason("no orphaned runs")
