"""One real Dagster webserver for the `ui` test package, over an instance that already holds a full run.

The run is the daily job on the small session sample, executed through the Python API into a
temporary DAGSTER_HOME; the webserver then serves that same instance and loads the code location
with the same SAFEBEAT_* settings, so the UI shows materializations, check results, the schedule
and the sensors exactly as `make ui` would.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import dagster as dg
import pytest

from safebeat_assets.settings import (
    ENV_DATA_DIR,
    ENV_LANDING_DIR,
    ENV_WAREHOUSE_SCHEMA,
    ENV_WAREHOUSE_URL,
    PROJECT_ROOT,
    load_settings,
)
from safebeat_assets.storage.warehouse import Warehouse
from safebeat_assets_tests.helpers import TEST_ARTIFACTS, free_port, run_daily_job

STARTUP_TIMEOUT_S = 90
STOP_TIMEOUT_S = 15
INSTANCE_YAML = "telemetry:\n  enabled: false\n"
ARTIFACTS_DIR = TEST_ARTIFACTS / "ui"


@dataclass(frozen=True)
class UiServer:
    url: str
    home: Path
    run_result: dg.ExecuteInProcessResult
    startup_seconds: float
    log_path: Path

    def graphql(self, query: str, variables: dict | None = None) -> dict:
        return graphql(self.url, query, variables)


def graphql(url: str, query: str, variables: dict | None = None, timeout: float = 30) -> dict:
    body = json.dumps({"query": query, "variables": variables or {}}).encode()
    request = urllib.request.Request(
        f"{url}/graphql", data=body, headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=timeout) as response:
        payload = json.loads(response.read())
    assert not payload.get("errors"), payload["errors"]
    return payload["data"]


def wait_until_loaded(url: str, proc: subprocess.Popen, log_path: Path) -> None:
    """Poll until GraphQL answers and the `safebeat` code location lists its repository."""
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    query = "{ repositoriesOrError { __typename ... on RepositoryConnection { nodes { name } } } }"
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(
                f"dagster-webserver exited with {proc.returncode}:\n{log_path.read_text()[-4000:]}"
            )
        try:
            data = graphql(url, query, timeout=5)
            if data["repositoriesOrError"].get("nodes"):
                return
        except (urllib.error.URLError, ConnectionError, TimeoutError, AssertionError):
            pass
        time.sleep(0.5)
    raise TimeoutError(
        f"dagster-webserver did not answer within {STARTUP_TIMEOUT_S}s:\n"
        f"{log_path.read_text()[-4000:]}"
    )


def stop(proc: subprocess.Popen) -> None:
    """SIGINT to the process group (clean exit), SIGKILL if it is still there after 15 s."""
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGINT)
        proc.wait(timeout=STOP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=STOP_TIMEOUT_S)
    except ProcessLookupError:
        pass


@pytest.fixture(scope="package")
def ui_server(tmp_path_factory, warehouse_url, sample_landing) -> Iterator[UiServer]:
    """A full run in a temporary instance, then `dagster-webserver` serving it on loopback.

    Shared by both test modules (package scope), so it mirrors the function-scoped
    `local_settings` fixture (same sample landing, same test server, own schema) instead of
    using it.
    """
    root = tmp_path_factory.mktemp("ui")
    data_dir = root / "data"
    home = data_dir / "dagster_home"
    home.mkdir(parents=True)
    (home / "dagster.yaml").write_text(INSTANCE_YAML)
    schema = f"test_ui_{uuid.uuid4().hex[:10]}"
    env = {
        "DAGSTER_HOME": str(home),
        ENV_DATA_DIR: str(data_dir),
        ENV_LANDING_DIR: str(sample_landing),
        ENV_WAREHOUSE_URL: warehouse_url,
        ENV_WAREHOUSE_SCHEMA: schema,
    }
    proc = None
    try:
        with pytest.MonkeyPatch.context() as mp:
            for name, value in env.items():
                mp.setenv(name, value)
            settings = replace(
                load_settings({ENV_DATA_DIR: str(data_dir)}),
                landing_dir=sample_landing,
                warehouse_url_env=ENV_WAREHOUSE_URL,
                warehouse_schema=schema,
            )
            with dg.DagsterInstance.from_config(str(home)) as instance:
                result = run_daily_job(settings, instance=instance)
        assert result.success, [e.message for e in result.all_events if e.is_failure]

        workspace = root / "workspace.yaml"
        workspace.write_text(
            "load_from:\n"
            "  - python_module:\n"
            "      module_name: safebeat_assets.definitions\n"
            "      attribute: defs\n"
            "      location_name: safebeat\n"
            f"      working_directory: {PROJECT_ROOT}\n"
        )
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        log_path = root / "webserver.log"
        webserver = Path(sys.executable).with_name("dagster-webserver")
        started = time.monotonic()
        with open(log_path, "wb") as log:
            proc = subprocess.Popen(
                [str(webserver), "-h", "127.0.0.1", "-p", str(port), "-w", str(workspace)],
                cwd=PROJECT_ROOT,
                env={**os.environ, **env},
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        wait_until_loaded(url, proc, log_path)
        startup = time.monotonic() - started
        # Dismiss the first-visit "Join the Dagster community" dialog (writes $DAGSTER_HOME/.nux).
        graphql(url, "mutation { setNuxSeen }")
        print(f"dagster-webserver answered GraphQL {startup:.1f}s after start ({url})")
        yield UiServer(
            url=url, home=home, run_result=result, startup_seconds=startup, log_path=log_path
        )
    finally:
        if proc is not None:
            stop(proc)
        Warehouse(warehouse_url, schema).drop_schema()
