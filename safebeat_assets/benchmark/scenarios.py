"""One benchmark scenario, run in its own process: `python -m safebeat_assets.benchmark.scenarios
<scenario> <state.json> <result.json>`.

All but the last do what the deployment does, minus the daemon's idle time between ticks:
- cold / cold-xlsx: the daily job over every month on empty storage, as a backfill under the
  monthly assets' policy runs it (at most MONTHS_PER_RUN months per run, then the rest), from
  the CSV export or from its XLSX twin;
- no-change / new-day-file / new-day-reexport: the 03:00 schedule tick's run (raw +
  missing/stale), then
  `raw_month_change_sensor` and automation ticks, executing each requested run, until quiet.
Cursors of the sensor and of automation are kept in the state file between scenarios.

- cold-by-automation: the real daemon (`dagster-daemon run`) on empty storage and a fresh
  Dagster home, with the landing files in place and nothing launched by hand: the landing
  sensor, the raw-month sensor and automation build the graph. Its time runs from the daemon's
  start to the end of the last run (ticks every AUTOMATION_TICK_SECONDS; the landing sensor's
  30 s and the backfill daemon's idle time included); it also reports how often each
  (asset, month) was built.
"""

import json
import os
import resource
import sys
import time
from pathlib import Path

import dagster as dg

from ..definitions import build_definitions
from ..defs.conventions import MONTHS_PER_RUN
from ..defs.jobs import PIPELINE_RUN_TAGS
from ..defs.partitions import monthly_partitions, months_tags
from ..defs.schedules import DAILY_JOB_NAME, DAILY_SCHEDULE_NAME
from ..defs.sensors.raw_months import RAW_MONTH_SENSOR_NAME
from ..demo import local_instance
from ..memory import freeze_long_lived, release_freed_memory
from ..settings import load_settings
from .daemon import (
    DaemonProcess,
    daemon_environment,
    expected_slots,
    materialization_counts,
    wait_until_settled,
)
from .results import AUTOMATION_SCENARIO, COLD_SCENARIOS, SCHEDULED_SCENARIOS

MAX_AUTOMATION_TICKS = 12
AUTOMATION_TICK_SECONDS = 5
# Idle time after the last run that shows the daemon is done: automation and the raw-month
# sensor tick several times (the landing zone does not change during the scenario).
DAEMON_QUIET_SECONDS = 4 * AUTOMATION_TICK_SECONDS
DAEMON_TIMEOUT_SECONDS = 45 * 60
QUIET_LOGS = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}


class Scenario:
    def __init__(self, state_file: Path):
        self.settings = load_settings()
        self.defs = build_definitions(self.settings)
        self.instance = local_instance(self.settings)
        self.job = self.defs.resolve_job_def(DAILY_JOB_NAME)
        # Sensor and automation runs are not daily runs: no report-after tag (that tag keeps
        # their updates from triggering the report, as the report-after-run sensor reports on
        # daily runs).
        self.asset_job = self.defs.resolve_implicit_global_asset_job_def()
        self.monthly = monthly_partitions(
            self.settings.partition_start, self.settings.city.time_zone
        )
        self.state_file = state_file
        self.state = json.loads(state_file.read_text()) if state_file.exists() else {}
        self.run_ids: list[str] = []
        self.ticks = 0
        # Where the scenario's time goes: executing runs vs evaluating automation conditions.
        self.run_seconds = 0.0
        self.evaluation_seconds = 0.0
        # This process's definitions and instance, as a run worker's (`memory.py`).
        freeze_long_lived()

    # --- runs ------------------------------------------------------------------------------
    def execute(
        self, keys: list[dg.AssetKey] | None, tags: dict[str, str], daily: bool = True
    ) -> None:
        job = self.job if daily else self.asset_job
        started = time.perf_counter()
        result = job.execute_in_process(
            instance=self.instance,
            asset_selection=keys,
            tags=tags,
            run_config=QUIET_LOGS,
            raise_on_error=False,
        )
        self.run_ids.append(result.run_id)
        if not result.success:
            failed = [e.step_key for e in result.all_events if e.is_step_failure]
            raise RuntimeError(f"benchmark run {result.run_id} failed in steps {failed}")
        # What a run worker's exit does in production (`memory.py`); timed with the run.
        del result
        release_freed_memory()
        self.run_seconds += time.perf_counter() - started

    def cold_backfill(self) -> None:
        """What a backfill of the daily job does under the monthly assets' backfill policy:
        runs of at most MONTHS_PER_RUN months for the monthly assets (with the first, the
        unpartitioned assets they read: raw files, dimensions), then one run for the rest."""
        graph = self.defs.resolve_asset_graph()
        selected = self.job.asset_layer.executable_asset_keys
        ordered = [k for k in graph.toposorted_asset_keys if k in selected]
        monthly = [k for k in ordered if graph.get(k).is_partitioned]
        upstream = dg.AssetSelection.assets(*monthly).upstream().resolve(graph)
        first = [k for k in ordered if k in upstream and not graph.get(k).is_partitioned]
        rest = [k for k in ordered if k not in upstream and not graph.get(k).is_partitioned]
        keys = self.monthly.get_partition_keys()
        for start in range(0, len(keys), MONTHS_PER_RUN):
            chunk = keys[start : start + MONTHS_PER_RUN]
            tags = months_tags(self.monthly, chunk[0], chunk[-1])
            self.execute((first if start == 0 else []) + monthly, tags)
        self.execute(rest, {})

    def schedule_tick(self) -> None:
        context = dg.build_schedule_context(
            instance=self.instance, repository_def=self.defs.get_repository_def()
        )
        request = self.defs.resolve_schedule_def(DAILY_SCHEDULE_NAME)(context)
        self.execute(list(request.asset_selection), dict(request.tags))

    def month_sensor_tick(self) -> None:
        context = dg.build_sensor_context(
            instance=self.instance,
            cursor=self.state.get("month_sensor_cursor"),
            repository_def=self.defs.get_repository_def(),
        )
        result = self.defs.resolve_sensor_def(RAW_MONTH_SENSOR_NAME)(context)
        if isinstance(result, dg.SensorResult):
            self.state["month_sensor_cursor"] = result.cursor
            for request in result.run_requests or []:
                self.execute(list(request.asset_selection), dict(request.tags), daily=False)

    def automation_until_quiet(self) -> None:
        cursor = self.state.get("automation_cursor")
        cursor = dg.deserialize_value(cursor) if cursor else None
        graph = self.defs.resolve_asset_graph()
        for _ in range(MAX_AUTOMATION_TICKS):
            started = time.perf_counter()
            result = dg.evaluate_automation_conditions(
                defs=self.defs, instance=self.instance, cursor=cursor
            )
            self.evaluation_seconds += time.perf_counter() - started
            cursor = result.cursor
            self.ticks += 1
            if not result.total_requested:
                self.state["automation_cursor"] = dg.serialize_value(cursor)
                return
            unpartitioned, by_range = [], {}
            for key in graph.toposorted_asset_keys:
                partitions = result.get_requested_partitions(key)
                if not partitions:
                    continue
                if None in partitions:
                    unpartitioned.append(key)
                else:
                    by_range.setdefault((min(partitions), max(partitions)), []).append(key)
            for (first, last), keys in by_range.items():
                tags = {**PIPELINE_RUN_TAGS, **months_tags(self.monthly, first, last)}
                self.execute(keys, tags, daily=False)
            if unpartitioned:
                self.execute(unpartitioned, dict(PIPELINE_RUN_TAGS), daily=False)
        raise RuntimeError(f"automation still requested runs after {MAX_AUTOMATION_TICKS} ticks")

    # --- measurements ----------------------------------------------------------------------
    def step_seconds(self) -> dict[str, float]:
        """Seconds per step (summed over the scenario's runs), from the instance's event log."""
        seconds: dict[str, float] = {}
        for run_id in self.run_ids:
            started: dict[str, float] = {}
            for entry in self.instance.all_logs(run_id):
                event = entry.dagster_event
                if event is None or event.step_key is None:
                    continue
                if event.event_type_value == "STEP_START":
                    started[event.step_key] = entry.timestamp
                elif event.event_type_value == "STEP_SUCCESS":
                    elapsed = entry.timestamp - started[event.step_key]
                    seconds[event.step_key] = seconds.get(event.step_key, 0.0) + elapsed
        return seconds

    def materialized(self) -> dict[str, int]:
        """Materializations per asset (one per monthly partition) in the scenario's runs."""
        counts: dict[str, int] = {}
        for run_id in self.run_ids:
            records = self.instance.get_records_for_run(
                run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION
            ).records
            for record in records:
                name = record.event_log_entry.dagster_event.asset_key.to_user_string()
                counts[name] = counts.get(name, 0) + 1
        return counts


def peak_rss_mb() -> float:
    """This process's peak resident memory (imports and every run included). VmHWM belongs to
    the process's own address space; ru_maxrss would also count the parent's memory at fork
    time, which Linux carries over exec."""
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)  # KiB on Linux


def run_by_daemon(scenario: Scenario, log_file: Path) -> tuple[float, dict]:
    """The daemon on the scenario's fresh instance until the whole graph is built and it has
    gone quiet; returns the seconds from its start to the end of the last run, and the
    materialization counts."""
    graph = scenario.defs.resolve_asset_graph()
    keys = sorted(graph.materializable_asset_keys)
    expected = expected_slots(graph, scenario.monthly.get_partition_keys())
    home = scenario.settings.dagster_home
    env = daemon_environment(os.environ, home, AUTOMATION_TICK_SECONDS)

    def built_everything(instance: dg.DagsterInstance) -> bool:
        return expected <= set(materialization_counts(instance, keys)[0])

    daemon = DaemonProcess(env, log_file)
    with daemon:
        try:
            settled = wait_until_settled(
                home,
                built_everything,
                daemon,
                daemon.started_at,
                DAEMON_TIMEOUT_SECONDS,
                DAEMON_QUIET_SECONDS,
            )
        except (TimeoutError, RuntimeError) as exc:
            raise RuntimeError(f"{exc}\ndaemon log {log_file}:\n{daemon.log_tail(40)}") from exc
    scenario.run_ids = settled.run_ids
    counts, _ = materialization_counts(scenario.instance, keys)
    return settled.seconds, {
        "total": sum(counts.values()),
        "asset_partitions": len(expected),
        "unbuilt_asset_partitions": len(expected - set(counts)),
        "max_per_asset_partition": max(counts.values(), default=0),
        "built_more_than_once": sorted(f"{n}:{p or '-'}" for (n, p), c in counts.items() if c > 1),
        "tick_seconds": AUTOMATION_TICK_SECONDS,
    }


def run(name: str, state_file: Path) -> dict:
    loaded = time.perf_counter()
    scenario = Scenario(state_file)
    started = time.perf_counter()
    if name == AUTOMATION_SCENARIO:
        log_file = state_file.parent / "logs" / f"daemon-{name}.log"
        seconds, by_automation = run_by_daemon(scenario, log_file)
        return {
            "scenario": name,
            "seconds": seconds,
            "startup_seconds": round(started - loaded, 2),
            "runs": len(scenario.run_ids),
            "automation_ticks": 0,  # the daemon's own, not counted
            "step_seconds": {k: round(v, 2) for k, v in scenario.step_seconds().items()},
            "materializations": scenario.materialized(),
            "by_automation": by_automation,
            "peak_rss_mb": peak_rss_mb(),  # this process only: the runs are the daemon's
        }
    if name in COLD_SCENARIOS:
        scenario.cold_backfill()
    elif name in SCHEDULED_SCENARIOS:
        scenario.schedule_tick()
    else:
        raise ValueError(f"unknown scenario {name!r}")
    scenario.month_sensor_tick()
    scenario.automation_until_quiet()
    seconds = time.perf_counter() - started
    state_file.write_text(json.dumps(scenario.state))
    return {
        "scenario": name,
        "seconds": round(seconds, 2),
        "startup_seconds": round(started - loaded, 2),
        "runs": len(scenario.run_ids),
        "automation_ticks": scenario.ticks,
        "run_seconds": round(scenario.run_seconds, 2),
        "evaluation_seconds": round(scenario.evaluation_seconds, 2),
        "step_seconds": {k: round(v, 2) for k, v in scenario.step_seconds().items()},
        "materializations": scenario.materialized(),
        "peak_rss_mb": peak_rss_mb(),
    }


def main(argv: list[str]) -> int:
    name, state_file, result_file = argv
    result = run(name, Path(state_file))
    Path(result_file).write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
