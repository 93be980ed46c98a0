"""The repository's dagster.yaml gives a Postgres-backed instance with the intended policies."""

import dagster as dg
import yaml

from safebeat_assets.settings import PROJECT_ROOT


def test_production_instance_from_dagster_yaml(monkeypatch, dagster_home, dagster_metadata_db):
    for name, value in dagster_metadata_db.items():
        monkeypatch.setenv(name, value)
    instance = dg.DagsterInstance.from_config(str(dagster_home))
    try:
        assert type(instance.run_storage).__name__ == "PostgresRunStorage"
        assert type(instance.event_log_storage).__name__ == "PostgresEventLogStorage"
        assert type(instance.schedule_storage).__name__ == "PostgresScheduleStorage"
        assert type(instance.run_coordinator).__name__ == "QueuedRunCoordinator"
        assert instance.get_concurrency_config().run_queue_config.max_concurrent_runs == 2
        assert instance.run_monitoring_enabled
        assert instance.get_settings("freshness") == {"enabled": True}
        assert instance.get_settings("telemetry") == {"enabled": False}
        assert instance.get_settings("retention")["schedule"]["purge_after_days"] == 90
    finally:
        instance.dispose()


def test_dagster_yaml_reads_connection_values_from_the_environment():
    config = yaml.safe_load((PROJECT_ROOT / "dagster.yaml").read_text())
    db = config["storage"]["postgres"]["postgres_db"]
    assert db["scheme"] == "postgresql+psycopg2"
    for key in ("hostname", "port", "username", "password", "db_name"):
        assert set(db[key]) == {"env"}, key
