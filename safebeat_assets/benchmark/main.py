"""`safebeat bench` / `make bench`: generate the Austin-scale inputs once, then per repeat run
cold, no-change and one-new-day (each in its own process) and cold by automation (the real
daemon on empty storage), then compare the row-by-row load with the bulk load; print the table
and write the JSON document."""

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
    ENV_PROFILE,
    ENV_WAREHOUSE_URL,
    PROJECT_ROOT,
    load_settings,
)
from ..storage.embedded import ensure_embedded_server, stop_embedded_server
from ..storage.tables import FACT_911_CALLS
from ..storage.warehouse import Warehouse
from .results import AUTOMATION_SCENARIO, format_table, summarize
from .rowload import SLICE_ROWS, compare_loads
from .workload import AUSTIN_CALLS, Workload, append_next_day, prepare_source, reset_landing


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

    def repeat(self, source: Path, number: int) -> dict[str, dict]:
        self.empty_storage()
        reset_landing(source, self.landing)
        results = {"cold": self.scenario("cold", number)}
        results["no-change"] = self.scenario("no-change", number)
        calls_file = next((self.landing / "calls").glob("*.csv"))
        new_day, added = append_next_day(calls_file, self.workload.last_day)
        one_day = self.scenario("one-new-day", number)
        one_day.update(new_day=new_day, calls_added=added)
        results["one-new-day"] = one_day
        # Cold again, by the daemon alone: the landing files as generated, empty storage.
        self.empty_storage()
        reset_landing(source, self.landing)
        results[AUTOMATION_SCENARIO] = self.scenario(AUTOMATION_SCENARIO, number)
        return results


def asset_step_names() -> set[str]:
    from ..definitions import build_definitions

    graph = build_definitions(load_settings()).resolve_asset_graph()
    return {key.to_user_string() for key in graph.get_all_asset_keys()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="safebeat bench", description=__doc__)
    parser.add_argument("--calls", type=int, default=AUSTIN_CALLS)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--workdir", type=Path, default=PROJECT_ROOT / "data" / "bench")
    parser.add_argument("--out", type=Path, default=PROJECT_ROOT / "bench-results")
    parser.add_argument("--load-rows", type=int, default=SLICE_ROWS)
    parser.add_argument(
        "--strict", action="store_true", help="exit with status 1 when a target is missed"
    )
    args = parser.parse_args(argv)

    workload = Workload(calls=args.calls)
    bench = Bench(args.workdir, workload)
    bench.logs.mkdir(parents=True, exist_ok=True)
    print(f"inputs: {workload.calls:,} calls {workload.first_day}..{workload.last_day}", flush=True)
    source, generated = prepare_source(bench.workdir / "source", workload)
    print(
        f"  generated in {generated:.1f} s" if generated else "  reusing the generated files",
        flush=True,
    )
    started = time.perf_counter()
    try:
        repeats = [bench.repeat(source, n) for n in range(1, args.repeats + 1)]
        print(f"bulk vs row-by-row on {args.load_rows:,} rows of fact_911_calls ...", flush=True)
        loads = compare_loads(
            ensure_embedded_server(bench.data_dir), bench.settings.warehouse_schema, args.load_rows
        )
    finally:
        stop_embedded_server(bench.data_dir)
    summary = summarize(repeats, loads, asset_step_names())
    facts = machine()
    summary.update(
        workload=vars(workload),
        repeats=args.repeats,
        machine=facts,
        measured_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        bench_seconds=round(time.perf_counter() - started, 1),
    )
    header = (
        f"SafeBeat benchmark: {workload.calls:,} calls {workload.first_day}..{workload.last_day}, "
        f"embedded local profile, median of {args.repeats} run(s)\n"
        f"machine: {facts['cores']} cores ({facts['cpu']}), {facts['memory_gb']} GB RAM, "
        f"Python {facts['python']}, Dagster {facts['packages']['dagster']}"
    )
    table = format_table(summary, header)
    print("\n" + table)
    args.out.mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    for path in (args.out / f"bench-{stamp}.json", args.out / "latest.json"):
        path.write_text(json.dumps(summary, indent=2))
    (args.out / "latest.txt").write_text(table + "\n")
    print(f"\nJSON: {args.out / 'latest.json'} (and bench-{stamp}.json)")
    return 1 if args.strict and not all(summary["targets_met"].values()) else 0


if __name__ == "__main__":
    sys.exit(main())
