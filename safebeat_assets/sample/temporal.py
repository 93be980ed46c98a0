"""The temporal rhythm of 911 calls: days, hours, seasons, trend, holidays and DST."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .sampling import normalized
from .vocabulary import DOW_WEIGHTS, HOUR_WEIGHTS_WEEKDAY, HOUR_WEIGHTS_WEEKEND

BASE_CALLS_PER_DAY = 784.0
SEASON_AMPLITUDE = 0.06  # summer ~6 % above the yearly mean, winter ~6 % below
SEASON_PEAK_DAY = 196  # mid July
TREND_PER_YEAR = 0.015
DAILY_NOISE_SD = 0.04

# Fixed-date holidays: (month, day) -> multiplier.
HOLIDAY_FACTORS: dict[tuple[int, int], float] = {
    (1, 1): 1.12,
    (7, 4): 1.10,
    (10, 31): 1.08,
    (12, 24): 0.92,
    (12, 25): 0.85,
    (12, 31): 1.06,
}
THANKSGIVING_FACTOR = 0.90


def day_range(start: str, end: str) -> pd.DatetimeIndex:
    """Every calendar day from start to end, inclusive (naive midnights)."""
    days = pd.date_range(pd.Timestamp(start).normalize(), pd.Timestamp(end).normalize(), freq="D")
    if len(days) == 0:
        raise ValueError(f"empty date range {start!r} .. {end!r}")
    return days


def daily_weights(days: pd.DatetimeIndex, rng: np.random.Generator) -> np.ndarray:
    """Relative expected call volume of each day (normalised to sum to one)."""
    dow = days.dayofweek.to_numpy()
    doy = days.dayofyear.to_numpy()
    w = np.asarray(DOW_WEIGHTS, dtype=float)[dow]
    w = w * (1.0 + SEASON_AMPLITUDE * np.cos(2 * np.pi * (doy - SEASON_PEAK_DAY) / 365.25))
    years = (days - pd.Timestamp("2023-01-01")).days.to_numpy() / 365.25
    w = w * (1.0 + TREND_PER_YEAR * years)
    month = days.month.to_numpy()
    day = days.day.to_numpy()
    for (m, d), factor in HOLIDAY_FACTORS.items():
        w = np.where((month == m) & (day == d), w * factor, w)
    thanksgiving = (month == 11) & (dow == 3) & (day >= 22) & (day <= 28)
    w = np.where(thanksgiving, w * THANKSGIVING_FACTOR, w)
    shape = 1.0 / DAILY_NOISE_SD**2
    w = w * rng.gamma(shape, 1.0 / shape, size=w.shape[0])
    return normalized(w)


def hour_probabilities() -> np.ndarray:
    """(2, 24): row 0 weekdays, row 1 weekends (Sat/Sun)."""
    return np.vstack([normalized(HOUR_WEIGHTS_WEEKDAY), normalized(HOUR_WEIGHTS_WEEKEND)])


def spring_forward_days(days: pd.DatetimeIndex) -> np.ndarray:
    """Boolean mask of US DST start days (second Sunday of March): 02:00-02:59 does not exist."""
    return (
        (days.month.to_numpy() == 3)
        & (days.dayofweek.to_numpy() == 6)
        & (days.day.to_numpy() >= 8)
        & (days.day.to_numpy() <= 14)
    )


def time_of_day_bucket(hour: np.ndarray) -> np.ndarray:
    """0 Night (<6), 1 Morning (<12), 2 Afternoon (<18), 3 Evening."""
    return np.asarray(hour) // 6


def epoch_seconds(days: pd.DatetimeIndex) -> np.ndarray:
    """Naive local midnights as int64 seconds since 1970-01-01."""
    return days.as_unit("s").asi8.astype(np.int64)
