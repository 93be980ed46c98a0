"""Automation finishes what it starts, under the real daemon.

A fresh Dagster home (the local instance configuration, run queue included), the local lake in a
temporary folder, sample files in the landing folder and `dagster-daemon run` — nothing launched
by hand. Every asset of the graph must be built, each (asset, month) exactly once; then a new
export that adds a day to one month must rebuild that month and everything downstream of it
(models, risk, report), once each, and nothing else.
"""

from __future__ import annotations

import shutil
import time

import dagster as dg
import pytest

from safebeat_assets import quiet
from safebeat_assets.asset_names import (
    ASSOCIATION_RULES,
    CALL_BASELINE_RATES,
    CALL_FORECAST,
    CALL_HOT_SPOTS,
    CLEANED_CALLS,
    DAILY_REPORT,
    ENRICHED_CALLS,
    EVENT_IMPACT_MODEL,
    EVENT_RISK_SCORES,
    FACT_CALLS,
    FACT_EVENT_INCIDENTS,
    MODEL_AGGREGATES,
    QUARANTINED_CALLS,
    RAW_CALLS,
    ZONE_CLUSTERS,
    ZONE_RISK_SCORES,
)
from safebeat_assets.benchmark.daemon import (
    LANDING_TICK_SECONDS,
    DaemonProcess,
    Settled,
    daemon_environment,
    expected_slots,
    format_counts,
    materialization_counts,
    wait_until_settled,
)
from safebeat_assets.definitions import build_definitions
from safebeat_assets.defs.partitions import monthly_partitions
from safebeat_assets.settings import load_settings
from safebeat_assets_tests.automation.test_incremental import append_day
from safebeat_assets_tests.helpers import child_process_environment

pytestmark = pytest.mark.e2e

TICK_SECONDS = 5
# Long enough for every sensor to tick several times after the last run: proof it is done.
QUIET_SECONDS = LANDING_TICK_SECONDS + 3 * TICK_SECONDS
COLD_TIMEOUT_S = 600
WAVE_TIMEOUT_S = 420
PARTITION_START = "2025-01"  # the sample's first month: few empty months to build
CHANGED_MONTH = "2025-06-01"
# The changed month's aggregates are rebuilt, the models then read every month of them.
MONTHLY_CHAIN = (
    CLEANED_CALLS,
    QUARANTINED_CALLS,
    ENRICHED_CALLS,
    FACT_CALLS,
    FACT_EVENT_INCIDENTS,
    *MODEL_AGGREGATES,
)
DOWNSTREAM = (
    ASSOCIATION_RULES,
    ZONE_CLUSTERS,
    CALL_FORECAST,
    EVENT_RISK_SCORES,
    ZONE_RISK_SCORES,
    CALL_HOT_SPOTS,
    CALL_BASELINE_RATES,
    EVENT_IMPACT_MODEL,
    DAILY_REPORT,
)


def _failure(message: str, daemon: DaemonProcess, counts=None, settled: Settled | None = None):
    parts = [message]
    if counts is not None:
        parts += ["materializations per asset:", format_counts(counts)]
    if settled is not None and settled.failed:
        parts.append(
            "runs not successful: "
            + ", ".join(
                f"{r.dagster_run.run_id} {r.dagster_run.status.value}" for r in settled.failed
            )
        )
    parts += ["daemon log (tail):", daemon.log_tail()]
    return "\n".join(parts)


def test_daemon_builds_every_asset_once_then_only_what_a_new_export_changed(
    tmp_path, sample_landing, warehouse_url, warehouse_schema
):
    landing = tmp_path / "landing"
    shutil.copytree(sample_landing, landing)
    data_dir = tmp_path / "data"
    home = data_dir / "dagster_home"
    env = child_process_environment(
        data_dir, landing, warehouse_url, warehouse_schema, SAFEBEAT_PARTITION_START=PARTITION_START
    )
    env = daemon_environment(quiet.child_environment(env, tmp_path / "hook"), home, TICK_SECONDS)
    settings = load_settings(env)
    graph = build_definitions(settings).resolve_asset_graph()
    keys = sorted(graph.materializable_asset_keys)
    months = monthly_partitions(settings.partition_start).get_partition_keys()
    expected = expected_slots(graph, months)

    def built_everything(instance: dg.DagsterInstance) -> bool:
        counts, _ = materialization_counts(instance, keys)
        return expected <= set(counts)

    daemon = DaemonProcess(env, tmp_path / "daemon.log")
    with daemon:
        # 1. Cold: the landing files are there when the daemon starts.
        try:
            cold = wait_until_settled(
                home, built_everything, daemon, daemon.started_at, COLD_TIMEOUT_S, QUIET_SECONDS
            )
        except (TimeoutError, RuntimeError) as exc:
            with dg.DagsterInstance.from_config(str(home)) as instance:
                counts, _ = materialization_counts(instance, keys)
            pytest.fail(_failure(f"cold start: {exc}", daemon, counts))
        with dg.DagsterInstance.from_config(str(home)) as instance:
            counts, marker = materialization_counts(instance, keys)
        print(
            f"cold by automation: {cold.seconds} s, {len(cold.runs)} runs\n{format_counts(counts)}"
        )
        assert not cold.failed, _failure("cold start: failed runs", daemon, counts, cold)
        assert set(counts) == expected, _failure("cold start: not every asset", daemon, counts)
        twice = {slot: n for slot, n in counts.items() if n != 1}
        assert not twice, _failure(f"cold start: built more than once: {twice}", daemon, counts)

        # 2. A new export with one more day in June: June and everything downstream, once each.
        added = append_day(next((landing / "calls").iterdir()), "2025 Jun 02", "2025 Jun 30", 40)
        assert added > 0
        changed_at = time.time()

        def rebuilt_report(instance: dg.DagsterInstance) -> bool:
            counts, _ = materialization_counts(instance, [dg.AssetKey(DAILY_REPORT)], marker)
            return bool(counts)

        try:
            wave = wait_until_settled(
                home, rebuilt_report, daemon, changed_at, WAVE_TIMEOUT_S, QUIET_SECONDS
            )
        except (TimeoutError, RuntimeError) as exc:
            with dg.DagsterInstance.from_config(str(home)) as instance:
                counts, _ = materialization_counts(instance, keys, marker)
            pytest.fail(_failure(f"new export: {exc}", daemon, counts))
        with dg.DagsterInstance.from_config(str(home)) as instance:
            counts, _ = materialization_counts(instance, keys, marker)
        print(f"new export wave: {wave.seconds} s, {len(wave.runs)} runs\n{format_counts(counts)}")
        assert not wave.failed, _failure("new export: failed runs", daemon, counts, wave)
        wanted = {(RAW_CALLS, None): 1}
        wanted |= {(name, CHANGED_MONTH): 1 for name in MONTHLY_CHAIN}
        wanted |= {(name, None): 1 for name in DOWNSTREAM}
        assert counts == wanted, _failure(
            "new export: not exactly the changed work", daemon, counts
        )
