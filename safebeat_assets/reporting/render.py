"""Render the report dict as one self-contained HTML page (inline CSS, optional inline PNGs).

Autoescaping is on for every value: event names and categories come from public permit data,
and step errors quote whatever the failing code raised. The same template renders a FAILED
report (`build_failed_report`), whose sections hold nulls and empty lists.
"""

from __future__ import annotations

import base64
import math
from collections.abc import Mapping
from functools import cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from jinja2 import Environment

TEMPLATE_NAME = "daily_report.html.j2"


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not (isinstance(value, float) and math.isnan(value))


def _thousands(value) -> str:
    return f"{value:,}" if _is_number(value) else "n/a"


def _number(value, digits: int = 1) -> str:
    return f"{value:,.{digits}f}" if _is_number(value) else "n/a"


def _percent(value, digits: int = 1) -> str:
    return f"{100 * value:.{digits}f} %" if _is_number(value) else "n/a"


@cache
def _environment() -> Environment:
    # imported here: the Dagster definitions import this module, and jinja2 costs ~0.1 s.
    from jinja2 import Environment, PackageLoader

    # PackageLoader reads the template shipped inside the package (works from a wheel too).
    env = Environment(
        loader=PackageLoader("safebeat_assets.reporting", "templates"),
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(thousands=_thousands, number=_number, percent=_percent)
    return env


def render_html(report: Mapping, images: Mapping[str, bytes] | None = None) -> str:
    """HTML for a `build_report` or `build_failed_report` dict.

    `images` (forecast/clusters/daily_volume PNG bytes) are inlined; any may be absent.
    """
    encoded = {k: base64.b64encode(v).decode("ascii") for k, v in (images or {}).items() if v}
    template = _environment().get_template(TEMPLATE_NAME)
    return template.render(
        meta=report["report_metadata"],
        parts=report.get("parts", []),
        failures=report.get("failures", []),
        data=report.get("data_processing") or {},
        db=report.get("database_stats") or {},
        ml=report.get("ml_models") or {},
        forecast=report.get("forecast", []),
        top_rules=report.get("top_rules", []),
        top_events=report.get("top_risky_events", []),
        alerts=report.get("alerts", []),
        checks=report.get("checks", []),
        outputs=report.get("outputs_generated", []),
        images={
            "forecast": encoded.get("forecast"),
            "clusters": encoded.get("clusters"),
            "daily_volume": encoded.get("daily_volume"),
        },
    )


def html_bytes(html: str) -> bytes:
    """UTF-8 bytes to upload; use len() of these, not of the str (the old pipeline's bug)."""
    return html.encode("utf-8")
