"""Incremental processing end to end: identical input does nothing, one new day re-runs one
month, a late change in an old month re-runs that month only — driven by the real sensors and
automation conditions on generated data."""

import shutil
from dataclasses import replace

import dagster as dg
import pandas as pd
import pytest

from safebeat_assets.asset_names import MODEL_AGGREGATES
from safebeat_assets.definitions import build_definitions
from safebeat_assets.defs.partitions import monthly_partitions, months_tags
from safebeat_assets.defs.sensors.raw_months import RAW_MONTH_SENSOR_NAME
from safebeat_assets.storage.tables import FACT_911_CALLS
from safebeat_assets.storage.warehouse import Warehouse
from safebeat_assets_tests.helpers import all_months_tags, materialize_subset, run_daily_job

ML_AND_RISK = {
    "association_rules",
    "zone_clusters",
    "call_forecast",
    "event_risk_scores",
    "call_hot_spots",
    "call_baseline_rates",
    "event_impact_model",
}


def sensor_runs(defs, instance, cursor):
    context = dg.build_sensor_context(
        instance=instance, cursor=cursor, repository_def=defs.get_repository_def()
    )
    result = defs.resolve_sensor_def(RAW_MONTH_SENSOR_NAME)(context)
    if isinstance(result, dg.SkipReason):
        return [], cursor
    return list(result.run_requests or []), result.cursor


def drive(settings, defs, instance, requests, cursor):
    """Execute requested runs, then automation ticks, until nothing is requested; returns what
    was materialized (asset -> partitions) and the automation cursor."""
    done: dict[str, set[str | None]] = {}
    for request in requests:
        start, end = (
            request.tags["dagster/asset_partition_range_start"],
            request.tags["dagster/asset_partition_range_end"],
        )
        names = " ".join(k.to_user_string() for k in request.asset_selection)
        assert materialize_subset(settings, names, instance=instance, tags=request.tags).success
        for name in names.split():
            done.setdefault(name, set()).update({start} if start == end else {start, end})
    for _ in range(12):
        result = dg.evaluate_automation_conditions(defs=defs, instance=instance, cursor=cursor)
        cursor = result.cursor
        if not result.total_requested:
            return done, cursor
        graph = defs.resolve_asset_graph()
        for key in graph.toposorted_asset_keys:
            partitions = result.get_requested_partitions(key)
            if not partitions:
                continue
            name = key.to_user_string()
            done.setdefault(name, set()).update(partitions)
            if None in partitions:
                tags = all_months_tags(settings) if graph.get(key).is_partitioned else {}
            else:
                monthly = monthly_partitions(settings.partition_start)
                tags = months_tags(monthly, min(partitions), max(partitions))
            outcome = materialize_subset(settings, name, instance=instance, tags=tags)
            assert outcome.success, name
    raise AssertionError("automation did not settle")


def append_day(calls_file, source_month_day: str, new_day: str, count: int) -> int:
    frame = pd.read_csv(calls_file, dtype=str, keep_default_na=False)
    day = frame[frame["Response Datetime"].str.startswith(source_month_day)].head(count).copy()
    day["Response Datetime"] = day["Response Datetime"].str.replace(source_month_day, new_day)
    day["Incident Number"] = (day["Incident Number"].astype(int) + 7_000_000).astype(str)
    pd.concat([frame, day]).to_csv(calls_file, index=False)
    return len(day)


@pytest.mark.e2e
def test_incremental_months(local_settings, sample_landing, tmp_path, warehouse_url):
    landing = tmp_path / "landing"
    shutil.copytree(sample_landing, landing)
    settings = replace(local_settings, landing_dir=landing)
    defs = build_definitions(settings)
    warehouse = Warehouse(warehouse_url, settings.warehouse_schema)
    calls_file = next((landing / "calls").iterdir())
    with dg.instance_for_test() as instance:
        # 1. Full initial load of several months.
        assert run_daily_job(settings, instance=instance).success
        # The sensor's first tick finds every month already built by the job: no run.
        requests, cursor = sensor_runs(defs, instance, None)
        assert requests == []
        done, ticks = drive(settings, defs, instance, [], None)
        assert done == {}
        rows_before = warehouse.fetch_one("SELECT count(*) FROM {f}", f="fact_911_calls")[0]

        # 2. Identical input again: the export is not even re-read, nothing re-materialized.
        again = materialize_subset(settings, "raw_911_calls", instance=instance)
        assert again.success and again.get_asset_materialization_events() == []
        requests, cursor = sensor_runs(defs, instance, cursor)
        assert requests == []
        # Forced re-read of the same bytes: same month fingerprints, still no month to re-run.
        forced = materialize_subset(
            settings,
            "raw_911_calls",
            instance=instance,
            run_config={"ops": {"raw_911_calls": {"config": {"reread_unchanged_files": True}}}},
        )
        assert len(forced.get_asset_materialization_events()) == 1
        requests, cursor = sensor_runs(defs, instance, cursor)
        assert requests == []
        done, ticks = drive(settings, defs, instance, requests, ticks)
        assert done == {}

        # 3. One new day of calls in June 2025: only June's partitions, then the unpartitioned
        #    models, risk and report.
        added = append_day(calls_file, "2025 Jun 02", "2025 Jun 30", 40)
        assert materialize_subset(settings, "raw_911_calls", instance=instance).success
        requests, cursor = sensor_runs(defs, instance, cursor)
        assert [r.tags["dagster/asset_partition_range_start"] for r in requests] == ["2025-06-01"]
        done, ticks = drive(settings, defs, instance, requests, ticks)
        for name in ("cleaned_911_calls", "enriched_911_calls", "fact_911_calls"):
            assert done[name] == {"2025-06-01"}, name
        # Only June's aggregates are recounted; the models read every month of them.
        for name in MODEL_AGGREGATES:
            assert done[name] == {"2025-06-01"}, name
        assert set(done) >= ML_AND_RISK and "daily_report" in done
        assert not {"dim_geo", "dim_event", "cleaned_events"} & set(done)
        rows_after = warehouse.fetch_one("SELECT count(*) FROM {f}", f="fact_911_calls")[0]
        assert rows_after == rows_before + added

        # 4. A late change to one call in January: only January re-runs; the fact row changes.
        frame = pd.read_csv(calls_file, dtype=str, keep_default_na=False)
        target = frame.index[frame["Response Datetime"].str.startswith("2025 Jan 15")][0]
        incident = int(frame.loc[target, "Incident Number"])
        frame.loc[target, "Call Disposition Description"] = "Supplement Written"
        frame.to_csv(calls_file, index=False)
        assert materialize_subset(settings, "raw_911_calls", instance=instance).success
        requests, cursor = sensor_runs(defs, instance, cursor)
        assert [r.tags["dagster/asset_partition_range_start"] for r in requests] == ["2025-01-01"]
        done, ticks = drive(settings, defs, instance, requests, ticks)
        assert done["fact_911_calls"] == {"2025-01-01"}
        for name in MODEL_AGGREGATES:
            assert done[name] == {"2025-01-01"}, name
        fact = warehouse.read_table(
            FACT_911_CALLS, ["incident_number", "call_disposition_description"]
        )
        changed = fact[fact["incident_number"] == incident]["call_disposition_description"]
        assert changed.tolist() == ["Supplement Written"]
