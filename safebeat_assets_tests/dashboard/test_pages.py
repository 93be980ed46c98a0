"""Every page of the dashboard rendered by Streamlit's AppTest over a real pipeline run: no
exception, no error box, its key element drawn, and a filter that matters changes the numbers."""

from __future__ import annotations

import datetime as dt
import shutil
import time
import uuid

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from safebeat_assets.dashboard import cache
from safebeat_assets.settings import ENV_LANDING_DIR
from safebeat_assets.storage.warehouse import Warehouse

from .apptest import open_page, problems
from .conftest import (
    EVERY_PAGE,
    clear_streamlit_caches,
    is_placeholder,
    pipeline_env,
    run_pipeline,
)
from .expected import expectation, has_metric, raw_value


@pytest.mark.e2e
@EVERY_PAGE
def test_page_renders_its_key_element(dashboard, module):
    at = open_page(module)
    assert not problems(at), problems(at)
    expected = expectation(module)
    assert expected.present(at), f"{module}: no {expected.key_element}"


@pytest.mark.e2e
@EVERY_PAGE
def test_a_filter_changes_the_numbers(dashboard, module):
    at = open_page(module)
    expected = expectation(module)
    before = expected.numbers(at)
    expected.change_filter(at)
    at.run()
    assert not problems(at), problems(at)
    assert expected.numbers(at) != before, f"{module}: the numbers did not change with the filter"


def calls_shown(at: AppTest) -> int:
    return int(next(m.value for m in at.metric if m.label == "Calls").replace(",", ""))


@pytest.mark.e2e
def test_a_new_run_shows_once_the_data_version_changes(
    tmp_path, warehouse_url, sample_landing, monkeypatch
):
    """A page open while a run lands: cached figures until the data version is read again
    (every VERSION_TTL_SECONDS), then the new run's figures, with no restart and nothing
    cleared but the version."""
    # The first run sees every other call of January-March; the second the whole sample (a
    # superset: new calls are added in the same months and later, none removed).
    landing = tmp_path / "landing-first"
    shutil.copytree(sample_landing, landing)
    calls_csv = next((landing / "calls").glob("*.csv"))
    calls = pd.read_csv(calls_csv, dtype=str, keep_default_na=False)
    first_quarter = calls["Response Datetime"].str.match(r"2025 (Jan|Feb|Mar) ")
    calls[first_quarter & (calls.index % 2 == 0)].to_csv(calls_csv, index=False)
    schema = f"test_dash_{uuid.uuid4().hex[:10]}"
    env = pipeline_env(tmp_path / "data", landing, warehouse_url, schema)
    try:
        run_pipeline(env)
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        clear_streamlit_caches()
        at = open_page("overview")
        assert not problems(at), problems(at)
        shown_at, before = time.monotonic(), calls_shown(at)
        warehouse = Warehouse(warehouse_url, schema)
        assert before == warehouse.fetch_one("SELECT count(*) FROM {f}", f="fact_911_calls")[0]

        run_pipeline({**env, ENV_LANDING_DIR: str(sample_landing)})
        after_run = warehouse.fetch_one(
            "SELECT count(*) FROM {f} WHERE response_date <= %(end)s",
            {"end": at.date_input(key="f_dates").value[1]},
            f="fact_911_calls",
        )[0]
        assert after_run > before
        at.run()
        if time.monotonic() - shown_at < cache.VERSION_TTL_SECONDS - 5:
            # Within the version's time to live the page answers from its cache.
            assert calls_shown(at) == before
        cache.data_version.clear()  # what the TTL's expiry does
        at.run()
        assert not problems(at), problems(at)
        # The session keeps its date range (the first run's span): the new calls inside it.
        assert calls_shown(at) == after_run
        # A new visitor's range is the new run's span: every call.
        fresh = open_page("overview")
        assert (
            calls_shown(fresh)
            == warehouse.fetch_one("SELECT count(*) FROM {f}", f="fact_911_calls")[0]
        )
    finally:
        clear_streamlit_caches()
        Warehouse(warehouse_url, schema).drop_schema()


def narrowest_filters(at: AppTest) -> None:
    """Filters almost nothing passes: one day, one category, the most urgent priority, one
    tier, events without alcohol."""
    dates = at.date_input(key="f_dates")
    start = dates.value[0] if isinstance(dates.value, tuple) else dates.value
    dates.set_value((start, start))
    for key, index in (("f_categories", -1), ("f_tiers", -1), ("f_priorities", 0)):
        widget = at.multiselect(key=key)
        widget.select(raw_value(widget, widget.options[index]))
    at.selectbox(key="f_alcohol").set_value("No alcohol")


@pytest.mark.e2e
@EVERY_PAGE
def test_pages_handle_filters_that_match_almost_nothing(dashboard, module):
    at = open_page(module)
    narrowest_filters(at)
    at.run()
    assert not problems(at), problems(at)


def choices(at: AppTest, kind: str, key: str) -> list:
    """How to set each state of a widget: indexes of a selectbox's or radio's options (the
    first few and the last of a long list: every event, every block group), both states of a
    toggle or checkbox."""
    if kind in ("toggle", "checkbox"):
        return [True, False]
    count = len(at.get_by_key(key).options)
    return sorted({*range(min(count, 4)), count - 1}) if count else []


def set_choice(at: AppTest, kind: str, key: str, choice) -> bool:
    """Set the widget; False when the option's value cannot be told from its label."""
    widget = at.get_by_key(key)
    if kind in ("selectbox", "radio"):
        value = raw_value(widget, widget.options[choice])
        if value is None:
            return False
        widget.set_value(value)
    else:
        widget.set_value(choice)
    return True


@pytest.mark.e2e
@EVERY_PAGE
def test_every_choice_of_the_pages_own_widgets_renders(dashboard, module):
    """Each option of the page's selectboxes and radios, each state of its toggles and
    checkboxes: no exception and no error box in any branch."""
    at = open_page(module)
    widgets = [
        (kind, w.key)
        for kind in ("selectbox", "radio", "toggle", "checkbox")
        for w in at.main.get(kind)
        if w.key
    ]
    if not widgets:
        pytest.skip(f"{module} has no page-specific choices")
    for kind, key in widgets:
        for choice in choices(at, kind, key):
            if key not in {w.key for w in at.main.get(kind)}:
                break  # an earlier choice hid it
            if not set_choice(at, kind, key, choice):
                continue
            at.run()
            assert not problems(at), f"{key} = {choice!r}: {problems(at)}"


@pytest.mark.e2e
def test_the_planner_refuses_a_date_it_cannot_answer_for(dashboard):
    if is_placeholder("planner"):
        pytest.skip("views/planner.py is still a placeholder")
    at = open_page("planner")
    assert not problems(at), problems(at)
    assert has_metric("Expected calls")(at)
    proposed = at.date_input(key="plan_date").value

    at.date_input(key="plan_date").set_value(proposed + dt.timedelta(days=400)).run()
    assert not at.exception, [e.value for e in at.exception]
    refused = [e.value for e in at.error]
    assert len(refused) == 1 and refused[0].startswith("Cannot plan this event"), refused
    assert "days after the last call" in refused[0] and "plan dates up to" in refused[0]
    assert not has_metric("Expected calls")(at)  # no plan for a date it cannot answer for

    first_call = at.date_input(key="f_dates").value[0]
    at.date_input(key="plan_date").set_value(first_call - dt.timedelta(days=1)).run()
    refused = [e.value for e in at.error]
    assert len(refused) == 1 and "before the call history" in refused[0], refused

    at.date_input(key="plan_date").set_value(proposed).run()
    assert not problems(at) and has_metric("Expected calls")(at)
