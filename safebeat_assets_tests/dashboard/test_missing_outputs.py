"""Pages over a pipeline that has not built everything yet: never an exception or error box;
where a page's content is missing it says what is missing (`st.info`)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from safebeat_assets.storage.warehouse import Warehouse

from .apptest import open_page, problems
from .conftest import EVERY_PAGE, pipeline_env, point_dashboard_at, run_pipeline
from .expected import expectation


@pytest.fixture(scope="module")
def calls_only(tmp_path_factory, warehouse_url, sample_landing) -> Iterator[dict[str, str]]:
    """The first stages only: calls and events in the warehouse, as after a first run that
    stopped there. No event links, risk scores, models, hot spots, baseline rates or report."""
    root = tmp_path_factory.mktemp("dashboard-calls-only")
    schema = f"test_dash_{uuid.uuid4().hex[:10]}"
    env = pipeline_env(root / "data", sample_landing, warehouse_url, schema)
    try:
        run_pipeline(env, selection="*fact_911_calls *dim_event")
        yield env
    finally:
        Warehouse(warehouse_url, schema).drop_schema()


@pytest.mark.e2e
@EVERY_PAGE
def test_pages_before_the_models_and_the_report_are_built(calls_only, module, monkeypatch):
    point_dashboard_at(calls_only, monkeypatch)
    at = open_page(module)
    assert not problems(at), problems(at)
    expected = expectation(module)
    if not expected.present(at):
        assert at.info, f"{module}: no {expected.key_element} and no word on what is missing"


@pytest.mark.e2e
@EVERY_PAGE
def test_pages_before_the_first_run(tmp_path, warehouse_url, module, monkeypatch):
    """A new deployment: the warehouse schema does not exist yet and the lake is empty. The
    page says so (the shared sidebar stops it with the reason) instead of failing."""
    schema = f"test_dash_{uuid.uuid4().hex[:10]}"  # never created
    env = pipeline_env(tmp_path / "data", tmp_path / "landing", warehouse_url, schema)
    point_dashboard_at(env, monkeypatch)
    at = open_page(module)
    assert not at.exception, [e.value for e in at.exception]
    said = [b.value for kind in ("error", "info", "warning") for b in at.main.get(kind)]
    assert said, f"{module} shows neither data nor a word on why"
