"""The Dagster UI's own GraphQL API over a real webserver: what an operator sees after a run.

Field names are those of the installed dagster-graphql (schema/asset_graph.py, asset_checks.py,
sensors.py, schedules/schedules.py, instigation.py).
"""

import pytest

from safebeat_assets.defs.jobs import REPORT_JOB_NAME
from safebeat_assets.defs.partitions import RANGE_END_TAG
from safebeat_assets.defs.schedules import DAILY_JOB_NAME, DAILY_SCHEDULE_NAME
from safebeat_assets_tests.helpers import ASSET_GROUPS, SENSOR_NAMES

# Tables and models whose materialization records `dagster/row_count`.
ROW_COUNTED = {
    "raw_911_calls",
    "cleaned_911_calls",
    "enriched_911_calls",
    "dim_geo",
    "dim_event",
    "fact_911_calls",
    "fact_event_incidents",
    "association_rules",
    "zone_clusters",
    "call_forecast",
    "event_risk_scores",
    "zone_risk_scores",
    "call_hot_spots",
}
SCHEDULE = DAILY_SCHEDULE_NAME

ASSETS_QUERY = """
{
  assetNodes {
    assetKey { path }
    description
    groupName
    jobNames
    assetMaterializations(limit: 1) {
      runId
      partition
      metadataEntries {
        label
        ... on IntMetadataEntry { intValue }
      }
    }
    assetChecksOrError {
      __typename
      ... on AssetChecks {
        checks {
          name
          blocking
          executionForLatestMaterialization {
            runId
            status
            evaluation { success severity }
          }
        }
      }
    }
  }
}
"""

INSTIGATORS_QUERY = """
{
  repositoriesOrError {
    ... on RepositoryConnection {
      nodes {
        name
        location { name }
        jobs { name }
        schedules { name cronSchedule scheduleState { status } }
        sensors { name sensorState { status } }
      }
    }
  }
}
"""


@pytest.fixture(scope="module")
def asset_nodes(ui_server) -> dict[str, dict]:
    nodes = ui_server.graphql(ASSETS_QUERY)["assetNodes"]
    return {"/".join(node["assetKey"]["path"]): node for node in nodes}


@pytest.mark.e2e
def test_ui_lists_every_asset_with_description_and_group(ui_server, asset_nodes):
    assert ui_server.startup_seconds < 90
    assert {name: node["groupName"] for name, node in asset_nodes.items()} == ASSET_GROUPS
    for name, node in asset_nodes.items():
        assert (node["description"] or "").strip(), f"{name} has no description in the UI"
        # The report has a job of its own, run after each daily run; everything else is daily.
        job = REPORT_JOB_NAME if name == "daily_report" else DAILY_JOB_NAME
        assert job in node["jobNames"], name


@pytest.mark.e2e
def test_ui_shows_latest_materializations_with_row_counts(ui_server, asset_nodes):
    run_id = ui_server.run_result.run_id
    report_run_id = ui_server.run_result.report_run.run_id
    for name, node in asset_nodes.items():
        latest = node["assetMaterializations"]
        assert latest, f"{name} has no materialization in the UI"
        assert latest[0]["runId"] == (report_run_id if name == "daily_report" else run_id), name
    for name in ROW_COUNTED:
        entries = {
            e["label"]: e for e in asset_nodes[name]["assetMaterializations"][0]["metadataEntries"]
        }
        assert "dagster/row_count" in entries, f"{name}: {sorted(entries)}"
        assert entries["dagster/row_count"]["intValue"] > 0, name
    # Monthly assets show the last partition of the run's range (every month up to now).
    last_month = ui_server.run_result.daily.dagster_run.tags[RANGE_END_TAG]
    assert asset_nodes["fact_911_calls"]["assetMaterializations"][0]["partition"] == last_month


@pytest.mark.e2e
def test_ui_shows_an_evaluation_for_every_check_the_run_executed(ui_server, asset_nodes):
    """The daily job selects every asset and so every check: each one shows its latest result."""
    run = ui_server.run_result
    evaluated = {
        (e.asset_key.to_user_string(), e.check_name): e.passed
        for e in run.get_asset_check_evaluations()
    }
    shown = {}
    for name, node in asset_nodes.items():
        checks = node["assetChecksOrError"]
        assert checks["__typename"] == "AssetChecks", (name, checks)
        for check in checks["checks"]:
            execution = check["executionForLatestMaterialization"]
            assert execution is not None, f"{name}.{check['name']} was never executed"
            assert execution["runId"] == run.run_id
            assert execution["evaluation"] is not None, f"{name}.{check['name']}"
            shown[(name, check["name"])] = execution["evaluation"]["success"]
            assert execution["status"] == (
                "SUCCEEDED" if shown[(name, check["name"])] else "FAILED"
            )
    # 28 before the hot-spot (2) and event-impact (4: 2 SQL on call_baseline_rates, 2 in
    # event_impact_model's step) stages.
    assert len(shown) == len(run.daily.job_def.asset_layer.asset_graph.asset_check_keys) == 34
    assert shown == evaluated
    # Integrity checks of the warehouse tables pass on the sample; the 100k alert rule does not.
    for key in [
        ("fact_911_calls", "no_duplicate_calls"),
        ("dim_geo", "geo_ids_unique_in_dim_geo"),
        ("dim_event", "event_ids_unique"),
        ("fact_event_incidents", "no_duplicate_event_links"),
    ]:
        assert shown[key] is True, key
    assert shown[("fact_911_calls", "warehouse_holds_enough_calls")] is False


@pytest.mark.e2e
def test_ui_shows_schedule_and_sensors_running(ui_server):
    repositories = ui_server.graphql(INSTIGATORS_QUERY)["repositoriesOrError"]["nodes"]
    assert [r["location"]["name"] for r in repositories] == ["safebeat"]
    repository = repositories[0]
    assert DAILY_JOB_NAME in {job["name"] for job in repository["jobs"]}
    schedules = {s["name"]: s for s in repository["schedules"]}
    assert set(schedules) == {SCHEDULE}
    assert schedules[SCHEDULE]["scheduleState"]["status"] == "RUNNING"
    assert schedules[SCHEDULE]["cronSchedule"] == "0 3 * * *"
    sensors = {s["name"]: s["sensorState"]["status"] for s in repository["sensors"]}
    assert sensors == dict.fromkeys(SENSOR_NAMES, "RUNNING")
