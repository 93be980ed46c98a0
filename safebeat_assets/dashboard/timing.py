"""`python -m safebeat_assets.dashboard.timing` / `make dashboard-bench`: how long each dashboard
page takes to render over the data the current settings point at.

Every page of `app.PAGES` is rendered by Streamlit's AppTest, in this process: cold (both
Streamlit caches emptied first, so the page connects, reads the data version and runs every
query) and warm (the same session rerun, as when a reader changes a widget that does not alter
the queries: everything answered from the caches), each `--repeats` times (the median is
reported: other processes on the machine make single samples noisy). PostgreSQL's own buffers
are warm after the first sample, as on a running server. Prints a table and writes
`bench-results/dashboard.json`. An embedded warehouse this script started is stopped at the end. The target is 2 s per page at Austin scale (835,198 calls).

Which data: the usual settings (SAFEBEAT_DATA_DIR, SAFEBEAT_WAREHOUSE_URL, ...). With no
variables that is the demo's data under `data/` (`make demo`). At Austin scale:

- `--austin` uses `data/dashboard-bench/` and, if its warehouse holds no calls yet, first builds
  it: `make bench`'s generated inputs (`data/bench/source/`, generated when missing) through the
  whole pipeline (`safebeat demo --keep-warehouse` in a child process; about 1.5 minutes on
  2 cores).
- `make bench` itself keeps its embedded warehouse and lake under `data/bench/data/` (the last
  scenario's full build): `SAFEBEAT_DATA_DIR=data/bench/data make dashboard-bench` times the
  pages over it (outputs added to the pipeline after that bench ran are shown as missing).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

from ..settings import ENV_DATA_DIR, ENV_LANDING_DIR, ENV_WAREHOUSE_URL, PROJECT_ROOT

DASHBOARD = Path(__file__).parent
TARGET_SECONDS = 2.0
AUSTIN_DATA_DIR = PROJECT_ROOT / "data" / "dashboard-bench"
BENCH_SOURCE = PROJECT_ROOT / "data" / "bench" / "source"
RENDER_TIMEOUT_S = 600


def pages() -> list[tuple[str, str]]:
    """(module, title) of every page, from `app.PAGES` without running the app script."""
    import ast

    tree = ast.parse((DASHBOARD / "app.py").read_text())
    for node in tree.body:
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", None) == "PAGES":
            return [(module, title) for module, title, _ in ast.literal_eval(node.value)]
    raise RuntimeError("app.py defines no PAGES")


def clear_caches() -> None:
    import streamlit as st
    from streamlit import logger

    # AppTest outside `streamlit run`: a notice about the missing runtime on every cache call
    # (and AppTest resets the loggers it creates, so this is repeated).
    logger.set_log_level("error")
    st.cache_data.clear()
    st.cache_resource.clear()


def render(module: str):
    """One page in a new AppTest session, run once; (AppTest, seconds)."""
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(
        str(DASHBOARD / "views" / f"{module}.py"), default_timeout=RENDER_TIMEOUT_S
    )
    started = time.perf_counter()
    at.run()
    return at, time.perf_counter() - started


def problems(at) -> list[str]:
    return [str(e.value)[:300] for e in at.exception] + [str(e.value)[:300] for e in at.error]


def time_page(module: str, title: str, repeats: int) -> dict:
    """Cold and warm render `repeats` times each; the medians (other processes on the machine
    make single samples noisy), every sample kept."""
    colds, warms = [], []
    for _ in range(repeats):
        clear_caches()
        at, cold = render(module)
        started = time.perf_counter()
        at.run()
        colds.append(cold)
        warms.append(time.perf_counter() - started)
    cold, warm = statistics.median(colds), statistics.median(warms)
    return {
        "module": module,
        "title": title,
        "cold_seconds": round(cold, 3),
        "warm_seconds": round(warm, 3),
        "cold_samples": [round(c, 3) for c in colds],
        "warm_samples": [round(w, 3) for w in warms],
        "within_target": cold <= TARGET_SECONDS,
        "problems": problems(at),
        "shown": {
            "metrics": len(at.metric),
            "charts": len(at.get("vega_lite_chart")) + len(at.get("arrow_vega_lite_chart")),
            "tables": len(at.dataframe) + len(at.table),
            "infos": [str(i.value)[:200] for i in at.info],
        },
    }


def data_summary() -> dict:
    """What the timed data is: profile, where, how many calls (no DSN: it may hold a password)."""
    from ..settings import load_settings
    from . import queries
    from .launcher import local_warehouse_has_calls
    from .source import DataSource

    settings = load_settings()
    calls = 0
    if local_warehouse_has_calls(settings):
        src = DataSource.from_settings(settings)
        counted = src.frame("SELECT count(*) AS n FROM {fact}", fact=queries.FACT)
        calls = int(counted["n"].iloc[0])
    return {
        "profile": settings.profile,
        "data_dir": _shown_path(settings.data_dir),
        "warehouse": "SAFEBEAT_WAREHOUSE_URL" if settings.warehouse_url_env else "embedded",
        "schema": settings.warehouse_schema,
        "calls": calls,
    }


def _shown_path(path: Path) -> str:
    """Relative to the project when inside it (the JSON is compared across machines)."""
    try:
        return str(path.resolve().relative_to(PROJECT_ROOT))
    except ValueError:
        return str(path)


def machine() -> dict:
    """Enough to read the figures: cores, and how busy the machine was while measuring."""
    return {
        "cores": os.cpu_count(),
        "load_average_1m": round(os.getloadavg()[0], 2),
        "python": platform.python_version(),
    }


def build_austin(data_dir: Path) -> None:
    """The Austin-scale inputs of `make bench` through the whole pipeline into `data_dir`, in a
    child process (the dashboard itself never imports the pipeline)."""
    from ..benchmark.workload import Workload, prepare_source  # pandas only, no Dagster

    print(f"Austin-scale inputs under {BENCH_SOURCE} (generated if missing) ...", flush=True)
    prepare_source(BENCH_SOURCE, Workload())
    print(f"building the Austin-scale warehouse and lake under {data_dir} ...", flush=True)
    started = time.perf_counter()
    env = {**os.environ, ENV_DATA_DIR: str(data_dir), ENV_LANDING_DIR: str(BENCH_SOURCE)}
    env.pop(ENV_WAREHOUSE_URL, None)
    safebeat = Path(sys.executable).with_name("safebeat")
    subprocess.run([str(safebeat), "demo", "--keep-warehouse"], env=env, check=True)
    print(f"built in {time.perf_counter() - started:.0f} s", flush=True)


def format_table(results: list[dict], data: dict) -> str:
    lines = [
        f"Dashboard render times: {data['calls']:,} calls ({data['profile']} profile, "
        f"{data['warehouse']} warehouse, schema {data['schema']}, data {data['data_dir']})",
        f"{'page':<16} {'cold s':>8} {'warm s':>8}  notes",
    ]
    for r in results:
        notes = []
        if not r["within_target"]:
            notes.append(f"over the {TARGET_SECONDS:g} s target")
        if r["problems"]:
            notes.append(f"ERRORS: {r['problems']}")
        lines.append(
            f"{r['module']:<16} {r['cold_seconds']:>8.2f} {r['warm_seconds']:>8.2f}  "
            + "; ".join(notes)
        )
    slowest = sorted(results, key=lambda r: r["cold_seconds"], reverse=True)[:3]
    lines.append(
        "slowest cold: " + ", ".join(f"{r['module']} {r['cold_seconds']:.2f} s" for r in slowest)
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m safebeat_assets.dashboard.timing",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--austin", action="store_true", help=f"time over {AUSTIN_DATA_DIR} (built first if empty)"
    )
    parser.add_argument("--pages", nargs="*", help="only these page modules")
    parser.add_argument("--repeats", type=int, default=3, help="renders per page (median)")
    parser.add_argument(
        "--out", type=Path, default=PROJECT_ROOT / "bench-results" / "dashboard.json"
    )
    parser.add_argument(
        "--strict", action="store_true", help="exit 1 when a page misses the target or fails"
    )
    args = parser.parse_args(argv)

    from .. import quiet
    from ..settings import load_settings
    from ..storage.embedded import embedded_pgdata, stop_embedded_server

    quiet.install()
    if args.austin:
        os.environ[ENV_DATA_DIR] = str(AUSTIN_DATA_DIR)
        os.environ.pop(ENV_WAREHOUSE_URL, None)
    settings = load_settings()
    # An embedded server this script starts is stopped again at the end (as `make bench` does).
    started_here = settings.uses_embedded_warehouse and not (
        (embedded_pgdata(settings.data_dir) / "postmaster.pid").exists()
    )
    try:
        if args.austin and data_summary()["calls"] == 0:
            build_austin(AUSTIN_DATA_DIR)
        return measure(args)
    finally:
        if started_here:
            stop_embedded_server(settings.data_dir)


def measure(args: argparse.Namespace) -> int:
    data = data_summary()
    if data["calls"] == 0:
        print(
            f"the warehouse ({data['data_dir']}, schema {data['schema']}) holds no calls: run "
            "`make demo`, or use --austin",
            file=sys.stderr,
        )
        return 2
    chosen = [(m, t) for m, t in pages() if not args.pages or m in args.pages]
    # Imports (Altair, pandas, pyarrow) and Streamlit's first AppTest are paid once, untimed.
    clear_caches()
    render(chosen[0][0])
    results = [time_page(module, title, args.repeats) for module, title in chosen]
    clear_caches()
    print(format_table(results, data))
    document = {
        "measured_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "target_seconds": TARGET_SECONDS,
        "data": data,
        "machine": machine(),
        "method": "Streamlit AppTest in one process; cold = first render with both Streamlit "
        "caches empty (connect, data version, every query); warm = the same session rerun; "
        f"median of {args.repeats}",
        "pages": results,
        "slowest_cold": [
            r["module"] for r in sorted(results, key=lambda r: r["cold_seconds"], reverse=True)
        ],
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(document, indent=2, default=str) + "\n")
    print(f"JSON: {args.out}")
    failed = any(r["problems"] or not r["within_target"] for r in results)
    return 1 if args.strict and failed else 0


if __name__ == "__main__":
    sys.exit(main())
