"""The Definitions load, and every asset explains itself in the UI."""

import dagster as dg
import pytest

from safebeat_assets.definitions import build_definitions
from safebeat_assets.defs.partitions import RANGE_START_TAG
from safebeat_assets.defs.schedules import DAILY_JOB_NAME, DAILY_SCHEDULE_NAME
from safebeat_assets.settings import load_settings
from safebeat_assets_tests.helpers import ASSET_GROUPS, SENSOR_NAMES, assets_in_group


@pytest.fixture(scope="module")
def defs(tmp_path_factory) -> dg.Definitions:
    settings = load_settings({"SAFEBEAT_DATA_DIR": str(tmp_path_factory.mktemp("data"))})
    return build_definitions(settings)


def test_definitions_load(defs):
    dg.Definitions.validate_loadable(defs)


def test_assets_by_group(defs):
    groups = {spec.key.to_user_string(): spec.group_name for spec in defs.resolve_all_asset_specs()}
    assert groups == ASSET_GROUPS


def test_sensors(defs):
    assert {sensor.name for sensor in defs.sensors} == SENSOR_NAMES


def test_every_asset_explains_itself(defs):
    for spec in defs.resolve_all_asset_specs():
        name = spec.key.to_user_string()
        assert spec.description and len(spec.description) > 40, name
        assert spec.owners, name
        assert spec.kinds, name
        assert spec.code_version, name


def test_lineage(defs):
    graph = defs.resolve_asset_graph()

    def parents(name: str) -> set[str]:
        return {k.to_user_string() for k in graph.get(dg.AssetKey(name)).parent_keys}

    assert parents("enriched_911_calls") == {"cleaned_911_calls", "raw_block_groups"}
    # The models read only their per-month aggregates (and depend on the call fact, whose
    # blocking checks gate them); the aggregates read the enriched calls of their month.
    assert parents("rule_transactions") == {"enriched_911_calls", "fact_event_incidents"}
    for aggregate, model in (
        ("rule_transactions", "association_rules"),
        ("block_group_call_sums", "zone_clusters"),
        ("calls_by_day", "call_forecast"),
    ):
        assert parents(model) == {"fact_911_calls", aggregate}, model
    for aggregate in (
        "calls_by_day",
        "block_group_call_sums",
        "hot_spot_call_counts",
        "calls_by_block_group_hour",
    ):
        assert parents(aggregate) == {"enriched_911_calls"}, aggregate
    assert parents("call_hot_spots") == {"fact_911_calls", "hot_spot_call_counts", "dim_geo"}
    event_inputs = {"fact_event_incidents", "dim_event", "dim_geo"}
    # The baseline's counts recount a month of call cells; the rates sum every month of them.
    assert parents("baseline_call_counts") == {*event_inputs, "calls_by_block_group_hour"}
    assert parents("call_baseline_rates") == {
        *event_inputs,
        "fact_911_calls",
        "baseline_call_counts",
        "calls_by_day",
    }
    assert parents("event_day_call_cells") == parents("baseline_call_counts")
    assert parents("calls_by_priority_category") == {"calls_by_block_group_hour"}
    assert parents("event_impact_model") == {
        *event_inputs,
        "fact_911_calls",
        "event_day_call_cells",
        "calls_by_priority_category",
        "calls_by_day",
        "call_baseline_rates",
    }
    assert parents("zone_risk_scores") == {"zone_clusters"}
    assert {"association_rules", "zone_clusters", "call_forecast", "event_risk_scores"} <= parents(
        "daily_report"
    )


def test_blocking_prechecks_guard_the_models(defs):
    graph = defs.resolve_asset_graph()
    checks = {key.name: graph.get_check_spec(key) for key in graph.asset_check_keys}
    # Each model's pre-check runs in the model's own step, guards that model only, and blocks
    # what is built from it.
    for name, model in (
        ("enough_calls_for_rules", "association_rules"),
        ("enough_geolocated_calls_for_zones", "zone_clusters"),
        ("enough_days_for_forecast", "call_forecast"),
    ):
        assert checks[name].asset_key == dg.AssetKey(model)
        assert checks[name].blocking
    for alert_check in (  # WARN, evaluated in the asset's own step, never blocking
        "warehouse_holds_enough_calls",
        "association_rules_found",
        "enough_zones_clustered",
        "forecast_generated",
        "risk_scores_not_all_zero",
    ):
        assert alert_check in checks and not checks[alert_check].blocking
    checked_assets = {spec.asset_key.to_user_string() for spec in checks.values()}
    assert checked_assets >= assets_in_group("warehouse") | assets_in_group("ml") | {
        "event_risk_scores",
        "zone_risk_scores",
    }


def test_daily_schedule_at_0300_utc(defs):
    schedule = defs.resolve_schedule_def(DAILY_SCHEDULE_NAME)
    assert schedule.cron_schedule == "0 3 * * *"
    assert schedule.execution_timezone == "UTC"
    assert schedule.default_status == dg.DefaultScheduleStatus.RUNNING
    job = defs.resolve_job_def(DAILY_JOB_NAME)
    # Everything but the report, which its own run writes once the daily run has ended.
    assert {k.to_user_string() for k in job.asset_layer.selected_asset_keys} == set(
        ASSET_GROUPS
    ) - {"daily_report"}


def test_partition_calendar_follows_the_settings_passed_in(tmp_path):
    settings = load_settings(
        {"SAFEBEAT_DATA_DIR": str(tmp_path), "SAFEBEAT_PARTITION_START": "2024-03"}
    )
    defs = build_definitions(settings)
    graph = defs.resolve_asset_graph()
    first_months = {
        key.to_user_string(): graph.get(key).partitions_def.get_first_partition_key()
        for key in graph.materializable_asset_keys
        if graph.get(key).is_partitioned
    }
    assert first_months == dict.fromkeys(
        (
            "cleaned_911_calls",
            "quarantined_911_calls",
            "enriched_911_calls",
            "fact_911_calls",
            "fact_event_incidents",
            "rule_transactions",
            "calls_by_day",
            "block_group_call_sums",
            "hot_spot_call_counts",
            "calls_by_block_group_hour",
            "baseline_call_counts",
            "event_day_call_cells",
            "calls_by_priority_category",
        ),
        "2024-03-01",
    )
    # The schedule's full run covers the same calendar.
    with dg.instance_for_test() as instance:
        context = dg.build_schedule_context(
            instance=instance, repository_def=defs.get_repository_def()
        )
        request = defs.resolve_schedule_def(DAILY_SCHEDULE_NAME)(context)
    assert request.tags[RANGE_START_TAG] == "2024-03-01"
