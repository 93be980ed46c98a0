"""Faults of the pipeline process itself, injected for real:

3. the pipeline process killed (SIGKILL) mid-run: the next run completes and matches a clean
   run; the killed run is marked failed; no stale lock or half-written file blocks anything;
4. two daily runs requested at once under the real daemon: they never overlap (one pipeline run
   at a time, the second queues) and the result equals one run.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import dagster as dg
import pytest

from safebeat_assets.defs.jobs import DAILY_JOB_NAME, PIPELINE_QUEUE_TAG
from safebeat_assets.demo import local_instance_yaml
from safebeat_assets.settings import PROJECT_ROOT
from safebeat_assets.storage.lake_rollups import ROLLUP_FOLDER
from safebeat_assets.storage.warehouse import Warehouse
from safebeat_assets_tests.helpers import child_process_environment, table_fingerprints

BIN = Path(sys.executable).parent
ENDED = {dg.DagsterRunStatus.SUCCESS, dg.DagsterRunStatus.FAILURE, dg.DagsterRunStatus.CANCELED}


def lake_hashes(data_dir: Path) -> dict[str, str]:
    """Content hash of every lake object but the reports (they carry their run's time). A
    yearly roll-up is named after its months' storage versions (their modification times here),
    which differ between two lakes of the same content, so it is keyed by its year: one per
    year, with the same content."""
    lake = data_dir / "lake"
    hashes: dict[str, str] = {}
    for path in sorted(lake.rglob("*")):
        relative = path.relative_to(lake)
        if not path.is_file() or relative.parts[0] == "reports":
            continue
        key = str(relative)
        if relative.parent.name == ROLLUP_FOLDER:
            key = str(relative.parent / relative.name.split(".")[0])
            assert key not in hashes, f"two roll-ups of one year: {relative}"
        hashes[key] = hashlib.sha256(path.read_bytes()).hexdigest()
    return hashes


def _environment(data_dir: Path, landing: Path, url: str, schema: str) -> dict[str, str]:
    return child_process_environment(
        data_dir, landing, url, schema, DAGSTER_HOME=str(data_dir / "dagster_home")
    )


def _demo(env: dict[str, str], **kwargs) -> subprocess.Popen:
    return subprocess.Popen(
        [str(BIN / "safebeat"), "demo"],
        env=env,
        cwd=PROJECT_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        **kwargs,
    )


@pytest.fixture
def schemas(warehouse_url):
    names = [f"fault_{uuid.uuid4().hex[:8]}" for _ in range(2)]
    yield names
    for name in names:
        Warehouse(warehouse_url, name).drop_schema()


def _clean_run(tmp_path, sample_landing, warehouse_url, schema) -> tuple[dict, dict]:
    data_dir = tmp_path / "clean"
    demo = _demo(_environment(data_dir, sample_landing, warehouse_url, schema))
    output, _ = demo.communicate(timeout=600)
    assert demo.returncode == 0, output
    return table_fingerprints(Warehouse(warehouse_url, schema)), lake_hashes(data_dir)


@pytest.mark.e2e
def test_killed_pipeline_process_then_next_run_matches_a_clean_run(
    tmp_path, sample_landing, warehouse_url, schemas
):
    clean_tables, clean_lake = _clean_run(tmp_path, sample_landing, warehouse_url, schemas[0])

    data_dir = tmp_path / "killed"
    env = _environment(data_dir, sample_landing, warehouse_url, schemas[1])
    demo = _demo(env)
    # Kill it once the monthly stages are writing: mid-run, with the warehouse half-loaded.
    marker = data_dir / "lake" / "cleaned-data" / "enriched_911_calls"
    deadline = time.monotonic() + 300
    while not (marker.exists() and any(marker.iterdir())):
        assert demo.poll() is None, demo.stdout.read()
        assert time.monotonic() < deadline, "the run never reached the enrichment step"
        time.sleep(0.05)
    demo.send_signal(signal.SIGKILL)
    demo.wait()

    with dg.DagsterInstance.from_config(str(data_dir / "dagster_home")) as instance:
        stuck = instance.get_runs(filters=dg.RunsFilter(statuses=[dg.DagsterRunStatus.STARTED]))
    assert len(stuck) == 1  # what a killed process leaves behind

    again = _demo(env)
    output, _ = again.communicate(timeout=600)
    assert again.returncode == 0, output
    assert f"run {stuck[0].run_id} was left STARTED by a process that is gone" in output
    with dg.DagsterInstance.from_config(str(data_dir / "dagster_home")) as instance:
        killed = instance.get_run_by_id(stuck[0].run_id)
        assert killed.status == dg.DagsterRunStatus.FAILURE
    assert table_fingerprints(Warehouse(warehouse_url, schemas[1])) == clean_tables
    assert lake_hashes(data_dir) == clean_lake
    leftovers = [p for p in (data_dir / "lake").rglob("*") if p.name.startswith(".")]
    assert not leftovers, leftovers


def _pipeline_runs(instance: dg.DagsterInstance) -> list[dg.RunRecord]:
    return list(
        instance.get_run_records(filters=dg.RunsFilter(tags={PIPELINE_QUEUE_TAG: "pipeline"}))
    )


@pytest.mark.e2e
def test_two_daily_runs_requested_at_once_never_overlap(
    tmp_path, sample_landing, warehouse_url, schemas
):
    clean_tables, clean_lake = _clean_run(tmp_path, sample_landing, warehouse_url, schemas[0])

    data_dir = tmp_path / "queued"
    env = _environment(data_dir, sample_landing, warehouse_url, schemas[1])
    home = data_dir / "dagster_home"
    home.mkdir(parents=True)
    (home / "dagster.yaml").write_text(local_instance_yaml(home))
    workspace = ["-w", str(PROJECT_ROOT / "workspace.local.yaml")]
    months = json.dumps(
        {
            "dagster/asset_partition_range_start": "2023-01-01",
            "dagster/asset_partition_range_end": time.strftime("%Y-%m-01"),
        }
    )
    for _ in range(2):
        launched = subprocess.run(
            [
                str(BIN / "dagster"),
                "job",
                "launch",
                *workspace,
                "-j",
                DAILY_JOB_NAME,
                "--tags",
                months,
            ],
            env=env,
            cwd=PROJECT_ROOT,
            capture_output=True,
            text=True,
            timeout=180,
        )
        assert launched.returncode == 0, launched.stderr[-3000:]
    with dg.DagsterInstance.from_config(str(home)) as instance:
        queued = instance.get_runs(filters=dg.RunsFilter(job_name=DAILY_JOB_NAME))
        assert [r.status for r in queued] == [dg.DagsterRunStatus.QUEUED] * 2

    daemon = subprocess.Popen(
        [str(BIN / "dagster-daemon"), "run", *workspace],
        env=env,
        cwd=PROJECT_ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 900
        while True:
            with dg.DagsterInstance.from_config(str(home)) as instance:
                records = _pipeline_runs(instance)
                busy = [r for r in records if r.dagster_run.status not in ENDED]
                daily = [r for r in records if r.dagster_run.job_name == DAILY_JOB_NAME]
            if len(daily) == 2 and all(r.dagster_run.status in ENDED for r in daily) and not busy:
                break
            assert time.monotonic() < deadline, [
                (r.dagster_run.job_name, r.dagster_run.status) for r in records
            ]
            time.sleep(2)
    finally:
        os.killpg(daemon.pid, signal.SIGTERM)
        try:
            daemon.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(daemon.pid, signal.SIGKILL)

    assert all(r.dagster_run.status == dg.DagsterRunStatus.SUCCESS for r in daily)
    intervals = sorted((r.start_time, r.end_time) for r in records if r.start_time)
    for (_, previous_end), (next_start, _) in zip(intervals, intervals[1:], strict=False):
        assert next_start >= previous_end, intervals  # one pipeline run at a time
    assert table_fingerprints(Warehouse(warehouse_url, schemas[1])) == clean_tables
    assert lake_hashes(data_dir) == clean_lake
