"""The real Dagster daemon on a fresh local instance, and what it built: the "cold by automation"
benchmark scenario and the daemon end-to-end test drive the deployment exactly as deployed
(landing sensor, raw-month sensor, automation sensor, run queue), with no run launched by hand.

`DaemonProcess` starts `dagster-daemon run -w workspace.local.yaml` (its own process group, its
log in a file); `wait_until_settled` polls the instance until the work is done and the daemon
has stayed idle long enough to show it requests nothing more; `materialization_counts` counts
materializations per (asset, partition).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import dagster as dg

from ..defs.automation import TICK_SECONDS_ENV
from ..settings import ENV_DAILY_RUN_UTC, PROJECT_ROOT

WORKSPACE = PROJECT_ROOT / "workspace.local.yaml"
FAILED = {dg.DagsterRunStatus.FAILURE, dg.DagsterRunStatus.CANCELED}
ENDED = {dg.DagsterRunStatus.SUCCESS, *FAILED}
# The landing sensor ticks every 30 s (fixed); the other sensors every SAFEBEAT_AUTOMATION_TICK_SECONDS.
LANDING_TICK_SECONDS = 30
STOP_TIMEOUT_S = 30

# (asset, partition or None) -> number of materializations
Counts = dict[tuple[str, str | None], int]


def write_instance_yaml(home: Path) -> None:
    """The local profile's instance configuration (run queue: one pipeline run at a time)."""
    from ..demo import local_instance_yaml

    home.mkdir(parents=True, exist_ok=True)
    (home / "dagster.yaml").write_text(local_instance_yaml(home))


class DaemonProcess:
    """`dagster-daemon run` on the local workspace, as `make ui` runs it (without the UI)."""

    def __init__(self, env: Mapping[str, str], log_file: Path):
        self.env = dict(env)
        self.log_file = log_file
        self.proc: subprocess.Popen | None = None
        self.started_at: float | None = None

    def start(self) -> DaemonProcess:
        home = Path(self.env["DAGSTER_HOME"])
        write_instance_yaml(home)
        # Create the instance's storage before the daemon starts: the daemon and whoever polls
        # the instance would otherwise both try to create the SQLite tables.
        with dg.DagsterInstance.from_config(str(home)):
            pass
        self.log_file.parent.mkdir(parents=True, exist_ok=True)
        log = self.log_file.open("w")
        daemon = Path(sys.executable).with_name("dagster-daemon")
        self.started_at = time.time()
        self.proc = subprocess.Popen(
            [str(daemon), "run", "-w", str(WORKSPACE)],
            env=self.env,
            cwd=PROJECT_ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its run workers die with it (see stop)
        )
        log.close()
        return self

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        except ProcessLookupError:
            pass

    def log_tail(self, lines: int = 200) -> str:
        if not self.log_file.exists():
            return "(no daemon log)"
        return "\n".join(self.log_file.read_text(errors="replace").splitlines()[-lines:])

    def __enter__(self) -> DaemonProcess:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def daemon_environment(
    base: Mapping[str, str], dagster_home: Path, tick_seconds: int = 5
) -> dict[str, str]:
    """`base` with the Dagster home, short sensor ticks (the daemon's loops run every 5 s) and the
    daily schedule twelve hours away: what the daemon does on its own is measured, and a run that
    crossed 03:00 UTC also saw the daily run re-read the landing zone (built twice)."""
    away = datetime.now(UTC) + timedelta(hours=12)
    return {
        **base,
        "DAGSTER_HOME": str(dagster_home),
        TICK_SECONDS_ENV: str(tick_seconds),
        ENV_DAILY_RUN_UTC: f"{away.hour:02d}:{away.minute:02d}",
    }


@dataclass
class Settled:
    """What the daemon did between `since` (a timestamp) and the moment it went quiet."""

    seconds: float  # from `since` to the end of the last run
    runs: list[dg.RunRecord] = field(default_factory=list)

    @property
    def run_ids(self) -> list[str]:
        return [r.dagster_run.run_id for r in self.runs]

    @property
    def failed(self) -> list[dg.RunRecord]:
        return [r for r in self.runs if r.dagster_run.status != dg.DagsterRunStatus.SUCCESS]


def _epoch(moment: datetime) -> float:
    # Run storage keeps naive UTC timestamps.
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()


def _runs_since(instance: dg.DagsterInstance, since: float) -> list[dg.RunRecord]:
    records = instance.get_run_records(order_by="create_timestamp", ascending=True)
    return [r for r in records if _epoch(r.create_timestamp) >= since]


def wait_until_settled(
    home: Path,
    done: Callable[[dg.DagsterInstance], bool],
    daemon: DaemonProcess,
    since: float,
    timeout: float,
    quiet_seconds: float,
    poll_seconds: float = 2.0,
) -> Settled:
    """Poll until `done(instance)` holds, no run is queued or running and no new run has been
    created for `quiet_seconds`; raises TimeoutError, or RuntimeError if the daemon died or a
    run failed (automation does not retry a failed run: nothing more would come)."""
    deadline = time.monotonic() + timeout
    last_change = time.monotonic()
    seen: tuple = ()
    while True:
        with dg.DagsterInstance.from_config(str(home)) as instance:
            runs = _runs_since(instance, since)
            state = tuple((r.dagster_run.run_id, r.dagster_run.status) for r in runs)
            busy = any(r.dagster_run.status not in ENDED for r in runs)
            finished = not busy and done(instance)
        failed = [(run_id, status) for run_id, status in state if status in FAILED]
        if failed:
            raise RuntimeError(
                "run(s) did not succeed: "
                + ", ".join(f"{run_id} {status.value}" for run_id, status in failed)
            )
        if state != seen:
            seen, last_change = state, time.monotonic()
        if finished and time.monotonic() - last_change >= quiet_seconds:
            ends = [r.end_time for r in runs if r.end_time]
            return Settled(seconds=round((max(ends) if ends else since) - since, 1), runs=runs)
        if not daemon.alive():
            raise RuntimeError(f"the daemon exited with code {daemon.proc.returncode}")
        if time.monotonic() > deadline:
            raise TimeoutError(
                f"not settled after {timeout:.0f} s; runs: "
                + ", ".join(f"{run_id[:8]} {status.value}" for run_id, status in state)
            )
        time.sleep(poll_seconds)


def materialization_counts(
    instance: dg.DagsterInstance, keys: Iterable[dg.AssetKey], after_storage_id: int | None = None
) -> tuple[Counts, int]:
    """Materializations per (asset, partition) after `after_storage_id`, and the largest storage
    id seen (a marker for the next wave)."""
    counts: Counts = {}
    latest = after_storage_id or 0
    for key in keys:
        cursor = None
        while True:
            page = instance.fetch_materializations(
                dg.AssetRecordsFilter(asset_key=key, after_storage_id=after_storage_id),
                limit=1000,
                cursor=cursor,
            )
            for record in page.records:
                slot = (key.to_user_string(), record.partition_key)
                counts[slot] = counts.get(slot, 0) + 1
                latest = max(latest, record.storage_id)
            if not page.has_more:
                break
            cursor = page.cursor
    return counts, latest


def expected_slots(asset_graph, partition_keys: list[str]) -> set[tuple[str, str | None]]:
    """Every (asset, partition) of the graph: one per month for monthly assets."""
    slots: set[tuple[str, str | None]] = set()
    for key in asset_graph.materializable_asset_keys:
        name = key.to_user_string()
        if asset_graph.get(key).is_partitioned:
            slots |= {(name, month) for month in partition_keys}
        else:
            slots.add((name, None))
    return slots


def per_asset(counts: Counts) -> dict[str, int]:
    """Materializations per asset (all its partitions together)."""
    totals: dict[str, int] = {}
    for (name, _), count in counts.items():
        totals[name] = totals.get(name, 0) + count
    return dict(sorted(totals.items()))


def format_counts(counts: Counts) -> str:
    """Per asset: total, partitions, and the partitions built more than once."""
    lines = []
    for name, total in per_asset(counts).items():
        slots = {p: c for (n, p), c in counts.items() if n == name}
        twice = sorted(f"{p or '-'}x{c}" for p, c in slots.items() if c > 1)
        lines.append(
            f"  {name:<24} {total:>4} materializations, {len(slots):>3} partition(s)"
            + (f"; more than once: {', '.join(twice)}" if twice else "")
        )
    return "\n".join(lines)
