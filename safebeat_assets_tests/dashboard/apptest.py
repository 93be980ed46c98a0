"""Driving the dashboard with Streamlit's AppTest and reading what a page shows: its metrics,
tables and the data behind its charts, so a test can tell whether a filter changed the numbers."""

from __future__ import annotations

import json

import pyarrow as pa
from streamlit.testing.v1 import AppTest

from .conftest import APP

PAGE_TIMEOUT_S = 120  # a cold render at most a few seconds; slack for a busy CI machine


# CPython 3.11 keeps the AST converter's recursion counter in module state shared by every
# thread, and checks it after each conversion: another thread converting an AST at the same time
# trips the check with this SystemError, raised where Streamlit parses the page's code. Seen in
# full-suite runs only (twice on 2026-12-07, on one page), never with the page run alone: an
# interpreter race, not the page. Such a render is repeated once; anything else is reported.
_INTERPRETER_AST_RACE = "AST constructor recursion depth mismatch"


def open_page(module: str) -> AppTest:
    """The app as `streamlit run` starts it, then its navigation switched to the page."""
    at = _render(module)
    if any(_INTERPRETER_AST_RACE in str(e.value) for e in at.exception):
        at = _render(module)
    return at


def _render(module: str) -> AppTest:
    at = AppTest.from_file(str(APP), default_timeout=PAGE_TIMEOUT_S).run()
    if module != "overview":  # the default page, already shown
        at.switch_page(f"views/{module}.py").run()
    return at


def problems(at: AppTest) -> list[str]:
    """Exceptions and `st.error` boxes on the page: none is allowed."""
    return [f"exception: {e.value}" for e in at.exception] + [f"error: {e.value}" for e in at.error]


def charts(at: AppTest) -> list:
    """The page's Altair/Vega-Lite charts (`st.altair_chart`, `st.vega_lite_chart`)."""
    return list(at.get("vega_lite_chart")) + list(at.get("arrow_vega_lite_chart"))


def chart_marks(at: AppTest) -> list[str]:
    """Each chart's mark types (layers included), e.g. ["line", "bar", "geoshape"]."""
    marks = []
    for chart in charts(at):
        marks += _marks(json.loads(chart.proto.spec))
    return marks


def _marks(spec: dict) -> list[str]:
    found = []
    mark = spec.get("mark")
    if mark is not None:
        found.append(mark if isinstance(mark, str) else mark.get("type"))
    for key in ("layer", "hconcat", "vconcat", "concat"):
        for sub in spec.get(key, []):
            found += _marks(sub)
    if isinstance(spec.get("spec"), dict):  # facet / repeat
        found += _marks(spec["spec"])
    return found


def chart_data(chart) -> list[str]:
    """The rows a chart draws: its Arrow datasets and any values inlined in the spec."""
    rows = []
    for dataset in chart.proto.datasets:
        table = pa.ipc.open_stream(dataset.data.data).read_all()
        rows.append(table.to_pandas().to_csv(index=False))
    if chart.proto.HasField("data") and chart.proto.data.data:
        rows.append(pa.ipc.open_stream(chart.proto.data.data).read_all().to_pandas().to_csv())
    spec = json.loads(chart.proto.spec)
    rows += [json.dumps(v, sort_keys=True) for v in _inline_values(spec)]
    return rows


def _inline_values(spec) -> list:
    if isinstance(spec, dict):
        found = [spec["values"]] if "values" in spec else []
        found += [v for k, v in spec.get("datasets", {}).items()] if "datasets" in spec else []
        for key, value in spec.items():
            if key not in ("values", "datasets"):
                found += _inline_values(value)
        return found
    if isinstance(spec, list):
        return [v for item in spec for v in _inline_values(item)]
    return []


def shown(at: AppTest) -> dict:
    """What a reader sees of the data: metrics, tables, chart data and the page's message
    boxes."""
    return {
        "metrics": [(m.label, m.value) for m in at.metric],
        "dataframes": [d.value.to_csv() for d in at.dataframe],
        "tables": [t.value.to_csv() for t in at.table],
        "charts": [chart_data(c) for c in charts(at)],
        # Boxes too: a filter that empties a section, or a report of another day.
        "boxes": [b.value for kind in ("info", "success", "warning") for b in at.main.get(kind)],
    }
