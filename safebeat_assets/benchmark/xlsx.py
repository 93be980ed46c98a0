"""Seconds and peak memory of reading one APD calls workbook with `read_apd_calls_table`
(issue 13: the 835,198-row export within 18 s and 1.5 GB), each repeat in a fresh process so
that its peak resident memory is that read's alone.

    python -m safebeat_assets.benchmark.xlsx <workbook.xlsx> [repeats]
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

_CHILD_FLAG = "--one-read"


def measure_xlsx_read(path: Path, repeats: int = 3) -> dict:
    """{"rows", "columns", "seconds": [...], "median_seconds", "peak_rss_mb": [...],
    "max_peak_rss_mb", "cpu_seconds": [...]} of `repeats` reads of `path`, one subprocess
    each. Seconds cover the read alone (not the interpreter start or imports); peak RSS is the
    child's VmHWM, imports included."""
    if repeats < 1:
        raise ValueError(f"repeats must be at least 1, not {repeats}")
    runs = [_one_read_in_child(Path(path)) for _ in range(repeats)]
    seconds = [run["seconds"] for run in runs]
    peaks = [run["peak_rss_mb"] for run in runs]
    return {
        "rows": runs[0]["rows"],
        "columns": runs[0]["columns"],
        "seconds": seconds,
        "median_seconds": round(statistics.median(seconds), 3),
        "peak_rss_mb": peaks,
        "max_peak_rss_mb": max(peaks),
        # CPU time of all the read's threads: comparable when other work shares the cores.
        "cpu_seconds": [run["cpu_seconds"] for run in runs],
    }


def _one_read_in_child(path: Path) -> dict:
    done = subprocess.run(
        [sys.executable, "-m", "safebeat_assets.benchmark.xlsx", _CHILD_FLAG, str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"reading {path} failed in the child process:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _one_read(path: Path) -> dict:
    from safebeat_assets.sources.apd_calls import read_apd_calls_table

    started, cpu_started = time.perf_counter(), time.process_time()
    table = read_apd_calls_table(path)
    seconds = time.perf_counter() - started
    return {
        "rows": table.num_rows,
        "columns": table.num_columns,
        "seconds": round(seconds, 3),
        "cpu_seconds": round(time.process_time() - cpu_started, 3),
        "peak_rss_mb": _own_peak_rss_mb(),
    }


def _own_peak_rss_mb() -> float:
    # VmHWM is this process's own high-water mark; ru_maxrss would also count what the
    # parent had at fork time.
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return round(int(line.split()[1]) / 1024, 1)
    raise RuntimeError("no VmHWM in /proc/self/status (Linux only)")


def main(argv: list[str]) -> int:
    if argv[:1] == [_CHILD_FLAG]:
        print(json.dumps(_one_read(Path(argv[1]))))
        return 0
    if not argv or len(argv) > 2:
        print(__doc__.strip().splitlines()[-1].strip(), file=sys.stderr)
        return 2
    repeats = int(argv[1]) if len(argv) > 1 else 3
    print(json.dumps(measure_xlsx_read(Path(argv[0]), repeats), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
