"""`safebeat sample` sub-command hooks (the top-level CLI calls these)."""

from __future__ import annotations

import argparse
from pathlib import Path

# The cities with a sample generator (`sample/cities.py` has the others' layouts); named here
# so `safebeat --help` does not import the generator.
SAMPLE_CITIES: tuple[str, ...] = ("austin", "montgomery", "seattle")


def add_sample_arguments(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    parser.add_argument(
        "--city", choices=SAMPLE_CITIES, default="austin",
        help="whose export layout and block groups to write (default: austin)",
    )  # fmt: skip
    parser.add_argument("--calls", type=int, default=110_000, help="number of 911 calls (rows)")
    parser.add_argument(
        "--seed", type=int, default=42, help="random seed (same seed -> same files)"
    )
    parser.add_argument(
        "--out", type=Path, default=None,
        help="landing directory (default: the city's landing dir, e.g. data/landing, "
        "data/cities/montgomery/landing)",
    )  # fmt: skip
    parser.add_argument("--start", default="2023-01-01", help="first call date (YYYY-MM-DD)")
    parser.add_argument("--end", default="2025-12-31", help="last call date (YYYY-MM-DD)")
    parser.add_argument("--layout", type=int, choices=(25, 27), default=25, help="APD layout")
    parser.add_argument(
        "--format", dest="calls_format", choices=("csv", "xlsx"), default="csv",
        help="calls file format (xlsx only for small samples)",
    )  # fmt: skip
    return parser


def run_sample(args: argparse.Namespace) -> int:
    """Generate the sample described by ``args`` and print the paths and row counts."""
    # imported here: the generator's pandas/geopandas would slow down every `safebeat --help`.
    from .generate import _check, build_sample, write_sample

    _check(args.calls, args.start, args.end, args.layout, args.calls_format)
    out = args.out if args.out is not None else _default_landing_dir(args.city)
    if args.city != "austin":
        return _run_city_sample(args, out)
    tables = build_sample(args.calls, args.seed, args.start, args.end)
    paths = write_sample(tables, out, args.start, args.end, args.layout, args.calls_format)
    n_permits = tables.events["FOLDERRSN"].nunique()
    print(f"calls:        {paths.calls}  ({len(tables.calls):,} rows)")
    print(f"events:       {paths.events}  ({len(tables.events):,} rows, {n_permits:,} permits)")
    print(f"block_groups: {paths.block_groups}  ({len(tables.block_groups):,} features)")
    return 0


def _run_city_sample(args: argparse.Namespace, out: Path) -> int:
    from .cities import build_city_sample, write_city_sample

    if args.layout != 25 or args.calls_format != "csv":
        raise SystemExit(
            f"--layout and --format are Austin's options; {args.city} writes its own CSV"
        )
    sample = build_city_sample(args.city, args.calls, args.seed, args.start, args.end)
    paths = write_city_sample(sample, args.city, out, args.start, args.end)
    print(
        f"calls:        {paths.calls}  ({len(sample.calls):,} rows, {sample.bad_rows:,} planted bad)"
    )
    print(f"events:       none ({args.city} publishes no permit feed)")
    print(f"block_groups: {paths.block_groups}  ({len(sample.block_groups):,} features)")
    return 0


def _default_landing_dir(city: str) -> Path:
    """The landing dir `city` would be run from (another city's data stays apart from
    Austin's)."""
    import os

    from safebeat_assets.settings import ENV_CITY, load_settings

    return Path(load_settings({**os.environ, ENV_CITY: city}).landing_dir)


def main(argv: list[str] | None = None) -> int:  # pragma: no cover - convenience entry point
    parser = add_sample_arguments(argparse.ArgumentParser(prog="safebeat sample"))
    return run_sample(parser.parse_args(argv))


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
