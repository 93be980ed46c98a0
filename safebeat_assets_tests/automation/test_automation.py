"""Declarative automation: work follows data-version changes, not re-runs."""

import shutil

import dagster as dg
import pandas as pd

from safebeat_assets.definitions import build_definitions
from safebeat_assets_tests.helpers import (
    clean_definitions_context,
    materialize_subset,
    run_daily_job,
)


def requested(defs, instance, cursor=None):
    result = dg.evaluate_automation_conditions(defs=defs, instance=instance, cursor=cursor)
    keys = {
        key.to_user_string()
        for key in defs.resolve_asset_graph().get_all_asset_keys()
        if result.get_num_requested(key)
    }
    return keys, result.cursor


def test_only_changed_data_triggers_work(local_settings, sample_landing, tmp_path):
    from dataclasses import replace

    landing = tmp_path / "landing"
    shutil.copytree(sample_landing, landing)
    settings = replace(local_settings, landing_dir=landing)
    defs = build_definitions(settings)
    with dg.instance_for_test() as instance:
        assert run_daily_job(settings, instance=instance).success
        keys, cursor = requested(defs, instance)
        assert keys == set()

        # Re-reading identical input records identical data versions: nothing downstream runs.
        assert materialize_subset(settings, "raw_911_calls raw_events", instance=instance).success
        keys, cursor = requested(defs, instance, cursor)
        assert keys == set()

        # A changed export: dimensions built from other sources do not move; the call months
        # are requested by the month-change sensor (see test_incremental.py), not here.
        calls_file = next((landing / "calls").iterdir())
        frame = pd.read_csv(calls_file, dtype=str, keep_default_na=False)
        frame.loc[0, "Call Disposition Description"] = "Supplement Written"
        frame.to_csv(calls_file, index=False)
        assert materialize_subset(settings, "raw_911_calls", instance=instance).success
        keys, cursor = requested(defs, instance, cursor)
        assert not keys & {"dim_geo", "dim_event", "cleaned_events", "cleaned_911_calls"}


def test_daily_schedule_requests_only_missing_or_stale(local_settings):
    with clean_definitions_context():
        defs = build_definitions(local_settings)
    schedule = defs.get_schedule_def("safebeat_daily_schedule")
    all_assets = {k.to_user_string() for k in defs.resolve_asset_graph().materializable_asset_keys}
    with dg.instance_for_test() as instance:

        def tick() -> set[str]:
            context = dg.build_schedule_context(
                instance=instance, repository_def=defs.get_repository_def()
            )
            request = schedule.evaluate_tick(context).run_requests[0]
            return {k.to_user_string() for k in request.asset_selection}

        # The report is not the schedule's: the report-after-run sensor requests it once the
        # daily run has ended, whatever its outcome.
        assert tick() == all_assets - {"daily_report"}  # nothing materialized yet
        assert run_daily_job(local_settings, instance=instance).success
        # Everything is fresh: only the daily look at the landing zone remains.
        assert tick() == {"raw_911_calls", "raw_events", "raw_block_groups"}
