"""The repository's dagster.yaml gives a Postgres-backed instance with the intended policies."""

from contextlib import closing

import dagster as dg
import psycopg2
import yaml

from safebeat_assets.settings import PROJECT_ROOT


def test_production_instance_from_dagster_yaml(
    monkeypatch, dagster_home, dagster_metadata_db, warehouse_url
):
    for name, value in dagster_metadata_db.items():
        monkeypatch.setenv(name, value)
    instance = dg.DagsterInstance.from_config(str(dagster_home))
    try:
        assert instance.get_runs() == []
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
    # The storages were created where the DAGSTER_PG_* variables point.
    database = dagster_metadata_db["DAGSTER_PG_DB"]
    with closing(psycopg2.connect(warehouse_url, dbname=database)) as conn, conn.cursor() as cur:
        cur.execute("SELECT to_regclass('runs') IS NOT NULL, to_regclass('event_logs') IS NOT NULL")
        assert cur.fetchone() == (True, True)


def test_dagster_yaml_reads_connection_values_from_the_environment():
    config = yaml.safe_load((PROJECT_ROOT / "dagster.yaml").read_text())
    db = config["storage"]["postgres"]["postgres_db"]
    assert db["scheme"] == "postgresql+psycopg2"
    for key in ("hostname", "port", "username", "password", "db_name"):
        assert set(db[key]) == {"env"}, key
