"""`safebeat bench` end to end on a small workload: every scenario in its own process against the
embedded warehouse, the load comparison, the table and the JSON document."""

import json

import pytest

from safebeat_assets.benchmark.main import main as bench_main


@pytest.mark.e2e
def test_bench_prints_and_writes_all_five_figures(tmp_path, capsys):
    out = tmp_path / "results"
    code = bench_main(
        [
            "--calls", "3000",
            "--repeats", "1",
            "--load-rows", "500",
            "--workdir", str(tmp_path / "bench"),
            "--out", str(out),
        ]
    )  # fmt: skip
    assert code == 0
    printed = capsys.readouterr().out
    for label in ("cold (s)", "no-change (s)", "one-new-day (s)", "peak resident memory"):
        assert label in printed
    assert "bulk vs row-by-row" in printed

    summary = json.loads((out / "latest.json").read_text())
    scenarios = summary["scenarios"]
    cold, same, one_day = scenarios["cold"], scenarios["no-change"], scenarios["one-new-day"]
    assert (
        cold["materializations"]["fact_911_calls"] == cold["materializations"]["cleaned_911_calls"]
    )
    # Identical input: the schedule's run reads the raw files' hashes and nothing else runs.
    assert "raw_911_calls" not in same["materializations"] and same["runs"] == 1
    # One more day: its month once, then the models, risk scores and report once each.
    assert one_day["calls_added"] > 0
    assert one_day["materializations"]["cleaned_911_calls"] == 1
    assert one_day["materializations"]["fact_911_calls"] == 1
    assert one_day["materializations"]["daily_report"] == 1
    # (an exact duplicate copied from the template day would be dropped by cleaning)
    assert cold["fact_rows"] < one_day["fact_rows"] <= cold["fact_rows"] + one_day["calls_added"]
    loads = summary["bulk_vs_row_by_row"]
    assert loads["rows"] == 500 and loads["speedup"] > 1
    assert summary["peak_rss_mb"] > 0 and set(summary["targets_met"]) >= {"cold", "bulk_speedup"}
