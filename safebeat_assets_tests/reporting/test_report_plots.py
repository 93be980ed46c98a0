import time

import numpy as np
import pandas as pd
import pytest

from safebeat_assets.reporting.plots import cluster_map_png, daily_volume_png, forecast_plot_png

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def make_forecast() -> pd.DataFrame:
    dates = pd.date_range("2025-06-01", periods=60)
    kind = ["backtest"] * 53 + ["forecast"] * 7
    actual = np.where(np.arange(60) < 53, 780.0, np.nan)
    return pd.DataFrame(
        {
            "date": dates,
            "kind": kind,
            "actual_calls": actual,
            "predicted_calls": np.full(60, 779.0),
            "baseline_calls": np.full(60, 770.0),
            "model": "ridge",
            "is_fallback": False,
        }
    )


def make_zones() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    n = 300
    return pd.DataFrame(
        {
            "latitude": 30.27 + rng.normal(0, 0.05, n),
            "longitude": -97.74 + rng.normal(0, 0.05, n),
            "incident_count": rng.integers(1, 5000, n),
            "risk_zone": rng.choice(["HIGH_RISK", "MEDIUM_RISK", "LOW_RISK"], n),
        }
    )


def make_calls() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    days = pd.date_range("2024-01-01", periods=365)
    return pd.DataFrame({"response_date": rng.choice(days, 50_000)})


@pytest.mark.parametrize(
    ("plot", "frame"),
    [
        (forecast_plot_png, make_forecast),
        (cluster_map_png, make_zones),
        (daily_volume_png, make_calls),
    ],
)
def test_png_is_small_and_fast(plot, frame):
    data = frame()
    started = time.perf_counter()
    png = plot(data)
    elapsed = time.perf_counter() - started
    assert png.startswith(PNG_MAGIC)
    assert len(png) < 300_000
    assert elapsed < 2.0  # generous for CI; about 0.2 s locally


@pytest.mark.parametrize("plot", [forecast_plot_png, cluster_map_png, daily_volume_png])
def test_empty_frames_still_render(plot):
    assert plot(pd.DataFrame()).startswith(PNG_MAGIC)
