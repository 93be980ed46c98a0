"""measure_xlsx_read and write_calls_workbook on a tiny generated export (no timings asserted)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from safebeat_assets.benchmark.xlsx import measure_xlsx_read
from safebeat_assets.sample import generate_sample
from safebeat_assets.sample.workbook import write_calls_workbook
from safebeat_assets.sources import read_apd_calls
from safebeat_assets.sources.apd_calls import read_apd_calls_table


@pytest.fixture(scope="module")
def exports(tmp_path_factory):
    folder = tmp_path_factory.mktemp("xlsx-measure")
    csv = generate_sample(folder / "sample", n_calls=300, seed=3).calls
    return csv, write_calls_workbook(csv, folder / "calls.xlsx")


def test_workbook_holds_the_csv_rows(exports):
    csv, workbook = exports
    from_csv, from_xlsx = read_apd_calls(csv), read_apd_calls(workbook)
    assert len(from_xlsx) == len(from_csv) == 300
    assert from_xlsx["incident_number"].tolist() == from_csv["incident_number"].tolist()
    assert from_xlsx["sector"].tolist() == from_csv["sector"].tolist()
    assert from_xlsx["response_datetime"].str.match(r"^\d{4}-\d\d-\d\d( \d\d:\d\d:\d\d)?$").all()


def test_writer_refuses_a_csv_that_is_not_an_apd_export(tmp_path):
    other = tmp_path / "other.csv"
    other.write_text("a,b\n1,2\n")
    with pytest.raises(ValueError, match="not an APD calls export header"):
        write_calls_workbook(other, tmp_path / "other.xlsx")


def test_measure_runs_each_read_in_its_own_process(exports):
    _, workbook = exports
    result = measure_xlsx_read(workbook, repeats=2)
    table = read_apd_calls_table(workbook)
    assert (result["rows"], result["columns"]) == (table.num_rows, table.num_columns)
    assert len(result["seconds"]) == len(result["peak_rss_mb"]) == 2
    assert result["median_seconds"] > 0
    assert result["max_peak_rss_mb"] == max(result["peak_rss_mb"]) > 0
    assert len(result["cpu_seconds"]) == 2


def test_module_prints_the_measurement(exports):
    _, workbook = exports
    done = subprocess.run(
        [sys.executable, "-m", "safebeat_assets.benchmark.xlsx", str(workbook), "1"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert json.loads(done.stdout)["rows"] == 300
