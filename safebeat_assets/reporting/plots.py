"""Small PNG charts for the report (matplotlib, Agg canvas, no pyplot global state).

Figures are built on `matplotlib.figure.Figure` directly so they are thread-safe inside the
Dagster process and never try to open a display.
"""

from __future__ import annotations

import io
from typing import TYPE_CHECKING

import pandas as pd

from ..analytics.zones import ZONE_LABELS

if TYPE_CHECKING:
    from matplotlib.figure import Figure

FIGSIZE = (8.0, 3.6)
DPI = 90
# Red, amber, green for HIGH, MEDIUM, LOW.
ZONE_COLOURS = dict(zip(ZONE_LABELS, ("#c62828", "#ef8f00", "#2e7d32"), strict=True))


def _new_figure(figsize=FIGSIZE) -> tuple[Figure, object]:
    # imported here: the Dagster definitions import this module, and matplotlib costs ~0.3 s.
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=figsize, dpi=DPI)
    FigureCanvasAgg(fig)
    return fig, fig.add_subplot(1, 1, 1)


def _png(fig: Figure) -> bytes:
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI)
    return buf.getvalue()


def _no_data(ax, title: str) -> None:
    ax.set_title(title)
    ax.text(0.5, 0.5, "no data", ha="center", va="center", transform=ax.transAxes, color="grey")
    ax.set_xticks([])
    ax.set_yticks([])


def forecast_plot_png(forecast: pd.DataFrame) -> bytes:
    """Backtest actual vs predicted vs seasonal naive, then the forecast horizon."""
    fig, ax = _new_figure()
    title = "Daily calls: forecast vs actual"
    if forecast is None or forecast.empty:
        _no_data(ax, title)
        return _png(fig)
    f = forecast.sort_values("date")
    back, ahead = f[f["kind"] == "backtest"], f[f["kind"] == "forecast"]
    if not back.empty:
        ax.plot(back["date"], back["actual_calls"], color="#1f3a5f", lw=1.2, label="actual")
        ax.plot(back["date"], back["predicted_calls"], color="#ef8f00", lw=1.0, label="backtest")
        ax.plot(
            back["date"], back["baseline_calls"], color="grey", lw=0.8, ls=":", label="last week"
        )
    if not ahead.empty:
        ax.plot(
            ahead["date"],
            ahead["predicted_calls"],
            color="#c62828",
            lw=1.6,
            marker="o",
            ms=3,
            label="forecast",
        )
    ax.set_title(title)
    ax.set_ylabel("calls")
    ax.legend(loc="upper left", fontsize=8, ncols=4)
    fig.autofmt_xdate()
    return _png(fig)


def cluster_map_png(zones: pd.DataFrame) -> bytes:
    """Block-group centroids coloured by risk zone, sized by call count."""
    fig, ax = _new_figure(figsize=(6.0, 5.0))
    title = "Risk zones (block-group centroids)"
    if zones is None or zones.empty:
        _no_data(ax, title)
        return _png(fig)
    counts = zones["incident_count"].astype("float64")
    sizes = 6 + 80 * (counts / max(counts.max(), 1.0)) ** 0.5  # sqrt: area ~ count
    for zone, colour in ZONE_COLOURS.items():
        sel = zones["risk_zone"] == zone
        if sel.any():
            ax.scatter(
                zones.loc[sel, "longitude"],
                zones.loc[sel, "latitude"],
                s=sizes[sel],
                c=colour,
                alpha=0.7,
                edgecolors="none",
                label=f"{zone} ({int(sel.sum())})",
            )
    ax.set_title(title)
    ax.set_xlabel("longitude")
    ax.set_ylabel("latitude")
    ax.set_aspect("equal", adjustable="datalim")
    ax.legend(loc="best", fontsize=8)
    return _png(fig)


def daily_volume_png(calls: pd.DataFrame) -> bytes:
    """Calls per day with a 7-day rolling mean."""
    if calls is None or calls.empty:
        return daily_series_png(pd.Series(dtype="float64"))
    dates = pd.to_datetime(calls["response_date"])
    if dates.dt.tz is not None:
        dates = dates.dt.tz_localize(None)
    daily = dates.dt.normalize().value_counts().sort_index()
    daily = daily.reindex(pd.date_range(daily.index[0], daily.index[-1]), fill_value=0)
    return daily_series_png(daily)


def daily_series_png(daily: pd.Series) -> bytes:
    """Calls per day (a gap-free daily series) with a 7-day rolling mean."""
    fig, ax = _new_figure()
    title = "911 calls per day"
    if daily is None or daily.empty:
        _no_data(ax, title)
        return _png(fig)
    ax.plot(daily.index, daily.to_numpy(), color="#9aa5b1", lw=0.6, label="daily")
    ax.plot(
        daily.index, daily.rolling(7).mean().to_numpy(), color="#1f3a5f", lw=1.4, label="7-day mean"
    )
    ax.set_title(title)
    ax.set_ylabel("calls")
    ax.legend(loc="upper left", fontsize=8)
    fig.autofmt_xdate()
    return _png(fig)
