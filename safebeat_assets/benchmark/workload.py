"""Benchmark inputs: the Austin-scale landing zone (or a multiple of it), generated once and
reused, and the two ways one more day arrives: as a daily file beside the export, or inside a
full re-export.

Scale: 1x is 835,198 calls over 2023-01-01..2025-12-23 (Austin, about three years). N x is N
times the calls over the same geography with N times the history at Austin's density (1x ends
the same day; each older three-year window is generated with its own seed), so a month holds
as many calls at every scale and only the number of months grows. Denser days would break the
APD incident number (`yyDDDnnnn` has four digits for the day's sequence).
"""

import csv
import datetime as dt
import json
import shutil
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv

from ..sample import generate_sample

AUSTIN_CALLS = 835_198
FIRST_DAY = "2023-01-01"
LAST_DAY = "2025-12-23"
DATETIME_COLUMNS = ("Response Datetime", "First Unit Arrived Datetime", "Call Closed Datetime")
_CALLS_FILE_PREFIX = "APD_911_Calls_for_Service_"
# FOLDERRSN offset per older generated window (one window's numbers span about 10^6).
_PERMIT_RANGE = 10_000_000


@dataclass(frozen=True)
class Workload:
    calls: int = AUSTIN_CALLS
    seed: int = 42
    first_day: str = FIRST_DAY
    last_day: str = LAST_DAY
    scale: int = 1

    @classmethod
    def at_scale(cls, scale: int) -> "Workload":
        """`scale` times Austin: as many three-year windows of Austin's calls, ending
        LAST_DAY."""
        if scale < 1:
            raise ValueError(f"scale must be a positive integer, not {scale}")
        first = _window_start(scale - 1)
        return cls(calls=AUSTIN_CALLS * scale, first_day=first, scale=scale)

    @property
    def partition_start(self) -> str:
        return self.first_day[:7]


def _window_days() -> int:
    return (dt.date.fromisoformat(LAST_DAY) - dt.date.fromisoformat(FIRST_DAY)).days + 1


def _window_start(index: int) -> str:
    """First day of the index-th three-year window back from LAST_DAY (0 = FIRST_DAY)."""
    return (
        dt.date.fromisoformat(FIRST_DAY) - dt.timedelta(days=index * _window_days())
    ).isoformat()


def _window_end(index: int) -> str:
    return (dt.date.fromisoformat(LAST_DAY) - dt.timedelta(days=index * _window_days())).isoformat()


def prepare_source(folder: Path, workload: Workload) -> tuple[Path, float | None]:
    """The generated landing files for `workload` under `folder` (generated only when the
    folder holds another workload or none); returns the folder and the generation seconds."""
    marker = folder / "workload.json"
    if marker.exists() and json.loads(marker.read_text()) == asdict(workload):
        return folder, None
    shutil.rmtree(folder, ignore_errors=True)
    started = time.perf_counter()
    if workload.scale == 1:
        generate_sample(
            folder,
            n_calls=workload.calls,
            seed=workload.seed,
            start=workload.first_day,
            end=workload.last_day,
        )
    else:
        _generate_history(folder, workload)
    marker.write_text(json.dumps(asdict(workload)))
    return folder, time.perf_counter() - started


def _generate_history(folder: Path, workload: Workload) -> None:
    """One export of `workload.scale` three-year windows, oldest first (window 0 is exactly
    the 1x export), one permit file, the 1x block groups; one window in memory at a time."""
    from ..sample.calls import generate_calls
    from ..sample.events import generate_events
    from ..sample.generate import BLOCK_GROUPS_FILE_NAME, EVENTS_FILE_NAME, calls_file_name
    from ..sample.geography import generate_block_groups
    from ..sample.writers import (
        calls_for_layout,
        write_block_groups_geojson,
        write_events_csv,
    )

    per_window = workload.calls // workload.scale
    block_groups = generate_block_groups(workload.seed)
    write_block_groups_geojson(block_groups, folder / "block_groups" / BLOCK_GROUPS_FILE_NAME)
    calls_path = folder / "calls" / calls_file_name(workload.first_day, workload.last_day)
    calls_path.parent.mkdir(parents=True, exist_ok=True)
    permits = []
    windows = range(workload.scale - 1, -1, -1)  # oldest first: the export is in time order
    for written, index in enumerate(windows):
        seed, start, end = workload.seed + index, _window_start(index), _window_end(index)
        events = generate_events(block_groups, seed, start, end)
        calls = generate_calls(per_window, block_groups, events, seed, start, end)
        calls_for_layout(calls).to_csv(
            calls_path, mode="a", header=written == 0, index=False, lineterminator="\n",
            encoding="utf-8",
        )  # fmt: skip
        permits.append((index, events))
        del calls
    # FOLDERRSN must stay unique: an older window's permits get their own range of numbers
    # (the newest window keeps the 1x numbers).
    renumbered = [
        events.assign(
            FOLDERRSN=(pd.to_numeric(events["FOLDERRSN"]) + index * _PERMIT_RANGE).astype(str)
        )
        for index, events in permits
    ]
    all_events = pd.concat(renumbered, ignore_index=True)
    write_events_csv(all_events, folder / "events" / EVENTS_FILE_NAME)


def reset_landing(source: Path, landing: Path, calls_format: str = "csv") -> None:
    """The landing zone as generated (undoing an earlier scenario's extra days); with
    `calls_format="xlsx"`, the export's workbook twin (written once beside the CSV) instead of
    the CSV."""
    shutil.rmtree(landing, ignore_errors=True)
    shutil.copytree(
        source, landing, ignore=shutil.ignore_patterns("workload.json", "*.xlsx", "*.xlsx.part")
    )
    if calls_format == "xlsx":
        export = calls_export(landing / "calls")
        workbook = export_workbook(source)
        export.unlink()
        shutil.copy(workbook, landing / "calls" / workbook.name)


def calls_export(calls_dir: Path) -> Path:
    """The (single) full CSV export in a calls folder: the oldest-starting file."""
    files = sorted(calls_dir.glob(f"{_CALLS_FILE_PREFIX}*.csv"))
    if not files:
        raise FileNotFoundError(f"no APD calls export in {calls_dir}")
    return files[0]


def export_workbook(source: Path) -> Path:
    """The XLSX twin of the generated CSV export, written once (like the CSV) and reused."""
    from ..sample.workbook import write_calls_workbook

    export = calls_export(source / "calls")
    workbook = export.with_suffix(".xlsx")
    if not workbook.exists():
        partial = workbook.with_suffix(".xlsx.part")
        write_calls_workbook(export, partial)
        partial.rename(workbook)
    return workbook


def _shift_days(text: pd.Series, days: int) -> pd.Series:
    """APD datetimes (`2025 Dec 17 11:59:59 PM`) moved by whole days; blanks stay blank."""
    prefix, rest = text.str.slice(0, 11), text.str.slice(11)
    moved = {
        day: (dt.datetime.strptime(day, "%Y %b %d") + dt.timedelta(days=days)).strftime("%Y %b %d")
        for day in prefix.unique()
        if day
    }
    return prefix.map(moved).fillna(prefix) + rest


def _rows_of_day(calls_csvs: list[Path], day: pd.Timestamp) -> pd.DataFrame:
    """The calls of `day` in APD exports, as text, streamed: a 2 GB export never sits in
    memory, only the day's rows become Python objects."""
    prefix = day.strftime("%Y %b %d")
    found = []
    for path in calls_csvs:
        with path.open(encoding="utf-8", newline="") as handle:
            names = next(csv.reader(handle))
        reader = pa_csv.open_csv(
            path,
            read_options=pa_csv.ReadOptions(block_size=64 << 20),
            convert_options=pa_csv.ConvertOptions(
                strings_can_be_null=False, column_types=dict.fromkeys(names, pa.string())
            ),
        )
        for batch in reader:
            hits = pc.starts_with(batch.column(names.index("Response Datetime")), prefix)
            if pc.any(hits).as_py():
                found.append(pa.Table.from_batches([batch.filter(hits)]))
    if not found:
        return pd.DataFrame()
    return pa.concat_tables(found).to_pandas()


def next_day_rows(calls_csvs: list[Path], new_day: pd.Timestamp) -> pd.DataFrame:
    """The calls of `new_day`: those of the same weekday one week earlier, moved seven days on
    (datetimes and incident numbers `yyDDDnnnn` alike)."""
    template = new_day - pd.Timedelta(days=7)
    day = _rows_of_day(calls_csvs, template)
    if day.empty:
        raise ValueError(f"{calls_csvs}: no calls on {template:%Y-%m-%d} to model the new day on")
    for column in DATETIME_COLUMNS:
        day[column] = _shift_days(day[column], 7)
    day["Incident Number"] = (day["Incident Number"].astype("int64") + 7 * 10_000).astype(str)
    return day


def append_next_day(calls_csv: Path, last_day: str = LAST_DAY) -> tuple[str, int]:
    """Append the day after `last_day` to an APD export (see `next_day_rows`). Returns the new
    day and the number of calls added."""
    new_day = pd.Timestamp(last_day) + pd.Timedelta(days=1)
    day = next_day_rows([calls_csv], new_day)
    with calls_csv.open("a", encoding="utf-8", newline="") as handle:
        day.to_csv(handle, header=False, index=False, lineterminator="\n")
    return new_day.strftime("%Y-%m-%d"), len(day)


def add_daily_file(calls_dir: Path, last_day: str) -> tuple[str, int]:
    """Scenario (a), the daily feed: the day after `last_day` lands as a file of its own
    (`APD_911_Calls_for_Service_<day>_<day>.csv`) beside the export."""
    new_day = pd.Timestamp(last_day) + pd.Timedelta(days=1)
    day = next_day_rows(sorted(calls_dir.glob("*.csv")), new_day)
    name = f"{_CALLS_FILE_PREFIX}{new_day:%Y-%m-%d}_{new_day:%Y-%m-%d}.csv"
    day.to_csv(calls_dir / name, index=False, lineterminator="\n", encoding="utf-8")
    return new_day.strftime("%Y-%m-%d"), len(day)


def replace_with_reexport(calls_dir: Path, first_day: str, last_day: str) -> tuple[str, int]:
    """Scenario (b), a full re-export: every calls file in the folder (the export and any daily
    files, in name order) plus the day after `last_day`, as one new export named for its range;
    the old files are removed. Bytes are copied, not parsed: only the template day is read."""
    files = sorted(calls_dir.glob("*.csv"))
    new_day = pd.Timestamp(last_day) + pd.Timedelta(days=1)
    day = next_day_rows(files, new_day)
    target = calls_dir / f"{_CALLS_FILE_PREFIX}{first_day}_{new_day:%Y-%m-%d}.csv.part"
    with target.open("wb") as out:
        for number, path in enumerate(files):
            with path.open("rb") as handle:
                if number:
                    handle.readline()  # the header, written once
                shutil.copyfileobj(handle, out, 16 << 20)
        out.write(day.to_csv(header=False, index=False, lineterminator="\n").encode("utf-8"))
    for path in files:
        path.unlink()
    target.rename(target.with_suffix(""))
    return new_day.strftime("%Y-%m-%d"), len(day)
