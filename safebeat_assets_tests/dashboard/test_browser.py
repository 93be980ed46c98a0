"""The dashboard as a reader sees it: `streamlit run` over the package's pipeline run, every page
opened in a headless Chromium, drawn, captured to `test-artifacts/dashboard/<module>.png`
(gitignored) and checked: no error box or exception, the page's key elements drawn (charts
with marks on their canvas or SVG, not an empty frame)."""

from __future__ import annotations

import json
import os
import shutil

import pytest

from safebeat_assets_tests.helpers import free_port

from .browser import Chromium, StreamlitServer
from .conftest import ARTIFACTS_DIR, EVERY_PAGE, app_pages, page_modules

# What a page must show, as Streamlit's data-testids: a metric (stMetric), an Altair chart
# (stVegaLiteChart), a table (stDataFrame / stTable). A page not listed needs one of them.
KEY_ELEMENTS: dict[str, list[str]] = {
    "overview": ["stMetric", "stVegaLiteChart"],
    "map": ["stMetric", "stVegaLiteChart", "stDataFrame"],
    "hot_spots": ["stMetric", "stVegaLiteChart"],
    "time_patterns": ["stMetric", "stVegaLiteChart"],
    "events": ["stMetric", "stDataFrame", "stVegaLiteChart"],
    "event_impact": ["stMetric", "stVegaLiteChart", "stDataFrame"],
    "forecast": ["stMetric", "stVegaLiteChart"],
    "rules": ["stMetric", "stVegaLiteChart", "stDataFrame"],
    "models": ["stMetric", "stDataFrame"],
    "planner": ["stMetric", "stVegaLiteChart"],
    "reports": ["stMetric", "stDataFrame"],
    "data": ["stMetric", "stDataFrame"],
}
ANY_KEY_ELEMENT = ["stMetric", "stVegaLiteChart", "stDataFrame", "stTable"]
# Pages whose chart is a map: block-group polygons drawn, i.e. many marks / much ink.
MAPS = {"map", "hot_spots"}
MIN_MAP_POLYGONS = 500  # of the sample's 1,216 block groups (a canvas: ink / 100)
# Streamlit's frontend probes its endpoints under the page's path first; those 404s are noise.
HARMLESS_CONSOLE = ("/_stcore/health", "/_stcore/host-config")
NAVIGATION = """
(() => {
  const links = [...document.querySelectorAll('[data-testid="stSidebarNavLink"]')];
  const app = document.querySelector('[data-testid="stApp"]');
  return {ready: links.length > 0 && app && app.dataset.testScriptState === 'notRunning',
    links: links.map((a) => ({text: a.textContent, href: a.getAttribute('href')}))};
})()
"""


def page_errors(browser: Chromium) -> list[str]:
    """What the page logged as errors or threw (a chart Vega refused to draw shows up only
    here), less Streamlit's harmless probes."""
    return [e for e in browser.console if not any(h in e for h in HARMLESS_CONSOLE)]


PAGE_STATE = """
(() => {
  const need = %(need)s, anyOf = %(any)s;
  const app = document.querySelector('[data-testid="stApp"]');
  const count = (id) => document.querySelectorAll(`[data-testid="${id}"]`).length;
  // Charts in a tab not shown (display: none) are not drawn yet and not checked.
  const charts = [...document.querySelectorAll('[data-testid="stVegaLiteChart"]')].filter(
    (c) => c.getClientRects().length > 0).map((c) => {
    const svgMarks = c.querySelectorAll('svg g.mark-shape path, svg g.mark-rect path, '
      + 'svg g.mark-line path, svg g.mark-symbol path, svg g.mark-area path, '
      + 'svg g.mark-rule line, svg g.mark-text text').length;
    let ink = 0;
    for (const canvas of c.querySelectorAll('canvas')) {
      if (!canvas.width || !canvas.height) continue;
      const data = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
      for (let i = 3; i < data.length; i += 16) if (data[i] > 0) ink += 1;  // every 4th pixel
    }
    const shapes = c.querySelectorAll('svg g.mark-shape path').length;  // geoshape polygons
    const box = c.getBoundingClientRect();
    return {svgMarks, shapes, ink, width: box.width, height: box.height,
      drawn: svgMarks > 0 || ink > 200};
  });
  const found = Object.fromEntries(
    [...new Set([...need, ...anyOf, 'stAlertContentError', 'stException', 'stAlertContentInfo',
      'stSkeleton', 'stSpinner'])].map((id) => [id, count(id)]));
  const state = app ? app.dataset.testScriptState : null;
  const failed = found.stAlertContentError + found.stException > 0;
  const complete = need.every((id) => found[id] > 0)
    && (anyOf.length === 0 || anyOf.some((id) => found[id] > 0))
    && charts.every((c) => c.drawn);
  return {
    ready: app !== null && state === 'notRunning' && found.stSkeleton === 0
      && found.stSpinner === 0 && (complete || failed),
    state, connection: app && app.dataset.testConnectionState, found, charts,
    title: (document.querySelector('h1') || {}).textContent || null,
    errors: [...document.querySelectorAll(
      '[data-testid="stAlertContentError"], [data-testid="stException"]')].map(
      (e) => e.textContent.slice(0, 300)),
  };
})()
"""


@pytest.fixture(scope="module")
def chromium() -> str:
    path = shutil.which("chromium")
    if path is None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("CI=true but Chromium is not installed (.ci/run installs it)")
        pytest.skip("Chromium is not installed (apt-get install chromium); .ci/run installs it")
    return path


@pytest.fixture(scope="module")
def dashboard_server(chromium, dashboard_data, tmp_path_factory):
    log = tmp_path_factory.mktemp("streamlit") / "streamlit.log"
    with StreamlitServer(free_port(), dashboard_data.env, log) as server:
        yield server


@pytest.fixture(scope="module")
def browser(chromium, tmp_path_factory):
    with Chromium(chromium, tmp_path_factory.mktemp("chromium-profile")) as opened:
        yield opened


@pytest.mark.e2e
@EVERY_PAGE
def test_page_is_drawn_in_a_browser(module, browser, dashboard_server):
    need = KEY_ELEMENTS.get(module, [])
    any_of = [] if need else ANY_KEY_ELEMENT
    browser.console.clear()
    # The first page is the default one: Streamlit serves it at the root, not at its url_path.
    path = "" if module == page_modules()[0] else module
    browser.open(f"{dashboard_server.url}/{path}")
    state = browser.wait_for(
        PAGE_STATE % {"need": json.dumps(need), "any": json.dumps(any_of)},
        give_up=lambda: bool(page_errors(browser)),
    )
    ARTIFACTS_DIR.mkdir(parents=True, exist_ok=True)
    png = ARTIFACTS_DIR / f"{module}.png"
    png.unlink(missing_ok=True)
    browser.screenshot(png)
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 20_000

    assert not page_errors(browser), f"{module}: the browser reported {page_errors(browser)}"
    assert state.get("ready"), f"{module} not drawn within the time limit: {state}"
    assert not state["errors"], f"{module} shows errors: {state['errors']}"
    found = state["found"]
    for element in need:
        assert found[element] > 0, f"{module}: no {element} drawn ({found})"
    if any_of:
        assert any(found[e] > 0 for e in any_of), f"{module}: nothing drawn ({found})"
    assert all(chart["drawn"] for chart in state["charts"]), f"{module}: {state['charts']}"
    if module in MAPS:
        # Vega draws to SVG here (one path per block group); a canvas would show as ink.
        drawn = max(max(c["shapes"], c["ink"] // 100) for c in state["charts"])
        assert drawn >= MIN_MAP_POLYGONS, f"{module}: polygons not drawn: {state['charts']}"


@pytest.mark.e2e
def test_a_deep_link_to_a_fresh_server_shows_the_dashboard_navigation(
    chromium, dashboard_data, tmp_path
):
    """The first request a new server gets may be a bookmarked page, not the root: the
    sidebar must still list the app's pages by title (st.navigation), not the files of a
    `pages/` folder (Streamlit's older multipage mode, which it falls back to when the main
    script has a `pages/` folder beside it and has not run yet)."""
    with (
        StreamlitServer(free_port(), dashboard_data.env, tmp_path / "streamlit.log") as server,
        Chromium(chromium, tmp_path / "chromium-profile") as opened,
    ):
        opened.open(f"{server.url}/map")
        state = opened.wait_for(NAVIGATION)
        ARTIFACTS_DIR.mkdir(parents=True, exist_ok=True)
        opened.screenshot(ARTIFACTS_DIR / "deep-link-navigation.png")
    assert state.get("ready"), f"no navigation drawn: {state}"
    texts = [link["text"] for link in state["links"]]
    assert "app" not in texts, f"the main script is listed as a page: {texts}"
    for module, title, _ in app_pages():
        assert any(text.endswith(title) for text in texts), f"{title} ({module}) not in {texts}"
