"""generate_sample end to end: file names, exact headers, determinism, XLSX, CLI."""

import argparse
import hashlib
import io
import re
from contextlib import redirect_stdout
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from safebeat_assets.sample import SamplePaths, build_sample, generate_sample, write_sample
from safebeat_assets.sample.cli import add_sample_arguments, run_sample

HEADER_25 = (
    "Incident Number,Incident Type,Mental Health Flag,Priority Level,Response Datetime,"
    "Response Day of Week,Response Hour,First Unit Arrived Datetime,Call Closed Datetime,Sector,"
    "Initial Problem Description,Initial Problem Category,Final Problem Description,"
    "Final Problem Category,Number of Units Arrived,Unit Time on Scene,"
    "Call Disposition Description,Report Written Flag,Response Time,"
    "Officer Injured/Killed Count,Subject Injured/Killed Count,Other Injured/Killed Count,"
    "Geo ID,Census Block Group,Council District"
)
HEADER_27 = (
    "Incident Number,Incident Type,Council District,Mental Health Flag,Priority Level,"
    "Response Datetime,Response Year,Response Month,Response Day of Week,Response Hour,"
    "First Unit Arrived Datetime,Call Closed Datetime,Sector,Initial Problem Description,"
    "Initial Problem Category,Final Problem Description,Final Problem Category,"
    "Number of Units Arrived,Unit Time on Scene,Call Disposition Description,"
    "Report Written Flag,Response Time,Officer Injured/Killed Count,"
    "Subject Injured/Killed Count,Other Injured/Killed Count,Geo ID,Census Block Group"
)
EVENTS_HEADER = (
    "FOLDERRSN,FOLDERTYPE,FOLDERNAME,STATUS,TIER_TYPE,EVENT_APPLICANT_ORGANIZATION,START_DATE,"
    "END_DATE,EVENT_SETUP,EVENT_TEARDOWN,EVENT_LENGTH,ALCOHOL_SERVED,AMPLIFIED_SOUND,"
    "ROAD_CLOSURE,TYPE_OF_ROAD_CLOSURE,GPSLATITUDE,GPSLONGITUDE"
)
START, END = "2025-01-01", "2025-03-31"


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def sample(tmp_path_factory) -> SamplePaths:
    out = tmp_path_factory.mktemp("sample25")
    return generate_sample(out, n_calls=4_000, seed=42, start=START, end=END)


def test_paths_and_names(sample):
    assert isinstance(sample, SamplePaths)
    root = sample.calls.parent.parent
    assert sample.calls == root / "calls" / "APD_911_Calls_for_Service_2025-01-01_2025-03-31.csv"
    assert sample.events == root / "events" / "ACE_Events_sample.csv"
    assert sample.block_groups == root / "block_groups" / "tl_2020_48_bg_sample.geojson"
    with pytest.raises(AttributeError):
        sample.calls = root  # frozen


def test_exact_headers_25_and_events(sample):
    lines = sample.calls.read_text(encoding="utf-8").split("\n")
    assert lines[0] == HEADER_25
    assert lines[-1] == "" and len(lines) == 4_000 + 2  # header, rows, trailing newline
    assert "\r" not in lines[1]
    assert sample.events.read_text(encoding="utf-8").split("\n")[0] == EVENTS_HEADER


def test_csv_quotes_thousands_and_reads_back(sample):
    text = sample.calls.read_text(encoding="utf-8")
    assert re.search(r',"\d{1,3},\d{3}",', text)
    frame = pd.read_csv(sample.calls, dtype=str, keep_default_na=False)
    assert len(frame) == 4_000
    assert frame["Response Time"].str.fullmatch(r"\d{1,3}(,\d{3})*").all()
    assert frame["Geo ID"].eq("").any()


def test_layout_27(tmp_path):
    paths = generate_sample(tmp_path, n_calls=1_500, seed=1, start=START, end=END, layout=27)
    assert paths.calls.read_text(encoding="utf-8").split("\n")[0] == HEADER_27
    frame = pd.read_csv(paths.calls, dtype=str, keep_default_na=False)
    rd = pd.to_datetime(frame["Response Datetime"], format="%Y %b %d %I:%M:%S %p")
    assert (frame["Response Year"].astype(int) == rd.dt.year).all()
    assert (frame["Response Month"] == rd.dt.strftime("%b")).all()


def test_same_arguments_give_identical_bytes(sample, tmp_path):
    again = generate_sample(tmp_path / "again", n_calls=4_000, seed=42, start=START, end=END)
    for a, b in ((sample.calls, again.calls), (sample.events, again.events)):
        assert _sha(a) == _sha(b)
    assert _sha(sample.block_groups) == _sha(again.block_groups)
    other = generate_sample(tmp_path / "other", n_calls=4_000, seed=43, start=START, end=END)
    assert _sha(other.calls) != _sha(sample.calls)


def test_xlsx_variant(tmp_path):
    tables = build_sample(n_calls=1_200, seed=2, start=START, end=END)
    paths = write_sample(tables, tmp_path / "a", START, END, calls_format="xlsx")
    assert paths.calls.name == "APD_911_Calls_for_Service_2025-01-01_2025-03-31.xlsx"
    again = write_sample(tables, tmp_path / "b", START, END, calls_format="xlsx")
    assert _sha(paths.calls) == _sha(again.calls)  # fixed zip dates and document timestamps
    wb = openpyxl.load_workbook(paths.calls, read_only=True)
    rows = wb.active.iter_rows(values_only=True)
    header = next(rows)
    assert ",".join(header) == HEADER_25
    first = dict(zip(header, next(rows), strict=True))
    assert hasattr(first["Response Datetime"], "year")
    assert hasattr(first["Call Closed Datetime"], "hour")
    assert isinstance(first["Response Time"], int)
    wb.close()
    frame = pd.read_excel(paths.calls)
    assert len(frame) == 1_200
    assert frame["Geo ID"].dtype == float and frame["Geo ID"].isna().any()
    assert str(frame["Response Datetime"].dtype).startswith("datetime64")
    text = tables.calls
    apd = pd.to_datetime(text["Response Datetime"], format="%Y %b %d %I:%M:%S %p")
    assert (frame["Response Datetime"] == apd).all()
    assert (frame["Priority Level"] == text["Priority Level"]).all()
    assert (frame["Initial Problem Description"] == text["Initial Problem Description"]).all()
    seconds = text["Response Time"].str.replace(",", "").astype(int)
    assert (frame["Response Time"] == seconds).all()


def test_invalid_arguments(tmp_path):
    with pytest.raises(ValueError):
        generate_sample(tmp_path, n_calls=10, layout=26)
    with pytest.raises(ValueError):
        generate_sample(tmp_path, n_calls=10, calls_format="json")
    with pytest.raises(ValueError):
        generate_sample(tmp_path, n_calls=10, start="2025-02-01", end="2025-01-01")


def test_cli_hook(tmp_path):
    parser = add_sample_arguments(argparse.ArgumentParser())
    args = parser.parse_args(
        ["--calls", "800", "--seed", "3", "--out", str(tmp_path), "--start", "2025-03-01",
         "--end", "2025-03-10", "--layout", "27", "--format", "csv"]
    )  # fmt: skip
    buffer = io.StringIO()
    with redirect_stdout(buffer):
        assert run_sample(args) == 0
    out = buffer.getvalue()
    assert "APD_911_Calls_for_Service_2025-03-01_2025-03-10.csv" in out
    assert "800 rows" in out and "ACE_Events_sample.csv" in out and "1,216 features" in out
    assert (tmp_path / "calls" / "APD_911_Calls_for_Service_2025-03-01_2025-03-10.csv").exists()


def test_package_never_imports_dagster():
    package = Path(__file__).resolve().parents[2] / "safebeat_assets" / "sample"
    for source in package.glob("*.py"):
        text = source.read_text(encoding="utf-8")
        assert not re.search(r"^\s*(import|from)\s+dagster", text, re.M), source.name
