"""Each profile's executor, resolved through Dagster's own config validation: in one process
(local), one process per step (prod, docker compose), one Kubernetes job per step (k8s)."""

import dagster as dg
import pytest
from dagster._core.system_config.objects import ResolvedRunConfig
from dagster_k8s import k8s_job_executor

from safebeat_assets.definitions import build_definitions
from safebeat_assets.defs.jobs import DAILY_JOB_NAME, REPORT_JOB_NAME
from safebeat_assets.executors import (
    STEP_RESOURCES,
    WAREHOUSE_POOL,
    k8s_executor_config,
)
from safebeat_assets.settings import SettingsError, load_settings

SERVER_ENV = {
    "SAFEBEAT_WAREHOUSE_URL": "postgresql://safebeat@postgis.safebeat.svc:5432/safebeat",
    "AWS_ACCESS_KEY_ID": "not-a-real-key",
    "AWS_SECRET_ACCESS_KEY": "not-a-real-secret",
}
WAREHOUSE_WRITERS = {
    "dim_geo",
    "dim_event",
    "fact_911_calls",
    "fact_event_incidents",
    "call_baseline_rates",
    "call_hot_spots",
    "event_risk_scores",
    "zone_risk_scores",
}


def profile_env(monkeypatch, tmp_path, profile: str, **extra: str) -> None:
    """The environment variables of `profile`; the definitions read EnvVars from it."""
    env = {"SAFEBEAT_ENV": profile, "SAFEBEAT_DATA_DIR": str(tmp_path), **extra}
    if profile != "local":
        env.update(SERVER_ENV)
    for name, value in env.items():
        monkeypatch.setenv(name, value)


def resolved_execution(profile_defs: dg.Definitions, job_name: str = DAILY_JOB_NAME):
    """The job's executor config as Dagster resolves it before a run: schema-checked."""
    job = profile_defs.resolve_job_def(job_name)
    return job, ResolvedRunConfig.build(job, {}).execution.execution_engine_config


def test_local_profile_runs_steps_in_one_process(monkeypatch, tmp_path):
    profile_env(monkeypatch, tmp_path, "local")
    job = build_definitions().resolve_job_def(DAILY_JOB_NAME)
    assert job.executor_def is dg.in_process_executor


def test_prod_profile_runs_each_step_in_its_own_process(monkeypatch, tmp_path):
    profile_env(monkeypatch, tmp_path, "prod", SAFEBEAT_MAX_CONCURRENT_STEPS="3")
    job, execution = resolved_execution(build_definitions())
    assert job.executor_def.name == "per_step_processes"
    assert execution["max_concurrent"] == 3
    assert job.executor_def.executor_creation_fn is dg.multiprocess_executor.executor_creation_fn


def test_prod_profile_defaults_to_two_steps_at_once(monkeypatch, tmp_path):
    profile_env(monkeypatch, tmp_path, "prod")
    _, execution = resolved_execution(build_definitions())
    assert execution["max_concurrent"] == 2


@pytest.mark.parametrize("value", ["0", "-1", "two"])
def test_max_concurrent_steps_must_be_a_positive_whole_number(value):
    with pytest.raises(SettingsError, match="SAFEBEAT_MAX_CONCURRENT_STEPS"):
        load_settings({"SAFEBEAT_MAX_CONCURRENT_STEPS": value})


def test_k8s_profile_needs_the_server_settings():
    with pytest.raises(SettingsError, match="the k8s profile needs"):
        load_settings({"SAFEBEAT_ENV": "k8s"})


def test_k8s_profile_loads_with_one_kubernetes_job_per_step(monkeypatch, tmp_path):
    profile_env(monkeypatch, tmp_path, "k8s")
    defs = build_definitions()
    dg.Definitions.validate_loadable(defs)
    settings = load_settings()
    assert settings.uses_object_storage and not settings.uses_embedded_warehouse
    for job_name in (DAILY_JOB_NAME, REPORT_JOB_NAME):
        job, execution = resolved_execution(defs, job_name)
        assert job.executor_def.name == "per_step_k8s_jobs"
        assert job.executor_def.executor_creation_fn is k8s_job_executor.executor_creation_fn
        assert execution["max_concurrent"] == 8
        assert execution["step_k8s_config"]["container_config"]["resources"]["requests"]
        # Every step of the job has its own resource requests, sized by its kind.
        per_step = execution["per_step_k8s_config"]
        step_keys = {node.name for node in job.graph.nodes}
        assert step_keys <= set(per_step), step_keys - set(per_step)

    def resources_of(step: str) -> dict:
        return per_step[step]["container_config"]["resources"]

    assert resources_of("raw_911_calls") == STEP_RESOURCES["ingest"]
    assert resources_of("cleaned_911_calls") == STEP_RESOURCES["transform"]
    assert resources_of("fact_911_calls") == STEP_RESOURCES["warehouse"]
    assert resources_of("zone_clusters") == STEP_RESOURCES["model"]
    assert resources_of("daily_report") == STEP_RESOURCES["report"]


def test_every_warehouse_writer_holds_the_warehouse_pool(monkeypatch, tmp_path):
    profile_env(monkeypatch, tmp_path, "k8s")
    job = build_definitions().resolve_job_def(DAILY_JOB_NAME)
    pooled = {node.name for node in job.graph.nodes if node.definition.pool == WAREHOUSE_POOL}
    assert pooled == WAREHOUSE_WRITERS


def test_a_broken_executor_config_is_refused_by_dagster(monkeypatch, tmp_path):
    """The resolution above can fail: Dagster checks the config against k8s_job_executor's."""
    profile_env(monkeypatch, tmp_path, "k8s")
    settings = load_settings()
    broken = {**k8s_executor_config(settings, {}), "max_concurrent": "many"}

    @dg.asset
    def one() -> int:
        return 1

    defs = dg.Definitions(
        assets=[one],
        jobs=[dg.define_asset_job("one_job")],
        executor=k8s_job_executor.configured(broken, name="broken"),
    )
    with pytest.raises(dg.DagsterInvalidConfigError, match="max_concurrent"):
        resolved_execution(defs, "one_job")
