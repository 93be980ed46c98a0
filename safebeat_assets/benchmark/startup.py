"""Start-up time: `safebeat --help`, and loading the Dagster definitions the way every code
server, sensor and run process does (`build_definitions(load_settings())` and the asset graph).

Each measurement is the wall time of a fresh process (interpreter start, imports, work, exit),
run `repeats` times; the median is reported, with the median CPU time (user + system) of the
same processes, which other load on the machine disturbs much less than the wall time. The definitions process also lists which of
`HEAVY_MODULES` it imported: none, unless a module-level import crept back in (heavy libraries
are imported in the functions that use them; `safebeat_assets_tests/test_startup.py` guards it).

    python -m safebeat_assets.benchmark.startup [--repeats 3]
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

# Top-level packages the definitions must not import: each costs 30 ms to 0.8 s at start-up
# and is only needed inside some asset's step (or by the dashboard, the sample generator).
HEAVY_MODULES: tuple[str, ...] = (
    "sklearn",
    "fastexcel",
    "scipy",
    "statsmodels",
    "geopandas",
    "shapely",
    "pyogrio",
    "pyproj",
    "libpysal",
    "esda",
    "mlxtend",
    "joblib",
    "matplotlib",
    "PIL",
    "altair",
    "jinja2",
    "streamlit",
    "s3fs",
    "boto3",
    "botocore",
    "duckdb",
    "python_calamine",
    "openpyxl",
)

# Run in the child: load the definitions, then report the in-process time and the modules.
DEFINITIONS_SCRIPT = """\
import json, sys, time
start = time.perf_counter()
from safebeat_assets.definitions import build_definitions
from safebeat_assets.settings import load_settings
build_definitions(load_settings()).resolve_asset_graph()
elapsed = time.perf_counter() - start
heavy = set(json.loads(sys.argv[1]))
print(json.dumps({
    "seconds": elapsed,
    "modules": len(sys.modules),
    "heavy": sorted({name.split(".")[0] for name in sys.modules} & heavy),
}))
"""


def help_command() -> list[str]:
    """The `safebeat` console script next to this interpreter (as installed by uv), else the
    same entry point through `-m`."""
    script = Path(sys.executable).with_name("safebeat")
    if script.exists():
        return [str(script), "--help"]
    return [sys.executable, "-m", "safebeat_assets.cli", "--help"]


def _cpu_of_children() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _timed_run(command: list[str]) -> tuple[float, float, str]:
    """Wall and CPU seconds of one run of `command`, and its output."""
    cpu = _cpu_of_children()
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(f"{command[0]} failed ({done.returncode}):\n{done.stderr[-2000:]}")
    return elapsed, _cpu_of_children() - cpu, done.stdout


def _median(values: list[float]) -> float:
    return round(statistics.median(values), 3)


def measure_startup(repeats: int = 3) -> dict:
    """Wall seconds of `repeats` fresh `safebeat --help` and definitions-loading processes,
    their medians, and the heavy modules the definitions still import."""
    if repeats < 1:
        raise ValueError("repeats must be at least 1")
    help_runs = [_timed_run(help_command()) for _ in range(repeats)]
    definitions_command = [sys.executable, "-c", DEFINITIONS_SCRIPT, json.dumps(HEAVY_MODULES)]
    definitions_runs = [_timed_run(definitions_command) for _ in range(repeats)]
    reports = [json.loads(stdout.strip().splitlines()[-1]) for _, _, stdout in definitions_runs]
    return {
        "help_seconds": [round(wall, 3) for wall, _, _ in help_runs],
        "help_median_seconds": _median([wall for wall, _, _ in help_runs]),
        "help_cpu_median_seconds": _median([cpu for _, cpu, _ in help_runs]),
        "definitions_seconds": [round(wall, 3) for wall, _, _ in definitions_runs],
        "definitions_median_seconds": _median([wall for wall, _, _ in definitions_runs]),
        "definitions_cpu_median_seconds": _median([cpu for _, cpu, _ in definitions_runs]),
        # Imports and build only, without the interpreter's start and exit.
        "definitions_in_process_median_seconds": _median([r["seconds"] for r in reports]),
        "definitions_import_modules": reports[-1]["heavy"],
        "definitions_module_count": reports[-1]["modules"],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m safebeat_assets.benchmark.startup")
    parser.add_argument("--repeats", type=int, default=3, help="fresh processes per measure")
    args = parser.parse_args(argv)
    print(json.dumps(measure_startup(args.repeats), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
