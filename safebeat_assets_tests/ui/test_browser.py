"""The Dagster UI rendered by a real (headless) Chromium: screenshots plus the DOM after JS ran.

Screenshots land in `test-artifacts/ui/` at the repository root (gitignored).
"""

import shutil
import subprocess

import pytest

from safebeat_assets_tests.helpers import CHROMIUM_HEADLESS_FLAGS

from .conftest import ARTIFACTS_DIR

CHROMIUM_TIMEOUT_S = 60


# Package scope like `ui_server`, and requested first, so a missing browser skips before the
# webserver fixture is set up.
@pytest.fixture(scope="package")
def chromium() -> str:
    path = shutil.which("chromium")
    if path is None:
        pytest.skip("Chromium is not installed (apt-get install chromium); .ci/run installs it")
    return path


def run_chromium(
    chromium: str, tmp_path, url: str, *action: str, window: str = "1400,900"
) -> subprocess.CompletedProcess:
    """One headless Chromium invocation with a fresh profile; the background-networking flags
    keep it from calling out of this closed network."""
    profile = tmp_path / f"chromium-profile-{len(list(tmp_path.iterdir()))}"
    command = [
        chromium,
        *CHROMIUM_HEADLESS_FLAGS,
        f"--user-data-dir={profile}",
        f"--window-size={window}",
        "--virtual-time-budget=15000",
        *action,
        url,
    ]
    # stderr carries harmless dbus noise; only the exit code and stdout matter.
    result = subprocess.run(command, capture_output=True, text=True, timeout=CHROMIUM_TIMEOUT_S)
    assert result.returncode == 0, result.stderr[-2000:]
    return result


def screenshot_and_dom(chromium, tmp_path, url: str, name: str, window: str = "1400,900") -> str:
    ARTIFACTS_DIR.mkdir(parents=True, exist_ok=True)
    png = ARTIFACTS_DIR / f"{name}.png"
    png.unlink(missing_ok=True)
    run_chromium(chromium, tmp_path, url, f"--screenshot={png}", window=window)
    assert png.exists() and png.stat().st_size > 20_000, f"no real screenshot of {url}"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    dom = run_chromium(chromium, tmp_path, url, "--dump-dom", window=window).stdout
    (ARTIFACTS_DIR / f"{name}.html").write_text(dom)
    return dom


@pytest.mark.e2e
def test_global_lineage_renders_every_group(chromium, ui_server, tmp_path):
    dom = screenshot_and_dom(chromium, tmp_path, f"{ui_server.url}/asset-groups", "asset-graph")
    assert "Join the Dagster community" not in dom  # the first-visit dialog was dismissed
    assert "Global asset lineage" in dom
    for group in [
        "raw",
        "cleaned",
        "enriched",
        "warehouse",
        "aggregates",
        "ml",
        "risk",
        "reporting",
    ]:
        assert f">{group}<" in dom, f"group {group} not rendered on /asset-groups"


@pytest.mark.e2e
def test_group_lineage_renders_asset_names(chromium, ui_server, tmp_path):
    url = f"{ui_server.url}/locations/__repository__@safebeat/asset-groups/warehouse"
    # Tall enough for the whole group: the UI only draws the nodes inside the viewport, and the
    # group's graph (with its upstream and downstream neighbours) outgrew 1400x900.
    dom = screenshot_and_dom(chromium, tmp_path, url, "warehouse-group", window="1400,2400")
    assert "Join the Dagster community" not in dom
    for name in ["dim_geo", "dim_event", "fact_911_calls", "fact_event_incidents"]:
        assert name in dom, f"{name} not rendered on the warehouse group's lineage"


@pytest.mark.e2e
def test_asset_checks_page_renders_check_names(chromium, ui_server, tmp_path):
    url = f"{ui_server.url}/assets/fact_911_calls?view=checks"
    dom = screenshot_and_dom(chromium, tmp_path, url, "fact_911_calls-checks")
    assert "Join the Dagster community" not in dom
    assert "fact_911_calls" in dom
    for check in [
        "no_duplicate_calls",
        "geo_match_rate_above_minimum",
        "response_dates_in_plausible_range",
    ]:
        assert check in dom, f"check {check} not rendered on the checks page"
    # Each model's blocking pre-check is shown with the model it guards.
    url = f"{ui_server.url}/assets/association_rules?view=checks"
    dom = screenshot_and_dom(chromium, tmp_path, url, "association_rules-checks")
    for check in ["enough_calls_for_rules", "rules_meet_thresholds"]:
        assert check in dom, f"check {check} not rendered on association_rules' checks page"


def test_forecast_plot_renders_in_the_asset_page(chromium, ui_server, tmp_path):
    url = f"{ui_server.url}/assets/call_forecast"
    dom = screenshot_and_dom(chromium, tmp_path, url, "call_forecast-overview")
    # The charts are markdown metadata entries (inline PNGs) of the latest materialization; the
    # UI lists them by name and opens the markdown on click.
    for entry in ("forecast_vs_actual", "daily_volume"):
        assert entry in dom, f"metadata entry {entry} not rendered"


FIND_CHART = """
(() => {
  const shown = [...document.querySelectorAll('img')].filter(
    (img) => img.src.startsWith('data:image/png') && img.complete && img.naturalWidth > 100);
  if (shown.length) return {rendered: shown.length, width: shown[0].naturalWidth};
  const key = [...document.querySelectorAll('td, div, span')].find(
    (el) => el.textContent.trim() === %(entry)s && el.children.length === 0);
  if (!key) return {rendered: 0, key: false};
  const row = key.closest('tr') || key.parentElement.parentElement;
  const button = [...row.querySelectorAll('button, a')].find(
    (el) => /markdown/i.test(el.textContent));
  if (button) button.click();
  return {rendered: 0, key: true, clicked: Boolean(button)};
})()
"""


def open_markdown_chart(chromium: str, tmp_path, url: str, entry: str, png_path) -> dict:
    """Drive Chromium over the DevTools protocol: open `url`, click the entry's "Show
    Markdown" button, wait until an inline PNG has decoded, save a screenshot."""
    import base64
    import json as jsonlib
    import re
    import time
    import urllib.request

    from websockets.sync.client import connect

    proc = subprocess.Popen(
        [
            chromium,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-background-networking",
            "--remote-debugging-port=0",
            f"--user-data-dir={tmp_path / 'chromium-cdp-profile'}",
            "--window-size=1400,1000",
            "about:blank",
        ],
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        endpoint = None
        deadline = time.monotonic() + CHROMIUM_TIMEOUT_S
        while endpoint is None and time.monotonic() < deadline:
            line = proc.stderr.readline()
            found = re.search(r"DevTools listening on ws://([^/]+)/", line or "")
            endpoint = found.group(1) if found else None
        assert endpoint, "Chromium did not open its DevTools endpoint"
        with urllib.request.urlopen(f"http://{endpoint}/json/list", timeout=10) as response:
            page = next(t for t in jsonlib.load(response) if t["type"] == "page")
        with connect(page["webSocketDebuggerUrl"], max_size=None) as ws:
            counter = iter(range(1, 10_000))

            def call(method: str, **params) -> dict:
                number = next(counter)
                ws.send(jsonlib.dumps({"id": number, "method": method, "params": params}))
                while True:
                    message = jsonlib.loads(ws.recv(timeout=CHROMIUM_TIMEOUT_S))
                    if message.get("id") == number:
                        return message.get("result", {})

            call("Page.navigate", url=url)
            script = FIND_CHART % {"entry": jsonlib.dumps(entry)}
            state: dict = {}
            deadline = time.monotonic() + CHROMIUM_TIMEOUT_S
            while time.monotonic() < deadline:
                result = call("Runtime.evaluate", expression=script, returnByValue=True)
                state = result.get("result", {}).get("value") or {}
                if state.get("rendered"):
                    break
                time.sleep(1)
            shot = call("Page.captureScreenshot", format="png")
            png_path.write_bytes(base64.b64decode(shot["data"]))
            return state
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.mark.e2e
def test_forecast_chart_image_is_drawn_when_opened(chromium, ui_server, tmp_path):
    ARTIFACTS_DIR.mkdir(parents=True, exist_ok=True)
    png = ARTIFACTS_DIR / "call_forecast-forecast_vs_actual.png"
    url = f"{ui_server.url}/assets/call_forecast?view=events"
    state = open_markdown_chart(chromium, tmp_path, url, "forecast_vs_actual", png)
    # The UI's markdown sanitizer allows data: image URLs: the inline PNG decodes and is drawn.
    assert state.get("rendered"), f"chart not drawn: {state}"
    assert state["width"] > 100
    assert png.stat().st_size > 20_000
