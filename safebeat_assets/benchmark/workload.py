"""Benchmark inputs: the Austin-scale landing zone, generated once and reused, and the
"one more day" edit of the calls export."""

import datetime as dt
import json
import shutil
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import pandas as pd

from ..sample import generate_sample

AUSTIN_CALLS = 835_198
FIRST_DAY = "2023-01-01"
LAST_DAY = "2025-12-23"
DATETIME_COLUMNS = ("Response Datetime", "First Unit Arrived Datetime", "Call Closed Datetime")


@dataclass(frozen=True)
class Workload:
    calls: int = AUSTIN_CALLS
    seed: int = 42
    first_day: str = FIRST_DAY
    last_day: str = LAST_DAY


def prepare_source(folder: Path, workload: Workload) -> tuple[Path, float | None]:
    """The generated landing files for `workload` under `folder` (generated only when the
    folder holds another workload or none); returns the folder and the generation seconds."""
    marker = folder / "workload.json"
    if marker.exists() and json.loads(marker.read_text()) == asdict(workload):
        return folder, None
    shutil.rmtree(folder, ignore_errors=True)
    started = time.perf_counter()
    generate_sample(
        folder,
        n_calls=workload.calls,
        seed=workload.seed,
        start=workload.first_day,
        end=workload.last_day,
    )
    marker.write_text(json.dumps(asdict(workload)))
    return folder, time.perf_counter() - started


def reset_landing(source: Path, landing: Path) -> None:
    """The landing zone as generated (undoing an earlier scenario's extra day)."""
    shutil.rmtree(landing, ignore_errors=True)
    shutil.copytree(source, landing, ignore=shutil.ignore_patterns("workload.json"))


def _shift_days(text: pd.Series, days: int) -> pd.Series:
    """APD datetimes (`2025 Dec 17 11:59:59 PM`) moved by whole days; blanks stay blank."""
    prefix, rest = text.str.slice(0, 11), text.str.slice(11)
    moved = {
        day: (dt.datetime.strptime(day, "%Y %b %d") + dt.timedelta(days=days)).strftime("%Y %b %d")
        for day in prefix.unique()
        if day
    }
    return prefix.map(moved).fillna(prefix) + rest


def append_next_day(calls_csv: Path, last_day: str = LAST_DAY) -> tuple[str, int]:
    """Append the day after `last_day` to an APD export: the calls of the same weekday one week
    earlier, moved seven days on (datetimes and incident numbers `yyDDDnnnn` alike). Returns
    the new day and the number of calls added."""
    frame = pd.read_csv(calls_csv, dtype=str, keep_default_na=False)
    new_day = pd.Timestamp(last_day) + pd.Timedelta(days=1)
    template = (new_day - pd.Timedelta(days=7)).strftime("%Y %b %d")
    day = frame[frame["Response Datetime"].str.startswith(template)].copy()
    if day.empty:
        raise ValueError(f"{calls_csv}: no calls on {template} to model the new day on")
    for column in DATETIME_COLUMNS:
        day[column] = _shift_days(day[column], 7)
    day["Incident Number"] = (day["Incident Number"].astype("int64") + 7 * 10_000).astype(str)
    with calls_csv.open("a", encoding="utf-8", newline="") as handle:
        day.to_csv(handle, header=False, index=False)
    return new_day.strftime("%Y-%m-%d"), len(day)
