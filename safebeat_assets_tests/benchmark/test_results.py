"""Benchmark bookkeeping: medians, targets and the printed table (pure)."""

from safebeat_assets.benchmark.results import SCENARIOS, format_table, summarize


def scenario(seconds: float, steps: dict[str, float], peak: float) -> dict:
    return {
        "seconds": seconds,
        "process_seconds": seconds + 8,
        "runs": 1,
        "automation_ticks": 1,
        "peak_rss_mb": peak,
        "step_seconds": steps,
        "materializations": {"raw_911_calls": 1},
    }


def repeat(cold: float, peak: float = 2000.0) -> dict:
    return {
        "cold": scenario(
            cold, {"raw_911_calls": 4.0, "fact_911_calls_no_duplicate_calls": 1.5}, peak
        ),
        "no-change": scenario(2.0, {"raw_911_calls": 0.3}, 400.0),
        "one-new-day": scenario(25.0, {"raw_911_calls": 4.1, "call_forecast": 2.0}, 1800.0),
    }


LOADS = {
    "rows": 50_000,
    "row_by_row_seconds": 18.0,
    "row_by_row_rows_per_second": 2778,
    "bulk_seconds": 0.3,
    "bulk_rows_per_second": 166_667,
    "speedup": 60.0,
    "bulk_rerun_same_rows_seconds": 0.5,
    "bulk_rerun_rows_written": 0,
}
ASSETS = {"raw_911_calls", "call_forecast"}


def test_medians_checks_and_targets():
    summary = summarize([repeat(70.0), repeat(90.5), repeat(60.0, peak=3500.0)], LOADS, ASSETS)
    cold = summary["scenarios"]["cold"]
    assert cold["median_seconds"] == 70.0
    assert cold["seconds"] == [70.0, 90.5, 60.0]
    assert cold["asset_step_seconds"] == {"raw_911_calls": 4.0}
    assert cold["check_steps_seconds"] == 1.5
    assert summary["peak_rss_mb"] == 3500.0
    assert summary["targets_met"] == {
        "cold": True,
        "no-change": True,
        "one-new-day": True,
        "peak_memory": False,
        "bulk_speedup": True,
    }


def test_table_shows_all_five_figures():
    summary = summarize([repeat(95.0)], LOADS, ASSETS)
    table = format_table(summary, "header line")
    assert table.startswith("header line")
    for name in SCENARIOS:
        assert f"{name} (s)" in table
    assert "95.0" in table and "MISSED" in table  # the cold target is 90 s
    assert "peak resident memory" in table and "1.95" in table
    assert "bulk vs row-by-row" in table and "60.0" in table
    assert "call_forecast" in table and "(asset checks)" in table
