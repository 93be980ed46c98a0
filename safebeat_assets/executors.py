"""The executor each profile runs a run's steps with, chosen beside the resources (definitions.py).

- local: every step in the run's own process. On a laptop, per-step process start-up and the
  re-imports of pandas/geopandas/scikit-learn cost more than the parallelism gains.
- prod (docker compose): one process per step, at most `SAFEBEAT_MAX_CONCURRENT_STEPS` at once
  (default 2: the multiprocess executor would otherwise start one per host CPU, not per the
  container's limit).
- k8s (Dagster's Helm chart): one Kubernetes job per step, with resource requests by step kind.

Whatever the executor, steps that write the warehouse hold a slot of the `warehouse` pool
(`WAREHOUSE_POOL`); the instance limits that pool (dagster.yaml, deploy/k8s/values.yaml).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import dagster as dg

from .settings import Settings

WAREHOUSE_POOL = "warehouse"

# Kubernetes resource requests and limits per kind of step, by asset group. Sized on the
# Austin-scale benchmark (835,198 calls): a monthly transform step peaks near 1 GB, a model
# refit over the aggregates near 1.5 GB; the limits leave twice that.
STEP_KIND_OF_GROUP = {
    "raw": "ingest",
    "cleaned": "transform",
    "enriched": "transform",
    "aggregates": "transform",
    "warehouse": "warehouse",
    "ml": "model",
    "risk": "model",
    "reporting": "report",
}
STEP_RESOURCES: dict[str, dict[str, dict[str, str]]] = {
    "ingest": {"requests": {"cpu": "500m", "memory": "1Gi"}, "limits": {"memory": "3Gi"}},
    "transform": {"requests": {"cpu": "1", "memory": "1536Mi"}, "limits": {"memory": "3Gi"}},
    "warehouse": {"requests": {"cpu": "500m", "memory": "1Gi"}, "limits": {"memory": "2Gi"}},
    "model": {"requests": {"cpu": "1", "memory": "2Gi"}, "limits": {"memory": "4Gi"}},
    "report": {"requests": {"cpu": "250m", "memory": "512Mi"}, "limits": {"memory": "1Gi"}},
}
# Steps of no known group get the transform size.
DEFAULT_STEP_KIND = "transform"
K8S_STEP_LABELS = {"app.kubernetes.io/part-of": "safebeat"}


def _kind_of(groups: Iterable[str]) -> str:
    return next(
        (STEP_KIND_OF_GROUP[g] for g in sorted(groups) if g in STEP_KIND_OF_GROUP),
        DEFAULT_STEP_KIND,
    )


def step_kinds(
    assets: Iterable[dg.AssetsDefinition], checks: Iterable[dg.AssetChecksDefinition] = ()
) -> dict[str, str]:
    """Step key (the op's name) -> step kind, from the group of the step's assets; a check of
    its own is sized like the asset it checks (it reads the same data)."""
    assets = list(assets)
    group_of = {key: a.group_names_by_key[key] for a in assets for key in a.keys}
    kinds = {a.node_def.name: _kind_of(group_of[key] for key in a.keys) for a in assets}
    for check in checks:
        kinds[check.node_def.name] = _kind_of(
            group_of[key.asset_key] for key in check.check_keys if key.asset_key in group_of
        )
    return kinds


def k8s_executor_config(settings: Settings, kinds_by_step: Mapping[str, str]) -> dict[str, Any]:
    """The `k8s_job_executor` config: concurrency, labels and each step's resources. The image,
    namespace, secrets and config maps come from the run launcher (the Helm values)."""
    return {
        "max_concurrent": settings.max_concurrent_steps,
        "labels": dict(K8S_STEP_LABELS),
        "step_k8s_config": {
            "container_config": {"resources": STEP_RESOURCES[DEFAULT_STEP_KIND]},
        },
        "per_step_k8s_config": {
            step: {"container_config": {"resources": STEP_RESOURCES[kind]}}
            for step, kind in sorted(kinds_by_step.items())
        },
    }


def build_executor(
    settings: Settings,
    assets: Iterable[dg.AssetsDefinition],
    checks: Iterable[dg.AssetChecksDefinition] = (),
) -> dg.ExecutorDefinition:
    if settings.profile == "local":
        return dg.in_process_executor
    if settings.profile == "prod":
        return dg.multiprocess_executor.configured(
            {"max_concurrent": settings.max_concurrent_steps}, name="per_step_processes"
        )
    # Imported only here: the Kubernetes client is needed by no other profile.
    from dagster_k8s import k8s_job_executor

    return k8s_job_executor.configured(
        k8s_executor_config(settings, step_kinds(assets, checks)), name="per_step_k8s_jobs"
    )
