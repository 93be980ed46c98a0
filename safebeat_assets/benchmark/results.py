"""Benchmark measurements -> medians, the printed table and the JSON document (no I/O)."""

import statistics
from typing import Any

SCENARIOS = ("cold", "no-change", "one-new-day")
# The real daemon on empty storage (scenarios.py); reported when measured. Its target is
# correctness, not speed: every (asset, month) built, and exactly once.
AUTOMATION_SCENARIO = "cold-by-automation"
AUTOMATION_TARGET = "automation_builds_once"
TARGET_SECONDS = {"cold": 90.0, "no-change": 15.0, "one-new-day": 30.0}
TARGET_PEAK_MB = 3 * 1024
TARGET_SPEEDUP = 50.0


def _median(values: list[float]) -> float:
    return round(statistics.median(values), 2)


def summarize(repeats: list[dict[str, dict]], loads: dict, asset_steps: set[str]) -> dict:
    """Medians over the repeats of every scenario's seconds and per-step seconds (asset steps
    by name, check steps summed), the peak memory over all of them, and the load comparison."""
    scenarios: dict[str, Any] = {}
    for name in SCENARIOS:
        runs = [repeat[name] for repeat in repeats]
        steps = sorted({step for run in runs for step in run["step_seconds"]})
        per_step = {
            step: _median([run["step_seconds"].get(step, 0.0) for run in runs])
            for step in steps
            if step in asset_steps
        }
        checks = [
            sum(v for k, v in run["step_seconds"].items() if k not in asset_steps) for run in runs
        ]
        scenarios[name] = {
            "median_seconds": _median([run["seconds"] for run in runs]),
            "seconds": [run["seconds"] for run in runs],
            "process_seconds": [run["process_seconds"] for run in runs],
            "runs": runs[-1]["runs"],
            "automation_ticks": runs[-1]["automation_ticks"],
            "peak_rss_mb": max(run["peak_rss_mb"] for run in runs),
            "asset_step_seconds": per_step,
            "check_steps_seconds": _median(checks),
            "materializations": runs[-1]["materializations"],
            "target_seconds": TARGET_SECONDS[name],
        }
        for key in ("calls_added", "new_day", "fact_rows"):
            if key in runs[-1]:
                scenarios[name][key] = runs[-1][key]
    peak = max(s["peak_rss_mb"] for s in scenarios.values())
    targets = {
        **{n: scenarios[n]["median_seconds"] <= TARGET_SECONDS[n] for n in SCENARIOS},
        "peak_memory": peak <= TARGET_PEAK_MB,
        "bulk_speedup": loads["speedup"] >= TARGET_SPEEDUP,
    }
    if all(AUTOMATION_SCENARIO in repeat for repeat in repeats):
        by_daemon = _summarize_automation([repeat[AUTOMATION_SCENARIO] for repeat in repeats])
        scenarios[AUTOMATION_SCENARIO] = by_daemon
        targets[AUTOMATION_TARGET] = by_daemon["every_partition_once"]
    return {
        "scenarios": scenarios,
        "peak_rss_mb": peak,
        "bulk_vs_row_by_row": loads,
        "targets_met": targets,
    }


def _summarize_automation(runs: list[dict]) -> dict:
    """Cold by the daemon: wall time (daemon start to the last run's end), runs, and how often
    each (asset, month) was built, over all repeats."""
    built = [run["by_automation"] for run in runs]
    return {
        "median_seconds": _median([run["seconds"] for run in runs]),
        "seconds": [run["seconds"] for run in runs],
        "process_seconds": [run["process_seconds"] for run in runs],
        "runs": runs[-1]["runs"],
        "tick_seconds": built[-1]["tick_seconds"],
        "materializations": runs[-1]["materializations"],
        "step_seconds": runs[-1]["step_seconds"],  # summed over the runs (checks included)
        "materializations_total": built[-1]["total"],
        "asset_partitions": built[-1]["asset_partitions"],
        "max_per_asset_partition": max(b["max_per_asset_partition"] for b in built),
        "unbuilt_asset_partitions": max(b["unbuilt_asset_partitions"] for b in built),
        "built_more_than_once": sorted({k for b in built for k in b["built_more_than_once"]}),
        "every_partition_once": all(
            b["max_per_asset_partition"] == 1 and b["unbuilt_asset_partitions"] == 0 for b in built
        ),
        "fact_rows": runs[-1].get("fact_rows"),
    }


def _mark(ok: bool) -> str:
    return "ok" if ok else "MISSED"


def format_table(summary: dict, header: str) -> str:
    scenarios, met = summary["scenarios"], summary["targets_met"]
    loads = summary["bulk_vs_row_by_row"]
    lines = [header, ""]
    lines.append(f"{'measure':<34}{'median':>10}  {'all runs':<26}{'target':>10}  result")
    for name in SCENARIOS:
        s = scenarios[name]
        runs = " ".join(f"{v:.1f}" for v in s["seconds"])
        lines.append(
            f"{'1-3. ' + name + ' (s)':<34}{s['median_seconds']:>10.1f}  {runs:<26}"
            f"{'<= ' + format(s['target_seconds'], '.0f'):>10}  {_mark(met[name])}"
        )
    by_daemon = scenarios.get(AUTOMATION_SCENARIO)
    peak_gb = summary["peak_rss_mb"] / 1024
    lines.append(
        f"{'4. peak resident memory (GB)':<34}{peak_gb:>10.2f}  {'max over all runs':<26}"
        f"{'<= 3':>10}  {_mark(met['peak_memory'])}"
    )
    lines.append(
        f"{'5. bulk vs row-by-row (x faster)':<34}{loads['speedup']:>10.1f}  "
        f"{format(loads['rows'], ',') + ' rows, once':<26}{'>= 50':>10}  {_mark(met['bulk_speedup'])}"
    )
    lines.append(
        f"   row-by-row INSERT, commit/1,000: {loads['row_by_row_seconds']:.1f} s "
        f"({loads['row_by_row_rows_per_second']:,} rows/s); bulk COPY: "
        f"{loads['bulk_seconds']:.2f} s ({loads['bulk_rows_per_second']:,} rows/s); "
        f"bulk re-run of the same rows: {loads['bulk_rerun_same_rows_seconds']:.2f} s, "
        f"{loads['bulk_rerun_rows_written']} rows written"
    )
    if by_daemon is not None:
        runs = " ".join(f"{v:.1f}" for v in by_daemon["seconds"])
        lines.append(
            f"{'6. cold by automation (s)':<34}{by_daemon['median_seconds']:>10.1f}  {runs:<26}"
            f"{'once each':>10}  {_mark(met[AUTOMATION_TARGET])}"
        )
        lines.append(
            f"   daemon only (ticks every {by_daemon['tick_seconds']} s, landing sensor 30 s): "
            f"{by_daemon['runs']} runs, {by_daemon['materializations_total']} materializations "
            f"of {by_daemon['asset_partitions']} asset-partitions, at most "
            f"{by_daemon['max_per_asset_partition']} per asset-partition, "
            f"{by_daemon['unbuilt_asset_partitions']} not built"
            + (
                f"; more than once: {', '.join(by_daemon['built_more_than_once'])}"
                if by_daemon["built_more_than_once"]
                else ""
            )
        )
    lines += ["", "4. Step durations, median seconds (asset steps; checks summed):"]
    steps = sorted(
        {step for n in SCENARIOS for step in scenarios[n]["asset_step_seconds"]},
        key=lambda step: -scenarios["cold"]["asset_step_seconds"].get(step, 0.0),
    )
    lines.append(f"{'step':<28}" + "".join(f"{n:>14}" for n in SCENARIOS))
    for step in steps:
        cells = "".join(
            f"{scenarios[n]['asset_step_seconds'][step]:>14.2f}"
            if step in scenarios[n]["asset_step_seconds"]
            else f"{'-':>14}"
            for n in SCENARIOS
        )
        lines.append(f"{step:<28}{cells}")
    lines.append(
        f"{'(asset checks)':<28}"
        + "".join(f"{scenarios[n]['check_steps_seconds']:>14.2f}" for n in SCENARIOS)
    )
    lines.append(
        f"{'runs / automation ticks':<28}"
        + "".join(
            f"{str(scenarios[n]['runs']) + ' / ' + str(scenarios[n]['automation_ticks']):>14}"
            for n in SCENARIOS
        )
    )
    lines.append(
        f"{'peak RSS (MB)':<28}"
        + "".join(f"{scenarios[n]['peak_rss_mb']:>14.0f}" for n in SCENARIOS)
    )
    return "\n".join(lines)
