"""The dashboard of a city without an events source (issue 14): every page renders without an
error, and the event pages say "No events source for this city" instead of an empty table."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from safebeat_assets.domain import NO_EVENTS_SOURCE_TEXT
from safebeat_assets.storage.warehouse import Warehouse
from safebeat_assets_tests.helpers import landing_without_events, without_events_source

from .apptest import open_page, problems
from .conftest import EVERY_PAGE, pipeline_env, point_dashboard_at, run_pipeline

# The pages that show events, and say there are none to show.
EVENT_PAGES = ("overview", "events", "event_impact", "models", "planner")


@pytest.fixture(scope="module")
def no_events_run(tmp_path_factory, warehouse_url, sample_landing) -> Iterator[dict[str, str]]:
    """The daily job and its report for a city without a permit feed."""
    root = tmp_path_factory.mktemp("dashboard-no-events")
    landing = landing_without_events(sample_landing, root / "landing")
    schema = f"test_dash_{uuid.uuid4().hex[:10]}"
    env = pipeline_env(root / "data", landing, warehouse_url, schema)
    try:
        with pytest.MonkeyPatch.context() as mp:
            without_events_source(mp)
            run_pipeline(env)
        yield env
    finally:
        Warehouse(warehouse_url, schema).drop_schema()


def _said(at) -> list[str]:
    return [str(b.value) for b in at.main.get("info")]


@pytest.mark.e2e
@EVERY_PAGE
def test_pages_without_an_events_source(no_events_run, module, monkeypatch):
    point_dashboard_at(no_events_run, monkeypatch)
    at = open_page(module)
    assert not problems(at), problems(at)
    if module in EVENT_PAGES:
        assert any(NO_EVENTS_SOURCE_TEXT in text for text in _said(at)), (module, _said(at))
    # Every page names the city it shows (SAFEBEAT_CITY's title) in the sidebar.
    captions = [str(c.value) for c in at.sidebar.caption]
    assert any("Austin, Texas" in text for text in captions), captions
