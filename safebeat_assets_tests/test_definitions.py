"""The Definitions load, and every asset explains itself in the UI."""

import dagster as dg
import pytest

from safebeat_assets.definitions import build_definitions
from safebeat_assets.settings import load_settings

EXPECTED_ASSETS = {
    "raw": {"raw_911_calls", "raw_events", "raw_block_groups"},
    "cleaned": {"cleaned_911_calls", "quarantined_911_calls", "cleaned_events"},
    "enriched": {"enriched_911_calls"},
    "warehouse": {"dim_geo", "dim_event", "fact_911_calls", "fact_event_incidents"},
    "ml": {"association_rules", "zone_clusters", "call_forecast"},
    "risk": {"event_risk_scores", "zone_risk_scores"},
    "reporting": {"daily_report"},
}


@pytest.fixture(scope="module")
def defs(tmp_path_factory) -> dg.Definitions:
    settings = load_settings({"SAFEBEAT_DATA_DIR": str(tmp_path_factory.mktemp("data"))})
    return build_definitions(settings)


def test_definitions_load(defs):
    dg.Definitions.validate_loadable(defs)


def test_assets_by_group(defs):
    groups: dict[str, set[str]] = {}
    for spec in defs.resolve_all_asset_specs():
        groups.setdefault(spec.group_name, set()).add(spec.key.to_user_string())
    assert groups == EXPECTED_ASSETS


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
    assert {"fact_911_calls", "fact_event_incidents"} <= parents("association_rules")
    assert parents("zone_risk_scores") == {"zone_clusters"}
    assert {"association_rules", "zone_clusters", "call_forecast", "event_risk_scores"} <= parents(
        "daily_report"
    )


def test_blocking_prechecks_guard_the_models(defs):
    graph = defs.resolve_asset_graph()
    checks = {key.name: graph.get_check_spec(key) for key in graph.asset_check_keys}
    for name in (
        "enough_calls_for_rules",
        "enough_geolocated_calls_for_zones",
        "enough_days_for_forecast",
    ):
        assert checks[name].asset_key == dg.AssetKey("fact_911_calls")
        assert checks[name].blocking
    for alert_check in (  # WARN, evaluated in the asset's own step, never blocking
        "warehouse_holds_100k_calls",
        "association_rules_found",
        "at_least_100_zones_clustered",
        "forecast_generated",
        "risk_scores_not_all_zero",
    ):
        assert alert_check in checks and not checks[alert_check].blocking
    checked_assets = {spec.asset_key.to_user_string() for spec in checks.values()}
    assert (
        checked_assets
        >= EXPECTED_ASSETS["warehouse"] | EXPECTED_ASSETS["ml"] | EXPECTED_ASSETS["risk"]
    )


def test_daily_schedule_at_0300_utc(defs):
    schedule = defs.get_schedule_def("safebeat_daily_schedule")
    assert schedule.cron_schedule == "0 3 * * *"
    assert schedule.execution_timezone == "UTC"
    assert schedule.default_status == dg.DefaultScheduleStatus.RUNNING
    job = defs.resolve_job_def("safebeat_daily_job")
    assert len(job.asset_layer.selected_asset_keys) == sum(len(v) for v in EXPECTED_ASSETS.values())
