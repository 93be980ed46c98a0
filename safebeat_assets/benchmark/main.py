"""`safebeat bench` / `make bench`: generate the Austin-scale inputs (or `--scale N` times them)
once, then per repeat run cold, no-change, one new day as a daily file (a), one more day in a
full re-export (b), cold from the XLSX export (1x), each in its own process, and cold by
automation (the real daemon on empty storage; 1x); then compare the row-by-row load with the
bulk load, read the XLSX export alone, time the start-up; print the table and write the JSON
document (`latest.json` at 1x, `latest-x<N>.json` at N x)."""

import argparse
import datetime as dt
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from pathlib import Path

from .. import quiet
from ..settings import (
    ENV_DATA_DIR,
    ENV_LANDING_DIR,
    ENV_PARTITION_START,
    ENV_PROFILE,
    ENV_WAREHOUSE_URL,
    PROJECT_ROOT,
    load_settings,
)
from ..storage.embedded import ensure_embedded_server, stop_embedded_server
from ..storage.tables import FACT_911_CALLS
from ..storage.warehouse import Warehouse
from .results import (
    AUTOMATION_SCENARIO,
    NEW_DAY_FILE,
    NEW_DAY_REEXPORT,
    XLSX_SCENARIO,
    format_table,
    summarize,
)
from .rowload import SLICE_ROWS, compare_loads
from .workload import (
    AUSTIN_CALLS,
    Workload,
    add_daily_file,
    export_workbook,
    prepare_source,
    replace_with_reexport,
    reset_landing,
)


def machine() -> dict:
    cpu = "unknown"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    memory_gb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1024**3
    from importlib.metadata import version

    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gb": round(memory_gb, 1),
        "os": platform.platform(),
        "python": platform.python_version(),
        "packages": {
            name: version(name) for name in ("dagster", "pandas", "pyarrow", "psycopg2-binary")
        },
    }


class Bench:
    def __init__(self, workdir: Path, workload: Workload):
        self.workdir = workdir.resolve()
        self.workload = workload
        self.data_dir = self.workdir / "data"
        self.landing = self.workdir / "landing"
        self.logs = self.workdir / "logs"
        self.env = {
            **os.environ,
            ENV_PROFILE: "local",
            ENV_DATA_DIR: str(self.data_dir),
            ENV_LANDING_DIR: str(self.landing),
            # More history at higher scales: the monthly partitions start with it.
            ENV_PARTITION_START: workload.partition_start,
        }
        self.env.pop(ENV_WAREHOUSE_URL, None)  # the embedded warehouse, by definition
        self.settings = load_settings(self.env)
        # Scenario processes import the definitions as soon as they start.
        self.env = quiet.child_environment(self.env, self.workdir / "python-startup")

    def warehouse(self) -> Warehouse:
        return Warehouse(ensure_embedded_server(self.data_dir), self.settings.warehouse_schema)

    def empty_storage(self) -> None:
        """Cold start: no lake objects, no Dagster history, no warehouse tables."""
        shutil.rmtree(self.data_dir / "lake", ignore_errors=True)
        shutil.rmtree(self.data_dir / "dagster_home", ignore_errors=True)
        (self.workdir / "state.json").unlink(missing_ok=True)
        self.warehouse().drop_schema()

    def scenario(self, name: str, repeat: int) -> dict:
        result_file = self.workdir / f"{name}.json"
        log_file = self.logs / f"{repeat}-{name}.log"
        started = time.perf_counter()
        with log_file.open("w") as log:
            done = subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "safebeat_assets.benchmark.scenarios",
                    name,
                    str(self.workdir / "state.json"),
                    str(result_file),
                ],
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                check=False,
            )
        if done.returncode != 0:
            tail = log_file.read_text().splitlines()[-30:]
            raise RuntimeError(f"scenario {name} failed (log {log_file}):\n" + "\n".join(tail))
        result = json.loads(result_file.read_text())
        result["process_seconds"] = round(time.perf_counter() - started, 2)
        result["fact_rows"] = self.warehouse().fetch_one(
            "SELECT count(*) FROM {fact}", fact=FACT_911_CALLS.name
        )[0]
        if "by_automation" in result:
            built = result["by_automation"]
            print(
                f"  repeat {repeat} {name:<12} {result['seconds']:7.1f} s from the daemon's start "
                f"to its last run's end ({result['process_seconds']:.1f} s with start-up and the "
                f"idle check), {result['runs']} run(s), {built['total']} materializations, "
                f"at most {built['max_per_asset_partition']} per asset-partition",
                flush=True,
            )
            return result
        print(
            f"  repeat {repeat} {name:<12} {result['seconds']:7.1f} s in the process "
            f"({result['process_seconds']:.1f} s with start-up), {result['runs']} run(s), "
            f"peak {result['peak_rss_mb']:.0f} MB",
            flush=True,
        )
        return result

    def repeat(self, source: Path, number: int, xlsx: bool, automation: bool) -> dict[str, dict]:
        self.empty_storage()
        reset_landing(source, self.landing)
        results = {"cold": self.scenario("cold", number)}
        results["no-change"] = self.scenario("no-change", number)
        calls = self.landing / "calls"
        # (a) the daily feed: the next day lands as a file of its own beside the export.
        new_day, added = add_daily_file(calls, self.workload.last_day)
        results[NEW_DAY_FILE] = self.scenario(NEW_DAY_FILE, number)
        results[NEW_DAY_FILE].update(new_day=new_day, calls_added=added)
        # (b) a full re-export replacing both files, holding one more day again.
        new_day, added = replace_with_reexport(calls, self.workload.first_day, new_day)
        results[NEW_DAY_REEXPORT] = self.scenario(NEW_DAY_REEXPORT, number)
        results[NEW_DAY_REEXPORT].update(new_day=new_day, calls_added=added)
        if xlsx:
            self.empty_storage()
            reset_landing(source, self.landing, calls_format="xlsx")
            results[XLSX_SCENARIO] = self.scenario(XLSX_SCENARIO, number)
        if automation:
            # Cold again, by the daemon alone: the landing files as generated, empty storage.
            self.empty_storage()
            reset_landing(source, self.landing)
            results[AUTOMATION_SCENARIO] = self.scenario(AUTOMATION_SCENARIO, number)
        return results


def asset_step_names() -> set[str]:
    """The step keys of the asset ops: an asset's name, or a multi-asset's op name (its assets
    share one step), so that no asset step is counted among the checks."""
    from ..definitions import build_definitions

    repository = build_definitions(load_settings()).get_repository_def()
    return {
        assets_def.node_def.name
        for assets_def in repository.assets_defs_by_key.values()
        if assets_def.is_executable
    }


def _cold_1x_seconds(out: Path) -> float | None:
    """Cold at 1x from the last full-size 1x results, the base of the linear 10x target."""
    path = out / "latest.json"
    if not path.exists():
        return None
    summary = json.loads(path.read_text())
    if summary.get("scale", 1) != 1 or summary.get("workload", {}).get("calls") != AUSTIN_CALLS:
        return None
    return summary["scenarios"]["cold"]["median_seconds"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="safebeat bench", description=__doc__)
    parser.add_argument(
        "--scale",
        type=int,
        default=1,
        help="N times Austin: N x 835,198 calls, N times the history at Austin's density",
    )
    parser.add_argument(
        "--calls", type=int, default=None, help="total calls instead of 835,198 x scale"
    )
    parser.add_argument("--repeats", type=int, default=None, help="3 at 1x, 1 above")
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument("--out", type=Path, default=PROJECT_ROOT / "bench-results")
    parser.add_argument("--load-rows", type=int, default=SLICE_ROWS)
    parser.add_argument(
        "--xlsx",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="cold from the XLSX export and the XLSX read alone (default: at 1x only)",
    )
    parser.add_argument(
        "--automation",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="cold by the real daemon (default: at 1x only)",
    )
    parser.add_argument(
        "--strict", action="store_true", help="exit with status 1 when a target is missed"
    )
    args = parser.parse_args(argv)

    workload = Workload.at_scale(args.scale)
    if args.calls is not None:
        workload = Workload(calls=args.calls, first_day=workload.first_day, scale=workload.scale)
    repeats = args.repeats or (3 if args.scale == 1 else 1)
    xlsx = args.scale == 1 if args.xlsx is None else args.xlsx
    automation = args.scale == 1 if args.automation is None else args.automation
    default_dir = "bench" if args.scale == 1 else f"bench-x{args.scale}"
    bench = Bench(args.workdir or PROJECT_ROOT / "data" / default_dir, workload)
    bench.logs.mkdir(parents=True, exist_ok=True)
    print(
        f"inputs: {workload.calls:,} calls {workload.first_day}..{workload.last_day} "
        f"(scale {workload.scale})",
        flush=True,
    )
    source, generated = prepare_source(bench.workdir / "source", workload)
    print(
        f"  generated in {generated:.1f} s" if generated else "  reusing the generated files",
        flush=True,
    )
    workbook = None
    if xlsx:
        started = time.perf_counter()
        workbook = export_workbook(source)
        print(
            f"  XLSX export {workbook.name} ({workbook.stat().st_size / 1e6:.0f} MB) ready in "
            f"{time.perf_counter() - started:.1f} s",
            flush=True,
        )
    started = time.perf_counter()
    try:
        runs = [bench.repeat(source, n, xlsx, automation) for n in range(1, repeats + 1)]
        print(f"bulk vs row-by-row on {args.load_rows:,} rows of fact_911_calls ...", flush=True)
        loads = compare_loads(
            ensure_embedded_server(bench.data_dir), bench.settings.warehouse_schema, args.load_rows
        )
    finally:
        stop_embedded_server(bench.data_dir)
    xlsx_read = None
    if workbook is not None:
        from .xlsx import measure_xlsx_read

        print(f"reading {workbook.name} alone, {repeats} time(s) ...", flush=True)
        xlsx_read = measure_xlsx_read(workbook, repeats)
    from .startup import measure_startup

    print("start-up: safebeat --help and loading the definitions, 3 times each ...", flush=True)
    startup = measure_startup(3)
    cold_1x = _cold_1x_seconds(args.out) if args.scale > 1 else None
    summary = summarize(
        runs, loads, asset_step_names(), args.scale, cold_1x, xlsx_read=xlsx_read, startup=startup
    )
    facts = machine()
    summary.update(
        workload=vars(workload),
        repeats=repeats,
        machine=facts,
        measured_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        bench_seconds=round(time.perf_counter() - started, 1),
    )
    if cold_1x is not None:
        summary["cold_1x_seconds"] = cold_1x
    header = (
        f"SafeBeat benchmark, scale {workload.scale}: {workload.calls:,} calls "
        f"{workload.first_day}..{workload.last_day}, embedded local profile, median of "
        f"{repeats} run(s)\n"
        f"machine: {facts['cores']} cores ({facts['cpu']}), {facts['memory_gb']} GB RAM, "
        f"Python {facts['python']}, Dagster {facts['packages']['dagster']}"
    )
    table = format_table(summary, header)
    print("\n" + table)
    args.out.mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    suffix = "" if args.scale == 1 else f"-x{args.scale}"
    latest = args.out / f"latest{suffix}.json"
    for path in (args.out / f"bench{suffix}-{stamp}.json", latest):
        path.write_text(json.dumps(summary, indent=2))
    (args.out / f"latest{suffix}.txt").write_text(table + "\n")
    print(f"\nJSON: {latest} (and bench{suffix}-{stamp}.json)")
    return 1 if args.strict and not all(summary["targets_met"].values()) else 0


if __name__ == "__main__":
    sys.exit(main())
