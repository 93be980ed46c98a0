"""`safebeat bench` end to end on a small workload: every scenario in its own process against the
embedded warehouse (cold by automation under the real daemon), the load comparison, the table and
the JSON document."""

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
    for label in (
        "cold (s)",
        "no-change (s)",
        "new-day-file (s)",
        "new-day-reexport (s)",
        "cold-xlsx (s)",
        "peak resident memory",
        "read the XLSX export (s)",
        "safebeat --help (s)",
        "load the definitions (s)",
        "cold by automation (s)",
    ):
        assert label in printed
    assert "bulk vs row-by-row" in printed
    assert "at most 1 per asset-partition, 0 not built" in printed

    summary = json.loads((out / "latest.json").read_text())
    scenarios = summary["scenarios"]
    cold, same = scenarios["cold"], scenarios["no-change"]
    daily_file, reexport = scenarios["new-day-file"], scenarios["new-day-reexport"]
    assert (
        cold["materializations"]["fact_911_calls"] == cold["materializations"]["cleaned_911_calls"]
    )
    # Identical input: the schedule's run reads the raw files' hashes and nothing else runs.
    assert "raw_911_calls" not in same["materializations"] and same["runs"] == 1
    # One more day, as a daily file (a) and then in a full re-export (b): its month once,
    # then the models, risk scores and report once each.
    for one_day in (daily_file, reexport):
        assert one_day["calls_added"] > 0
        assert one_day["materializations"]["cleaned_911_calls"] == 1
        assert one_day["materializations"]["fact_911_calls"] == 1
        assert one_day["materializations"]["daily_report"] == 1
    # (an exact duplicate copied from the template day would be dropped by cleaning)
    assert cold["fact_rows"] < daily_file["fact_rows"] < reexport["fact_rows"]
    assert (
        reexport["fact_rows"]
        <= cold["fact_rows"] + daily_file["calls_added"] + reexport["calls_added"]
    )
    # Every asset step is listed by its step (a multi-asset's op), none among the checks.
    assert "event_day_aggregates" in cold["asset_step_seconds"]
    assert "event_day_aggregates" in daily_file["asset_step_seconds"]
    # The same calls from the XLSX twin of the export.
    assert scenarios["cold-xlsx"]["fact_rows"] == cold["fact_rows"]
    assert summary["xlsx_read"]["rows"] == 3000
    assert summary["startup"]["definitions_median_seconds"] > 0
    # The daemon alone on empty storage: every asset and month, each exactly once, and the same
    # warehouse as the cold job.
    by_daemon = scenarios["cold-by-automation"]
    assert by_daemon["median_seconds"] > 0 and by_daemon["runs"] > 1
    assert by_daemon["every_partition_once"] and summary["targets_met"]["automation_builds_once"]
    assert by_daemon["unbuilt_asset_partitions"] == 0 and by_daemon["max_per_asset_partition"] == 1
    assert by_daemon["materializations_total"] == by_daemon["asset_partitions"]
    assert by_daemon["materializations"]["daily_report"] == 1
    assert by_daemon["fact_rows"] == cold["fact_rows"]
    loads = summary["bulk_vs_row_by_row"]
    assert loads["rows"] == 500 and loads["speedup"] > 1
    assert summary["peak_rss_mb"] > 0 and set(summary["targets_met"]) >= {"cold", "bulk_speedup"}
