"""deploy/k8s/values.yaml is valid for Dagster's Helm chart and agrees with the repo.

No Helm, cluster or network is needed. The values are validated against the chart's values schema
vendored in deploy/k8s/schema/ (see SOURCE.md there), the way `helm install` validates them, with
two differences, both because the files Helm would fetch are not vendored:

- The chart's default values.yaml of the same commit is not available, so the values cannot be
  merged over it, and `required` would reject every section the chart's defaults complete.
  `required` is therefore dropped, except in the definitions whose instances come whole from our
  file (list items replace the chart's, and the run launcher and run coordinator are spelt out).
- The schema's Kubernetes `$ref`s (kubernetesjsonschema.dev, about 1 MB) resolve to permissive
  `{}` schemas. The Kubernetes-typed values are instead built into the Kubernetes client's own
  models, which reject unknown fields.

Then the values are checked against dagster.yaml (the instance of the compose stack), the
Dockerfile, safebeat_assets/settings.py and the secrets and ConfigMap the README creates, and
the instance settings they produce are put through Dagster's own instance-config validation.
"""

import copy
import json
import re
import shlex
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes.client as k8s
import pytest
import yaml
from dagster._core.instance.config import dagster_instance_config
from dagster_k8s.models import k8s_model_from_dict
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT7

from safebeat_assets import executors as sb_executors
from safebeat_assets import settings as sb_settings

from .compose import DAGSTER_YAML, ROOT, dockerfile_instructions

K8S_DIR = ROOT / "deploy" / "k8s"
VALUES_FILE = K8S_DIR / "values.yaml"
README = K8S_DIR / "README.md"
SCHEMA_FILE = K8S_DIR / "schema" / "dagster-values.schema.json"
K8S_DEFINITIONS_URI = "https://kubernetesjsonschema.dev/v1.18.0/_definitions.json"
# Definitions whose every instance in our values is complete on its own, so their `required`
# still applies: the deployment list item (lists replace the chart's default list) and its parts,
# and the sections the file spells out in full.
KEEP_REQUIRED = (
    "UserDeployment",
    "UserDeploymentIncludeConfigInLaunchedRuns",
    "Image",
    "RunLauncher",
    "K8sRunLauncherConfig",
    "RunCoordinator",
    "TagConcurrencyLimit",
    "ComputeLogManager",
    "S3ComputeLogManager",
    "Retention",
    "TickRetention",
    "TickRetentionByType",
    "Telemetry",
)
USER_DEPLOYMENTS = "dagster-user-deployments"
CODE_MODULE = "safebeat_assets.definitions"
# Env names whose value is a credential: they may only come from a Kubernetes Secret.
SECRET_ENV = re.compile(r"PASSWORD|SECRET|ACCESS_KEY|TOKEN|WAREHOUSE_URL")
AWS_ACCESS_KEY_ID_SHAPE = re.compile(r"\b(AKIA|ASIA)[0-9A-Z]{16}\b")
URL_WITH_PASSWORD = re.compile(r"[a-z][a-z0-9+.-]*://[^/\s:@]+:[^/\s@]+@")


def _refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        if isinstance(node.get("$ref"), str):
            yield node["$ref"]
        for value in node.values():
            yield from _refs(value)
    elif isinstance(node, list):
        for item in node:
            yield from _refs(item)


def _permissive_k8s_definitions(schema: dict[str, Any]) -> dict[str, Any]:
    """A document in which every Kubernetes pointer the schema uses leads to `{}`."""
    document: dict[str, Any] = {}
    for ref in _refs(schema):
        uri, _, pointer = ref.partition("#")
        if uri != K8S_DEFINITIONS_URI:
            continue
        node = document
        parts = [p.replace("~1", "/").replace("~0", "~") for p in pointer.strip("/").split("/")]
        for part in parts:
            node = node.setdefault(part, {})
    return document


def _without_required(node: Any, keep: bool = False) -> Any:
    if isinstance(node, dict):
        out = {}
        for key, value in node.items():
            if key == "required" and isinstance(value, list) and not keep:
                continue
            if key == "definitions":
                out[key] = {
                    name: _without_required(definition, keep=name in KEEP_REQUIRED)
                    for name, definition in value.items()
                }
            else:
                out[key] = _without_required(value, keep)
        return out
    if isinstance(node, list):
        return [_without_required(item, keep) for item in node]
    return node


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    return json.loads(SCHEMA_FILE.read_text())


@pytest.fixture(scope="module")
def validator(schema) -> jsonschema.Draft7Validator:
    # The schema names no $schema; it uses if/then and const, which are Draft 7.
    assert "$schema" not in schema
    k8s_definitions = Resource(contents=_permissive_k8s_definitions(schema), specification=DRAFT7)
    registry = Registry().with_resource(K8S_DEFINITIONS_URI, k8s_definitions)
    relaxed = _without_required(schema)
    jsonschema.Draft7Validator.check_schema(relaxed)
    return jsonschema.Draft7Validator(relaxed, registry=registry)


@pytest.fixture(scope="module")
def values() -> dict[str, Any]:
    return yaml.safe_load(VALUES_FILE.read_text())


@pytest.fixture(scope="module")
def dagster_yaml() -> dict[str, Any]:
    return yaml.safe_load(DAGSTER_YAML.read_text())


@pytest.fixture(scope="module")
def deployment(values) -> dict[str, Any]:
    (only,) = values[USER_DEPLOYMENTS]["deployments"]
    return only


@pytest.fixture(scope="module")
def run_launcher(values) -> dict[str, Any]:
    return values["runLauncher"]["config"]["k8sRunLauncher"]


@pytest.fixture(scope="module")
def readme_commands() -> list[list[str]]:
    """The README's shell commands, continuation lines joined, split into words."""
    commands, buffer = [], ""
    for line in README.read_text().splitlines():
        stripped = line.strip()
        if stripped.endswith("\\"):
            buffer += stripped[:-1] + " "
            continue
        if buffer or stripped.startswith("kubectl"):
            commands.append(shlex.split(buffer + stripped))
        buffer = ""
    return commands


def _created(commands: list[list[str]], *kind: str) -> dict[str, set[str]]:
    """`kubectl create <kind> NAME --from-literal=KEY=...` in the README -> {NAME: {KEY, ...}}."""
    prefix = ["kubectl", "create", *kind]
    created: dict[str, set[str]] = {}
    for command in commands:
        words = [w for i, w in enumerate(command) if "-n" not in command[i - 1 : i + 1]]
        if words[: len(prefix)] != prefix:
            continue
        name = words[len(prefix)]
        created[name] = {
            w.removeprefix("--from-literal=").split("=", 1)[0]
            for w in words
            if w.startswith("--from-literal=")
        }
    return created


def _kubernetes_model(model: type, api_dict: dict[str, Any]) -> Any:
    """The client model of a Kubernetes API object spelt as in manifests (camelCase); an unknown
    field raises."""
    python_name = {api: python for python, api in model.attribute_map.items()}
    return k8s_model_from_dict(model, {python_name.get(k, k): v for k, v in api_dict.items()})


def _errors(validator, instance) -> list[jsonschema.ValidationError]:
    return list(validator.iter_errors(instance))


def _strings_by_key(node: Any, key: str = "") -> Iterator[tuple[str, str]]:
    if isinstance(node, dict):
        for k, v in node.items():
            yield from _strings_by_key(v, str(k))
    elif isinstance(node, list):
        for item in node:
            yield from _strings_by_key(item, key)
    elif isinstance(node, str):
        yield key, node


# --- The schema ----------------------------------------------------------------------------------


def test_vendored_schema_is_the_chart_values_schema(schema):
    assert schema["title"] == "DagsterHelmValues"
    assert {USER_DEPLOYMENTS, "runLauncher", "dagsterDaemon", "additionalInstanceConfig"} <= set(
        schema["properties"]
    )
    # The only remote references are the Kubernetes definitions resolved offline above.
    remote = {ref.partition("#")[0] for ref in _refs(schema)} - {""}
    assert remote == {K8S_DEFINITIONS_URI}


def test_values_validate_against_the_chart_schema(validator, values):
    errors = _errors(validator, values)
    assert not errors, "\n".join(f"{list(e.absolute_path)}: {e.message}" for e in errors)


def test_kubernetes_typed_values_build_kubernetes_models(values, deployment, run_launcher):
    typed: list[tuple[type, Any]] = [
        (k8s.V1ResourceRequirements, values["dagsterWebserver"]["resources"]),
        (k8s.V1ResourceRequirements, values["dagsterDaemon"]["resources"]),
        (k8s.V1ResourceRequirements, deployment["resources"]),
        (k8s.V1ResourceRequirements, run_launcher["resources"]),
        (k8s.V1PodSecurityContext, deployment["podSecurityContext"]),
    ]
    for section in (
        values["dagsterWebserver"],
        values["dagsterDaemon"],
        deployment,
        run_launcher,
    ):
        typed += [(k8s.V1ConfigMapEnvSource, s) for s in section["envConfigMaps"]]
        typed += [(k8s.V1SecretEnvSource, s) for s in section["envSecrets"]]
    for model, value in typed:
        _kubernetes_model(model, value)
    assert _kubernetes_model(k8s.V1PodSecurityContext, {"runAsUser": 10001}).run_as_user == 10001
    with pytest.raises(Exception, match="reqests"):
        _kubernetes_model(k8s.V1ResourceRequirements, {"reqests": {"cpu": "1"}})


# --- The validation can fail ---------------------------------------------------------------------


def test_a_misspelt_key_in_a_closed_section_is_rejected(validator, values):
    broken = copy.deepcopy(values)
    broken["dagsterWebserver"]["replicaCont"] = 1
    errors = _errors(validator, broken)
    assert any(
        list(e.absolute_path) == ["dagsterWebserver"] and "replicaCont" in e.message for e in errors
    ), errors


def test_a_wrong_type_is_rejected(validator, values):
    broken = copy.deepcopy(values)
    broken["dagsterWebserver"]["replicaCount"] = "one"
    errors = _errors(validator, broken)
    assert any(list(e.absolute_path) == ["dagsterWebserver", "replicaCount"] for e in errors)


def test_an_unknown_run_launcher_is_rejected(validator, values):
    broken = copy.deepcopy(values)
    broken["runLauncher"]["type"] = "K8sJobRunLauncher"
    errors = _errors(validator, broken)
    assert any(list(e.absolute_path) == ["runLauncher", "type"] for e in errors), errors


def test_a_deployment_without_its_port_is_rejected(validator, values):
    broken = copy.deepcopy(values)
    del broken[USER_DEPLOYMENTS]["deployments"][0]["port"]
    errors = _errors(validator, broken)
    assert any(
        list(e.absolute_path) == [USER_DEPLOYMENTS, "deployments", 0] and "port" in e.message
        for e in errors
    ), errors


# --- Agreement with the repo ---------------------------------------------------------------------


def test_instance_concurrency_is_dagster_yaml_s(values, dagster_yaml):
    assert values["additionalInstanceConfig"]["concurrency"] == dagster_yaml["concurrency"]
    # The warehouse pool is the only pool, so the default limit is its limit.
    assert dagster_yaml["concurrency"]["pools"]["default_limit"] == 1
    assert sb_executors.WAREHOUSE_POOL == "warehouse"
    # Dagster refuses run limits in both places once pools are configured.
    coordinator = values["dagsterDaemon"]["runCoordinator"]
    assert coordinator["type"] == "QueuedRunCoordinator"
    queued = coordinator["config"]["queuedRunCoordinator"]
    assert queued.get("maxConcurrentRuns") is None
    assert not queued.get("tagConcurrencyLimits")


def test_run_monitoring_retention_telemetry_freshness_are_dagster_yaml_s(values, dagster_yaml):
    monitoring, wanted = values["dagsterDaemon"]["runMonitoring"], dagster_yaml["run_monitoring"]
    assert monitoring["enabled"] is wanted["enabled"] is True
    assert monitoring["startTimeoutSeconds"] == wanted["start_timeout_seconds"]
    assert monitoring["pollIntervalSeconds"] == wanted["poll_interval_seconds"]
    assert monitoring["freeSlotsAfterRunEndSeconds"] == wanted["free_slots_after_run_end_seconds"]
    retention = values["retention"]
    assert retention["enabled"] is True
    for kind in ("schedule", "sensor"):
        ours = retention[kind]["purgeAfterDays"]
        theirs = dagster_yaml["retention"][kind]["purge_after_days"]
        if isinstance(theirs, dict):
            assert {k: ours[k] for k in theirs} == theirs
        else:
            assert ours == theirs
    assert values["telemetry"] == dagster_yaml["telemetry"] == {"enabled": False}
    assert values["additionalInstanceConfig"]["freshness"] == dagster_yaml["freshness"]


def test_the_instance_the_values_produce_passes_dagster_validation(values, tmp_path):
    """The instance keys as the chart's configmap-instance.yaml renders them from these values,
    with additionalInstanceConfig appended, loaded by Dagster's own instance-config check."""
    daemon = values["dagsterDaemon"]
    monitoring, retries = daemon["runMonitoring"], daemon["runRetries"]
    instance = {
        "run_coordinator": {
            "module": "dagster._core.run_coordinator",
            "class": "QueuedRunCoordinator",
        },
        "run_monitoring": {
            "enabled": monitoring["enabled"],
            "start_timeout_seconds": monitoring["startTimeoutSeconds"],
            "max_resume_run_attempts": monitoring["maxResumeRunAttempts"],
            "poll_interval_seconds": monitoring["pollIntervalSeconds"],
            "free_slots_after_run_end_seconds": monitoring["freeSlotsAfterRunEndSeconds"],
        },
        "run_retries": {"enabled": retries["enabled"], "max_retries": retries["maxRetries"]},
        "sensors": {
            "use_threads": daemon["sensors"]["useThreads"],
            "num_workers": daemon["sensors"]["numWorkers"],
        },
        "schedules": {
            "use_threads": daemon["schedules"]["useThreads"],
            "num_workers": daemon["schedules"]["numWorkers"],
        },
        "telemetry": values["telemetry"],
        **values["additionalInstanceConfig"],
    }
    (tmp_path / "dagster.yaml").write_text(yaml.safe_dump(instance))
    config, _ = dagster_instance_config(str(tmp_path))
    assert config["concurrency"]["pools"]["default_limit"] == 1


def rendered_run_launcher(config: dict[str, Any]) -> dict[str, Any]:
    """The K8sRunLauncher config the chart renders into the instance from
    `runLauncher.config.k8sRunLauncher`, with the keys the chart fills from the release (its
    service account, the instance ConfigMap and the instance database's secret)."""
    rendered = {
        "dagster_home": "/opt/dagster/dagster_home",
        "instance_config_map": "safebeat-dagster-instance",
        "postgres_password_secret": values_postgres_secret(),
        "service_account_name": "safebeat-dagster",
        "image_pull_policy": config["imagePullPolicy"],
        "load_incluster_config": config["loadInclusterConfig"],
        "env_config_maps": [source["name"] for source in config["envConfigMaps"]],
        "env_secrets": [source["name"] for source in config["envSecrets"]],
        "env_vars": config["envVars"],
        "volume_mounts": config["volumeMounts"],
        "volumes": config["volumes"],
        "labels": config["labels"],
        "fail_pod_on_run_failure": config["failPodOnRunFailure"],
        "resources": config["resources"],
    }
    for chart_key, key in (
        ("jobNamespace", "job_namespace"),
        ("kubeconfigFile", "kubeconfig_file"),
    ):
        if config.get(chart_key) is not None:
            rendered[key] = config[chart_key]
    return rendered


def values_postgres_secret() -> str:
    return yaml.safe_load(VALUES_FILE.read_text())["global"]["postgresqlSecretName"]


def test_run_launcher_config_passes_dagster_validation(values, run_launcher):
    """The run launcher the values configure, through K8sRunLauncher's own config schema (what
    the daemon checks when it loads the instance)."""
    from dagster._config import process_config
    from dagster_k8s import K8sRunLauncher

    assert values["runLauncher"]["type"] == "K8sRunLauncher"
    result = process_config(K8sRunLauncher.config_type(), rendered_run_launcher(run_launcher))
    assert result.success, result.errors
    assert result.value["env_secrets"] == ["safebeat-warehouse", "safebeat-s3"]
    assert result.value["fail_pod_on_run_failure"] is True

    broken = {**rendered_run_launcher(run_launcher), "env_secrets": "safebeat-s3"}
    refused = process_config(K8sRunLauncher.config_type(), broken)
    assert not refused.success and "env_secrets" in str(refused.errors)


def test_compute_logs_config_is_valid_for_s3_compute_log_manager(values, monkeypatch):
    from dagster._config import process_config
    from dagster_aws.s3.compute_log_manager import S3ComputeLogManager

    s3 = values["computeLogManager"]["config"]["s3ComputeLogManager"]
    assert values["computeLogManager"]["type"] == "S3ComputeLogManager"
    assert s3["bucket"] == sb_settings.REPORTS_BUCKET
    rendered = {
        "bucket": s3["bucket"],
        "prefix": s3["prefix"],
        "endpoint_url": s3["endpointUrl"],
        "region": s3["region"],
    }
    for source in (s3["endpointUrl"], s3["region"]):
        monkeypatch.setenv(source["env"], "set-by-the-configmap")
    result = process_config(S3ComputeLogManager.config_type(), rendered)
    assert result.success, result.errors


def test_code_server_serves_the_definitions_module(deployment):
    args = deployment["dagsterApiGrpcArgs"]
    assert args[args.index("-m") + 1] == CODE_MODULE
    assert (ROOT / Path(*CODE_MODULE.split("."))).with_suffix(".py").is_file()
    # The image's own default command serves the same module on the same port.
    (cmd,) = [json.loads(a) for k, a in dockerfile_instructions() if k == "CMD"]
    assert cmd[cmd.index("-m") + 1] == CODE_MODULE
    assert str(deployment["port"]) == cmd[cmd.index("-p") + 1]


def test_profile_is_a_known_settings_profile(deployment):
    assert deployment["env"][sb_settings.ENV_PROFILE] == "k8s"
    assert deployment["env"][sb_settings.ENV_PROFILE] in sb_settings.PROFILES


def test_runs_and_steps_get_the_code_server_s_environment(deployment, run_launcher):
    assert deployment["includeConfigInLaunchedRuns"]["enabled"] is True
    assert run_launcher["envSecrets"] == deployment["envSecrets"]
    assert run_launcher["envConfigMaps"] == deployment["envConfigMaps"]
    assert run_launcher["failPodOnRunFailure"] is True
    # Run pods carry the labels the k8s executor puts on step pods.
    assert sb_executors.K8S_STEP_LABELS.items() <= run_launcher["labels"].items()


def test_readme_creates_every_secret_and_config_map_the_values_name(
    values, deployment, run_launcher, readme_commands
):
    secrets = _created(readme_commands, "secret", "generic")
    config_maps = _created(readme_commands, "configmap")
    sections = (values["dagsterWebserver"], values["dagsterDaemon"], deployment, run_launcher)
    assert {s["name"] for sec in sections for s in sec["envSecrets"]} <= set(secrets)
    assert {c["name"] for sec in sections for c in sec["envConfigMaps"]} <= set(config_maps)
    assert secrets[values["global"]["postgresqlSecretName"]] == {"postgresql-password"}
    assert secrets["safebeat-warehouse"] == {sb_settings.ENV_WAREHOUSE_URL}
    assert secrets["safebeat-s3"] == {
        sb_settings.ENV_S3_ACCESS_KEY_ID,
        sb_settings.ENV_S3_SECRET_ACCESS_KEY,
    }
    # Everything the server profiles require reaches the code server, runs and steps.
    provided = set(deployment["env"])
    provided |= {key for s in deployment["envSecrets"] for key in secrets[s["name"]]}
    provided |= {key for c in deployment["envConfigMaps"] for key in config_maps[c["name"]]}
    assert set(sb_settings.PROD_REQUIRED_ENV) <= provided
    # The compute log manager's variables are in the ConfigMap the webserver and daemon read.
    s3_logs = values["computeLogManager"]["config"]["s3ComputeLogManager"]
    assert {s3_logs["endpointUrl"]["env"], s3_logs["region"]["env"]} <= config_maps["safebeat-env"]


def test_every_variable_set_is_one_settings_knows(deployment, readme_commands):
    known = {
        value
        for name, value in vars(sb_settings).items()
        if name.startswith("ENV_") and isinstance(value, str)
    }
    known |= set(sb_settings.PROD_REQUIRED_ENV) | set(sb_settings.PROD_OPTIONAL_ENV)
    readme_names = {
        key
        for created in (
            _created(readme_commands, "configmap"),
            _created(readme_commands, "secret", "generic"),
        )
        for keys in created.values()
        for key in keys
        if key.isupper()
    }
    assert readme_names, "the README creates no ConfigMap or Secret"
    assert set(deployment["env"]) | readme_names <= known


def test_values_hold_no_secret(values):
    text = VALUES_FILE.read_text()
    assert not AWS_ACCESS_KEY_ID_SHAPE.search(text)
    assert not URL_WITH_PASSWORD.search(text)
    for key, value in _strings_by_key(values):
        if key.lower().endswith("password") or SECRET_ENV.search(key):
            assert not value, f"{key} holds a literal value; read it from a Kubernetes Secret"
    assert values["generatePostgresqlPasswordSecret"] is False
    assert "postgresqlPassword" not in values["postgresql"]
