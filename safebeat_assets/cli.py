"""`safebeat` command line: sample data, the demo run, the dashboard and warehouse housekeeping."""

import argparse
import os
import sys

from . import quiet
from .settings import ENV_CITY, load_settings

DEMO_CALLS = 110_000


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="safebeat", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    from .sample.cli import SAMPLE_CITIES, add_sample_arguments, run_sample

    sample = commands.add_parser("sample", help="generate realistic sample input files")
    add_sample_arguments(sample)
    sample.set_defaults(handler=run_sample)

    demo = commands.add_parser(
        "demo", help="materialize every asset on the local profile and print a summary"
    )
    demo.add_argument("--calls", type=int, default=DEMO_CALLS, help="sample size if no input")
    demo.add_argument("--seed", type=int, default=42)
    demo.add_argument(
        "--city", choices=SAMPLE_CITIES, default=None,
        help="the city to run (sets SAFEBEAT_CITY; default: SAFEBEAT_CITY, else austin)",
    )  # fmt: skip
    demo.add_argument(
        "--keep-warehouse",
        action="store_true",
        help="leave the embedded PostgreSQL running afterwards (for `make ui` or psql)",
    )
    demo.set_defaults(handler=_run_demo)

    # Listed for --help; its own parser (benchmark.main) reads the arguments.
    commands.add_parser(
        "bench",
        help="Austin-scale benchmark (--scale N: cold, no-change, new day as a file or in a "
        "re-export, XLSX, bulk vs row-by-row, start-up)",
    )

    dashboard = commands.add_parser(
        "dashboard", help="the analysts' dashboard and event planner on http://127.0.0.1:8501"
    )
    from .dashboard.launcher import add_arguments as add_dashboard_arguments

    add_dashboard_arguments(dashboard)
    dashboard.set_defaults(handler=_run_dashboard)

    stop = commands.add_parser("warehouse-stop", help="stop the embedded PostgreSQL server")
    stop.set_defaults(handler=_stop_warehouse)

    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["bench"]:
        quiet.install()
        from .benchmark.main import main as bench_main

        return bench_main(argv[1:])
    args = parser.parse_args(argv)
    return int(args.handler(args) or 0)


def _run_demo(args: argparse.Namespace) -> int:
    quiet.install()  # before the definitions are imported: their decorators warn
    from .demo import run_demo

    if args.city is not None:
        os.environ[ENV_CITY] = args.city
    return run_demo(calls=args.calls, seed=args.seed, keep_warehouse=args.keep_warehouse)


def _run_dashboard(args: argparse.Namespace) -> int:
    quiet.install()
    from .dashboard.launcher import run

    return run(args)


def _stop_warehouse(_: argparse.Namespace) -> int:
    from .storage.embedded import stop_embedded_server

    settings = load_settings()
    stopped = stop_embedded_server(settings.data_dir)
    print("embedded warehouse stopped" if stopped else "embedded warehouse was not running")
    return 0


if __name__ == "__main__":
    sys.exit(main())
