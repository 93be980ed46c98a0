"""Daily report: the report model (JSON dict), its HTML rendering and PNG charts (no Dagster)."""

from safebeat_assets.reporting.plots import cluster_map_png, daily_volume_png, forecast_plot_png
from safebeat_assets.reporting.render import html_bytes, render_html
from safebeat_assets.reporting.report import ReportInputs, build_report
from safebeat_assets.reporting.status import (
    STATUS_FAILED,
    STATUS_PARTIAL,
    STATUS_SUCCESS,
    PartOutcome,
    StepError,
    build_failed_report,
    overall_status,
)

__all__ = [
    "STATUS_FAILED",
    "STATUS_PARTIAL",
    "STATUS_SUCCESS",
    "PartOutcome",
    "ReportInputs",
    "StepError",
    "build_failed_report",
    "build_report",
    "cluster_map_png",
    "daily_volume_png",
    "forecast_plot_png",
    "html_bytes",
    "render_html",
    "overall_status",
]
