"""Vectorised text formatting in the exact APD export style (lookup tables, no row loops)."""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import pandas as pd

from .vocabulary import DAY_NAMES, MONTH_NAMES


@lru_cache(maxsize=1)
def _time_table() -> np.ndarray:
    """'12:00:00 AM' .. '11:59:59 PM' for every second of the day (86,400 strings)."""
    sec = np.arange(86_400)
    h, m, s = sec // 3600, (sec // 60) % 60, sec % 60
    h12 = np.where(h % 12 == 0, 12, h % 12)
    two = _two_digits()
    ampm = np.where(h < 12, " AM", " PM")
    return np.strings.add(
        np.strings.add(np.strings.add(two[h12], ":"), np.strings.add(two[m], ":")),
        np.strings.add(two[s], ampm),
    )


@lru_cache(maxsize=1)
def _two_digits() -> np.ndarray:
    return np.array([f"{i:02d}" for i in range(100)])


@lru_cache(maxsize=1)
def _three_digits() -> np.ndarray:
    return np.array([f"{i:03d}" for i in range(1000)])


@lru_cache(maxsize=1)
def _plain_small() -> np.ndarray:
    return np.array([str(i) for i in range(1000)])


def format_apd_datetimes(seconds: np.ndarray) -> np.ndarray:
    """Naive epoch seconds -> '2025 Oct 31 11:59:47 PM' (object array)."""
    seconds = np.asarray(seconds, dtype=np.int64)
    day = seconds // 86_400
    sod = seconds - day * 86_400
    udays, inv = np.unique(day, return_inverse=True)
    stamps = pd.to_datetime(udays, unit="D")
    date_text = np.array(
        [
            f"{y} {MONTH_NAMES[m - 1]} {d:02d} "
            for y, m, d in zip(stamps.year, stamps.month, stamps.day, strict=True)
        ]
    )
    return np.strings.add(date_text[inv], _time_table()[sod]).astype(object)


def format_thousands(values: np.ndarray) -> np.ndarray:
    """Non-negative ints -> '853', '7,953', '2,460,453' (object array)."""
    v = np.asarray(values, dtype=np.int64)
    if (v < 0).any() or (v >= 1_000_000_000).any():
        raise ValueError("format_thousands expects 0 <= value < 1e9")
    a, b, c = v // 1_000_000, (v // 1000) % 1000, v % 1000
    plain, three = _plain_small(), _three_digits()
    small = plain[c]
    mid = np.strings.add(np.strings.add(plain[b], ","), three[c])
    big = np.strings.add(
        np.strings.add(np.strings.add(plain[a], ","), np.strings.add(three[b], ",")), three[c]
    )
    out = np.where(v < 1000, small, np.where(v < 1_000_000, mid, big))
    return out.astype(object)


def format_ints(values: np.ndarray) -> np.ndarray:
    return np.asarray(values, dtype=np.int64).astype(str).astype(object)


def pick(table, index: np.ndarray) -> np.ndarray:
    """Object array of table[index] that shares the table's string objects (memory-light)."""
    return np.asarray(list(table), dtype=object)[np.asarray(index)]


def day_names(seconds: np.ndarray) -> np.ndarray:
    # 1970-01-01 was a Thursday (weekday 3)
    dow = ((np.asarray(seconds, dtype=np.int64) // 86_400) + 3) % 7
    return pick(DAY_NAMES, dow)
