"""Daily report: the report model (JSON dict), its HTML rendering and PNG charts (no Dagster)."""

from safebeat_assets.reporting.plots import cluster_map_png, daily_volume_png, forecast_plot_png
from safebeat_assets.reporting.render import html_bytes, render_html
from safebeat_assets.reporting.report import ReportInputs, build_report, report_status

__all__ = [
    "ReportInputs",
    "build_report",
    "cluster_map_png",
    "daily_volume_png",
    "forecast_plot_png",
    "html_bytes",
    "render_html",
    "report_status",
]
