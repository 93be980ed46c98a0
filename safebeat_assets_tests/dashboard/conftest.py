"""The dashboard over data a real pipeline run wrote: the daily job (and the day's report run)
on the session's generated sample, into the session's test PostgreSQL (its own schema) and a
temporary lake, once for the package (`dashboard_data`). Each test then points the dashboard's settings at that
run through the environment, as `streamlit run` would read them, with Streamlit's caches empty.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import dagster as dg
import pytest
import streamlit as st

from safebeat_assets.daily_run import DailyRun, run_daily_with_report
from safebeat_assets.definitions import build_definitions
from safebeat_assets.defs.jobs import PIPELINE_RUN_TAGS
from safebeat_assets.settings import (
    ENV_DATA_DIR,
    ENV_LANDING_DIR,
    ENV_PROFILE,
    ENV_WAREHOUSE_SCHEMA,
    ENV_WAREHOUSE_URL,
    PROJECT_ROOT,
    Settings,
    load_settings,
)
from safebeat_assets.storage.warehouse import Warehouse
from safebeat_assets_tests.helpers import (
    REPORT_DATE,
    TEST_ARTIFACTS,
    all_months_tags,
    clean_definitions_context,
    materialize_subset,
    run_daily_job,
)

APP = PROJECT_ROOT / "safebeat_assets" / "dashboard" / "app.py"
ARTIFACTS_DIR = TEST_ARTIFACTS / "dashboard"


@dataclass(frozen=True)
class DashboardData:
    """Where one pipeline run left its data, and the environment that shows it."""

    settings: Settings
    env: dict[str, str]
    run: DailyRun | None = None


def pipeline_env(data_dir: Path, landing: Path, warehouse_url: str, schema: str) -> dict[str, str]:
    """The variables `load_settings` reads: the local profile over this data dir, the test
    server's DSN (so no embedded server of its own) and the schema."""
    return {
        ENV_PROFILE: "local",
        ENV_DATA_DIR: str(data_dir),
        ENV_LANDING_DIR: str(landing),
        ENV_WAREHOUSE_URL: warehouse_url,
        ENV_WAREHOUSE_SCHEMA: schema,
    }


def run_pipeline(
    env: dict[str, str], report_date: dt.date | None = None, selection: str | None = None
) -> tuple[Settings, object]:
    """The daily job and the day's report run (`make demo`'s run; its report dated
    `report_date`, by default the tests' REPORT_DATE), or only the assets of `selection`,
    with `env` set as the deployment's processes have it (the warehouse resource reads its
    DSN from it)."""
    with pytest.MonkeyPatch.context() as mp:
        for name, value in env.items():
            mp.setenv(name, value)
        settings = replace(load_settings(), warehouse_url_env=ENV_WAREHOUSE_URL)
        if selection is not None:
            result = materialize_subset(settings, selection)
        elif report_date is None:
            result = run_daily_job(settings)
        else:
            with clean_definitions_context():
                result = run_daily_with_report(
                    build_definitions(settings),
                    dg.DagsterInstance.ephemeral(),
                    tags={**PIPELINE_RUN_TAGS, **all_months_tags(settings)},
                    report_date=report_date,
                )
    assert result.success, [e.message for e in result.all_events if e.is_failure]
    return settings, result


def clear_streamlit_caches() -> None:
    """Both caches are per process: the DataSource (settings read once) and the query results."""
    st.cache_data.clear()
    st.cache_resource.clear()


@pytest.fixture(scope="package")
def dashboard_data(tmp_path_factory, warehouse_url, sample_landing) -> Iterator[DashboardData]:
    """The pipeline's run shared by the package's tests: the daily job and its report, twice
    (the day before REPORT_DATE, then REPORT_DATE: the Reports page has two days to show)."""
    root = tmp_path_factory.mktemp("dashboard")
    schema = f"test_dash_{uuid.uuid4().hex[:10]}"
    env = pipeline_env(root / "data", sample_landing, warehouse_url, schema)
    try:
        run_pipeline(env, dt.date.fromisoformat(REPORT_DATE) - dt.timedelta(days=1))
        settings, run = run_pipeline(env)
        yield DashboardData(settings=settings, env=env, run=run)
    finally:
        Warehouse(warehouse_url, schema).drop_schema()


def point_dashboard_at(env: dict[str, str], monkeypatch) -> None:
    """The dashboard reads its settings from the environment when its DataSource is made:
    set them, and empty Streamlit's caches so the next page makes a new one."""
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    clear_streamlit_caches()


@pytest.fixture
def dashboard(dashboard_data, monkeypatch) -> Iterator[DashboardData]:
    """The dashboard's settings point at the package's run; caches are empty before and after."""
    point_dashboard_at(dashboard_data.env, monkeypatch)
    yield dashboard_data
    clear_streamlit_caches()


@pytest.fixture
def module(request) -> str:
    """A page module (parametrised by the tests with `page_modules()`); a page not written yet
    is skipped."""
    if is_placeholder(request.param):
        pytest.skip(f"views/{request.param}.py is still a placeholder")
    return request.param


def app_pages() -> list[tuple[str, str, str]]:
    """`app.PAGES` (module, title, icon), read without running the app's Streamlit calls."""
    import ast

    tree = ast.parse(APP.read_text())
    for node in tree.body:
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", None) == "PAGES":
            return [tuple(entry) for entry in ast.literal_eval(node.value)]
    raise AssertionError(f"{APP} defines no PAGES")


def page_modules() -> list[str]:
    """Every page the navigation lists."""
    return [module for module, _, _ in app_pages()]


def is_placeholder(module: str) -> bool:
    """A page not written yet (its file still says "Coming soon")."""
    path = APP.parent / "views" / f"{module}.py"
    return "Coming soon" in path.read_text() and len(path.read_text().splitlines()) < 12


# Tests taking `module` run once per page of the navigation.
EVERY_PAGE = pytest.mark.parametrize("module", page_modules(), indirect=True)
