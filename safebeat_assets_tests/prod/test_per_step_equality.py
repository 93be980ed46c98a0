"""Proof that no step depends on state local to the run's process: the production profile's daily
job, run with one process per step (the compose executor) against PostGIS and the S3 endpoint,
leaves the same warehouse tables and lake objects as the same job run in one process.

This is what per-step Kubernetes jobs require: a step sees only what earlier steps stored in the
lake and the warehouse."""

import hashlib
import time

import dagster as dg
import pytest

from safebeat_assets.defs.jobs import PIPELINE_RUN_TAGS
from safebeat_assets.executors import WAREHOUSE_POOL
from safebeat_assets.settings import load_settings
from safebeat_assets.storage.object_store import LAKE_BUCKETS
from safebeat_assets.storage.warehouse import Warehouse
from safebeat_assets_tests.helpers import all_months_tags, table_fingerprints
from safebeat_assets_tests.prod.per_step_job import safebeat_daily_job

LANDING_PREFIX = "landing/"


def lake_hashes(s3_client) -> dict[str, str]:
    """sha256 of every lake object the pipeline wrote (the landing files are its input)."""
    hashes = {}
    for bucket in LAKE_BUCKETS:
        for page in s3_client.get_paginator("list_objects_v2").paginate(Bucket=bucket):
            for obj in page.get("Contents", []):
                key = obj["Key"]
                if bucket == "raw-data" and key.startswith(LANDING_PREFIX):
                    continue
                body = s3_client.get_object(Bucket=bucket, Key=key)["Body"].read()
                hashes[f"{bucket}/{key}"] = hashlib.sha256(body).hexdigest()
    return hashes


def delete_outputs(s3_client, warehouse: Warehouse) -> None:
    """Back to an empty lake and warehouse, landing files kept."""
    for key in lake_hashes(s3_client):
        bucket, _, name = key.partition("/")
        s3_client.delete_object(Bucket=bucket, Key=name)
    warehouse.drop_schema()


def step_intervals(instance, run_id: str) -> dict[str, tuple[float, float, int]]:
    """Step key -> (start, end, pid of the process that ran it)."""
    starts, ends, pids = {}, {}, {}
    for record in instance.all_logs(run_id):
        event = record.dagster_event
        if event is None or event.step_key is None:
            continue
        if event.event_type == dg.DagsterEventType.STEP_START:
            starts[event.step_key] = record.timestamp
            pids[event.step_key] = event.pid
        elif event.event_type in (
            dg.DagsterEventType.STEP_SUCCESS,
            dg.DagsterEventType.STEP_FAILURE,
        ):
            ends[event.step_key] = record.timestamp
    return {key: (starts[key], ends[key], pids[key]) for key in starts}


@pytest.mark.e2e
def test_per_step_processes_leave_what_one_process_leaves(
    prod_environment, prod_warehouse, s3_client, landing_in_s3, second_dagster_db, monkeypatch
):
    settings = load_settings()
    tags = {**PIPELINE_RUN_TAGS, **all_months_tags(settings)}
    job = safebeat_daily_job()
    assert job.executor_def.name == "per_step_processes"

    # Two deployments that have run nothing (a Dagster instance remembers which landing files it
    # has read): the first runs the job in one process, the second with one process per step.
    monkeypatch.setenv("DAGSTER_PG_DB", second_dagster_db)
    started = time.perf_counter()
    with dg.DagsterInstance.get() as first:
        in_process = job.execute_in_process(instance=first, tags=tags, raise_on_error=False)
    in_process_seconds = time.perf_counter() - started
    assert in_process.success, [e.message for e in in_process.all_events if e.is_failure]
    warehouse = prod_warehouse
    tables, objects = table_fingerprints(warehouse), lake_hashes(s3_client)
    assert sum(count for count, _ in tables.values()) > 0 and len(objects) > 20

    delete_outputs(s3_client, warehouse)
    assert lake_hashes(s3_client) == {}

    monkeypatch.setenv("DAGSTER_PG_DB", prod_environment["DAGSTER_PG_DB"])
    instance = dg.DagsterInstance.get()
    started = time.perf_counter()
    with dg.execute_job(
        dg.reconstructable(safebeat_daily_job), instance=instance, tags=tags
    ) as per_step:
        per_step_seconds = time.perf_counter() - started
        assert per_step.success, [e.message for e in per_step.all_events if e.is_failure]
        run_id = per_step.run_id
    print(
        f"daily job: in one process {in_process_seconds:.1f}s, "
        f"one process per step {per_step_seconds:.1f}s"
    )

    assert table_fingerprints(warehouse) == tables
    assert lake_hashes(s3_client) == objects

    steps = step_intervals(instance, run_id)
    assert len({pid for _, _, pid in steps.values()}) == len(steps) > 20, "one process per step"
    # The warehouse pool (limit 1 in dagster.yaml) let no two warehouse writers overlap.
    pools = {node.name: node.definition.pool for node in job.graph.nodes}
    writers = sorted(
        interval for key, interval in steps.items() if pools.get(key) == WAREHOUSE_POOL
    )
    assert len(writers) >= 4
    for (_, end, _), (start, _, _) in zip(writers, writers[1:], strict=False):
        assert start >= end, "two warehouse writers ran at once"
    assert instance.event_log_storage.get_concurrency_info(WAREHOUSE_POOL).slot_count == 1
    assert [run.status for run in instance.get_runs()] == [dg.DagsterRunStatus.SUCCESS]
