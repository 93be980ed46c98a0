"""Benchmark measurements -> medians, the printed table and the JSON document (no I/O)."""

import statistics
from typing import Any

# (a) the new day as a daily file beside the export; (b) a full re-export with one more day.
NEW_DAY_FILE = "new-day-file"
NEW_DAY_REEXPORT = "new-day-reexport"
SCENARIOS = ("cold", "no-change", NEW_DAY_FILE, NEW_DAY_REEXPORT)
# The cold scenario from the export's XLSX twin (1x only: the workbook is written once).
XLSX_SCENARIO = "cold-xlsx"
COLD_SCENARIOS = ("cold", XLSX_SCENARIO)
SCHEDULED_SCENARIOS = ("no-change", NEW_DAY_FILE, NEW_DAY_REEXPORT)
# The real daemon on empty storage (scenarios.py); reported when measured. Its target is
# correctness, not speed: every (asset, month) built, and exactly once.
AUTOMATION_SCENARIO = "cold-by-automation"
AUTOMATION_TARGET = "automation_builds_once"
# Targets of issue 13 on the 2-core machine, by scale. At 10x cold is "linear": at most 10.5
# times the 1x figure (taken from the last 1x results when there are some).
TARGET_SECONDS = {
    1: {"cold": 40.0, "no-change": 2.0, NEW_DAY_FILE: 8.0, NEW_DAY_REEXPORT: 15.0},
    10: {"no-change": 3.0, NEW_DAY_FILE: 10.0, NEW_DAY_REEXPORT: 60.0},
}
COLD_LINEAR_FACTOR = 1.05
TARGET_PEAK_MB = {1: 1.5 * 1024, 10: 2.5 * 1024}
TARGET_SPEEDUP = 50.0
TARGET_XLSX_SECONDS = 18.0
TARGET_XLSX_PEAK_MB = 1.5 * 1024
TARGET_HELP_SECONDS = 1.0
TARGET_DEFINITIONS_SECONDS = 3.0


def targets_for(scale: int, cold_1x_seconds: float | None) -> dict[str, float | None]:
    """Seconds per scenario and peak MB at `scale` (the nearest tabled scale below it; cold
    beyond 1x scales linearly from the 1x figure, None when there is none)."""
    tabled = max(s for s in TARGET_SECONDS if s <= scale)
    seconds: dict[str, float | None] = dict(TARGET_SECONDS[tabled])
    if scale > 1:
        linear = COLD_LINEAR_FACTOR * scale * cold_1x_seconds if cold_1x_seconds else None
        seconds["cold"] = round(linear, 1) if linear else None
    return {**seconds, "peak_mb": TARGET_PEAK_MB[tabled]}


def _median(values: list[float]) -> float:
    return round(statistics.median(values), 2)


def summarize(
    repeats: list[dict[str, dict]],
    loads: dict,
    asset_steps: set[str],
    scale: int = 1,
    cold_1x_seconds: float | None = None,
    xlsx_read: dict | None = None,
    startup: dict | None = None,
) -> dict:
    """Medians over the repeats of every scenario's seconds and per-step seconds (asset steps
    by name, check steps summed), the peak memory over all of them, the load comparison, the
    XLSX read and the start-up times, each against its target at `scale`."""
    targets_at = targets_for(scale, cold_1x_seconds)
    measured = [n for n in (*SCENARIOS, XLSX_SCENARIO) if all(n in r for r in repeats)]
    scenarios: dict[str, Any] = {}
    for name in measured:
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
            "target_seconds": targets_at.get("cold" if name == XLSX_SCENARIO else name),
        }
        for key in ("calls_added", "new_day", "fact_rows"):
            if key in runs[-1]:
                scenarios[name][key] = runs[-1][key]
    peak = max(s["peak_rss_mb"] for s in scenarios.values())
    targets: dict[str, bool | None] = {
        n: _within(scenarios[n]["median_seconds"], scenarios[n]["target_seconds"])
        for n in scenarios
    }
    targets["peak_memory"] = peak <= targets_at["peak_mb"]
    # The load comparison is held to its target at 1x only (the issue sets none above it).
    targets["bulk_speedup"] = loads["speedup"] >= TARGET_SPEEDUP if scale == 1 else None
    if xlsx_read is not None:
        targets["xlsx_read"] = (
            xlsx_read["median_seconds"] <= TARGET_XLSX_SECONDS
            and xlsx_read["max_peak_rss_mb"] <= TARGET_XLSX_PEAK_MB
        )
    if startup is not None:
        targets["help_startup"] = startup["help_median_seconds"] < TARGET_HELP_SECONDS
        targets["definitions_load"] = (
            startup["definitions_median_seconds"] < TARGET_DEFINITIONS_SECONDS
        )
    if all(AUTOMATION_SCENARIO in repeat for repeat in repeats):
        by_daemon = _summarize_automation([repeat[AUTOMATION_SCENARIO] for repeat in repeats])
        scenarios[AUTOMATION_SCENARIO] = by_daemon
        targets[AUTOMATION_TARGET] = by_daemon["every_partition_once"]
    return {
        "scale": scale,
        "scenarios": scenarios,
        "peak_rss_mb": peak,
        "target_peak_rss_mb": targets_at["peak_mb"],
        "bulk_vs_row_by_row": loads,
        "xlsx_read": xlsx_read,
        "startup": startup,
        "targets_met": targets,
    }


def _within(value: float, target: float | None) -> bool | None:
    """None when there is no target to compare with (10x cold before any 1x run)."""
    return None if target is None else value <= target


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


def _mark(ok: bool | None) -> str:
    return "n/a" if ok is None else "ok" if ok else "MISSED"


def _target(seconds: float | None, sign: str = "<=") -> str:
    return "-" if seconds is None else f"{sign} {seconds:g}"


def _row(label: str, median: float, runs: list[float], target: str, mark: str, digits=1) -> str:
    """One measure: its median, every run, the target and whether it was met."""
    every = " ".join(f"{v:.{digits}f}" for v in runs)
    return f"{label:<36}{median:>10.{digits}f}  {every:<26}{target:>10}  {mark}"


def format_table(summary: dict, header: str) -> str:
    scenarios, met = summary["scenarios"], summary["targets_met"]
    loads = summary["bulk_vs_row_by_row"]
    lines = [header, ""]
    lines.append(f"{'measure':<36}{'median':>10}  {'all runs':<26}{'target':>10}  result")
    for name in (*SCENARIOS, XLSX_SCENARIO):
        if name not in scenarios:
            continue
        s = scenarios[name]
        lines.append(
            _row(
                f"{name} (s)",
                s["median_seconds"],
                s["seconds"],
                _target(s["target_seconds"]),
                _mark(met[name]),
            )
        )
    peak_gb = summary["peak_rss_mb"] / 1024
    target_gb = summary["target_peak_rss_mb"] / 1024
    lines.append(
        f"{'peak resident memory (GB)':<36}{peak_gb:>10.2f}  {'max over all runs':<26}"
        f"{_target(round(target_gb, 2)):>10}  {_mark(met['peak_memory'])}"
    )
    lines.append(
        f"{'bulk vs row-by-row (x faster)':<36}{loads['speedup']:>10.1f}  "
        f"{format(loads['rows'], ',') + ' rows, median':<26}"
        f"{_target(TARGET_SPEEDUP if met['bulk_speedup'] is not None else None, '>='):>10}  "
        f"{_mark(met['bulk_speedup'])}"
    )
    lines.append(
        f"   row-by-row INSERT, commit/1,000: {loads['row_by_row_seconds']:.1f} s "
        f"({loads['row_by_row_rows_per_second']:,} rows/s); bulk COPY: "
        f"{loads['bulk_seconds']:.2f} s ({loads['bulk_rows_per_second']:,} rows/s); "
        f"bulk re-run of the same rows: {loads['bulk_rerun_same_rows_seconds']:.2f} s, "
        f"{loads['bulk_rerun_rows_written']} rows written"
    )
    xlsx = summary.get("xlsx_read")
    if xlsx is not None:
        lines.append(
            _row(
                "read the XLSX export (s)",
                xlsx["median_seconds"],
                xlsx["seconds"],
                _target(TARGET_XLSX_SECONDS),
                _mark(met["xlsx_read"]),
            )
        )
        lines.append(
            f"   {xlsx['rows']:,} rows x {xlsx['columns']} columns, peak "
            f"{xlsx['max_peak_rss_mb'] / 1024:.2f} GB (target <= 1.5 GB)"
        )
    startup = summary.get("startup")
    if startup is not None:
        for label, key, target, flag in (
            ("safebeat --help (s)", "help", TARGET_HELP_SECONDS, "help_startup"),
            ("load the definitions (s)", "definitions", TARGET_DEFINITIONS_SECONDS,
             "definitions_load"),
        ):  # fmt: skip
            median, runs = startup[f"{key}_median_seconds"], startup[f"{key}_seconds"]
            lines.append(
                _row(label, median, runs, _target(target, "<"), _mark(met[flag]), digits=2)
            )
    by_daemon = scenarios.get(AUTOMATION_SCENARIO)
    if by_daemon is not None:
        lines.append(
            _row(
                "cold by automation (s)",
                by_daemon["median_seconds"],
                by_daemon["seconds"],
                "once each",
                _mark(met[AUTOMATION_TARGET]),
            )
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
    shown = [n for n in (*SCENARIOS, XLSX_SCENARIO) if n in scenarios]
    lines += ["", "Step durations, median seconds (asset steps; checks summed):"]
    steps = sorted(
        {step for n in shown for step in scenarios[n]["asset_step_seconds"]},
        key=lambda step: -scenarios["cold"]["asset_step_seconds"].get(step, 0.0),
    )
    lines.append(f"{'step':<28}" + "".join(f"{n:>18}" for n in shown))
    for step in steps:
        cells = "".join(
            f"{scenarios[n]['asset_step_seconds'][step]:>18.2f}"
            if step in scenarios[n]["asset_step_seconds"]
            else f"{'-':>18}"
            for n in shown
        )
        lines.append(f"{step:<28}{cells}")
    lines.append(
        f"{'(asset checks)':<28}"
        + "".join(f"{scenarios[n]['check_steps_seconds']:>18.2f}" for n in shown)
    )
    lines.append(
        f"{'runs / automation ticks':<28}"
        + "".join(
            f"{str(scenarios[n]['runs']) + ' / ' + str(scenarios[n]['automation_ticks']):>18}"
            for n in shown
        )
    )
    lines.append(
        f"{'peak RSS (MB)':<28}" + "".join(f"{scenarios[n]['peak_rss_mb']:>18.0f}" for n in shown)
    )
    return "\n".join(lines)
