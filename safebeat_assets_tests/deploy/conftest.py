"""The parsed production stack, shared by the deploy tests."""

from typing import Any

import pytest
import yaml

from .compose import (
    COMPOSE_FILE,
    ENV_EXAMPLE,
    dockerfile_env,
    parse_env_file,
    resolve,
    strings,
    variable_refs,
)


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE_FILE.read_text())


@pytest.fixture(scope="module")
def services(compose) -> dict[str, dict[str, Any]]:
    return compose["services"]


@pytest.fixture(scope="module")
def env_example() -> dict[str, str]:
    return parse_env_file(ENV_EXAMPLE)[0]


@pytest.fixture(scope="module")
def used_variables(compose) -> set[str]:
    return {name for s in strings(compose) for name, _ in variable_refs(s)}


@pytest.fixture(scope="module")
def sentinel_env(used_variables) -> dict[str, str]:
    """A distinct value per variable, so two references agree only if they name the same one."""
    return {name: f"v-{name.lower().replace('_', '-')}" for name in used_variables}


@pytest.fixture(scope="module")
def resolved(compose, env_example) -> dict[str, Any]:
    """The compose file as `docker compose config` would see it with .env copied from the example."""
    return resolve(compose, env_example)


@pytest.fixture(scope="module")
def dagster_home() -> str:
    return dockerfile_env()["DAGSTER_HOME"]
