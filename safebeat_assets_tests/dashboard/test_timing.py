"""The speed script (`make dashboard-bench`) over the package's run: every page timed cold and
warm, the JSON written."""

import json

import pytest

from safebeat_assets.dashboard import timing

from .conftest import page_modules


@pytest.mark.e2e
def test_timing_renders_every_page_and_writes_the_json(dashboard, tmp_path, capsys):
    out = tmp_path / "dashboard.json"
    assert timing.main(["--repeats", "1", "--out", str(out)]) == 0
    document = json.loads(out.read_text())
    assert (
        document["data"]["calls"] > 0 and document["data"]["warehouse"] == "SAFEBEAT_WAREHOUSE_URL"
    )
    assert [p["module"] for p in document["pages"]] == page_modules()
    for page in document["pages"]:
        assert not page["problems"], page
        assert page["warm_seconds"] > 0 and 0 < page["cold_seconds"] < timing.RENDER_TIMEOUT_S
    assert sorted(document["slowest_cold"]) == sorted(page_modules())
    printed = capsys.readouterr().out
    assert "cold s" in printed and "JSON:" in printed
