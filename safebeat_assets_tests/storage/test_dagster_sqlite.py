"""The local instance's SQLite storage with kept engines: the same files as Dagster's own, read
back by Dagster's own storage, one engine per shard however many connections."""

import os
import sqlite3
from pathlib import Path

import dagster as dg
import pytest

from safebeat_assets.demo import local_instance_yaml
from safebeat_assets.storage.dagster_sqlite import (
    KEPT_SHARD_ENGINES,
    SharedEngineSqliteEventLogStorage,
    SharedEngineSqliteRunStorage,
    SharedEngineSqliteStorage,
)


@dg.asset
def counted() -> dg.MaterializeResult:
    return dg.MaterializeResult(metadata={"dagster/row_count": 3})


@pytest.fixture
def dagster_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text(local_instance_yaml(home))
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    return home


def test_the_local_instance_keeps_one_engine_per_shard(dagster_home: Path):
    with dg.DagsterInstance.get() as instance:
        assert instance.get_ref().storage_data.class_name == SharedEngineSqliteStorage.__name__
        events = instance.event_log_storage
        assert isinstance(events, SharedEngineSqliteEventLogStorage)
        assert isinstance(instance.run_storage, SharedEngineSqliteRunStorage)
        run_engine = instance.run_storage._engine
        for _ in range(2):
            result = dg.materialize([counted], instance=instance)
            assert result.success
        assert instance.run_storage._engine is run_engine
        # The index shard and the two runs' shards; every event went through these three.
        assert set(events._engines) == {"index", *(r.run_id for r in instance.get_runs())}
        record = instance.get_latest_materialization_event(counted.key)
        assert record.asset_materialization.metadata["dagster/row_count"].value == 3


def test_dagster_s_own_storage_reads_what_it_wrote(dagster_home: Path, tmp_path: Path):
    with dg.DagsterInstance.get() as instance:
        run_id = dg.materialize([counted], instance=instance).run_id
    plain = tmp_path / "plain_home"
    plain.mkdir()
    (plain / "dagster.yaml").write_text(
        f"storage:\n  sqlite:\n    base_dir: {dagster_home}\ntelemetry:\n  enabled: false\n"
    )
    os.environ["DAGSTER_HOME"] = str(plain)
    with dg.DagsterInstance.get() as instance:
        assert type(instance.event_log_storage).__name__ == "SqliteEventLogStorage"
        assert instance.get_run_by_id(run_id).status == dg.DagsterRunStatus.SUCCESS
        logged = {e.dagster_event_type for e in instance.all_logs(run_id) if e.is_dagster_event}
        assert dg.DagsterEventType.ASSET_MATERIALIZATION in logged
        assert instance.get_latest_materialization_event(counted.key).run_id == run_id


def storage_with_shards(folder: Path, count: int):
    """An event-log storage after one transaction on each of `count` run shards."""
    events = SharedEngineSqliteEventLogStorage(str(folder))
    shards = [f"run-{n}" for n in range(count)]
    for shard in shards:
        with events.run_connection(shard) as conn:
            conn.exec_driver_sql("SELECT 1")
    return events, shards


def test_only_the_recently_used_shards_keep_an_engine(tmp_path: Path):
    events, shards = storage_with_shards(tmp_path / "runs", KEPT_SHARD_ENGINES + 5)
    assert list(events._engines) == shards[-KEPT_SHARD_ENGINES:]
    kept = events._engines[shards[-1]]
    with events.run_connection(shards[-1]):
        pass
    assert events._engines[shards[-1]] is kept


def test_each_kept_engine_holds_one_idle_connection_that_locks_nothing(tmp_path: Path):
    events, shards = storage_with_shards(tmp_path / "runs", KEPT_SHARD_ENGINES + 2)
    assert list(events._keepers) == shards[-KEPT_SHARD_ENGINES:]
    evicted = shards[0]
    last = events._keepers[shards[-1]].connection.driver_connection
    # The transactions' connections closed, the WAL stays (no checkpoint-and-delete per close).
    assert (tmp_path / "runs" / f"{shards[-1]}.db-wal").exists()
    assert not (tmp_path / "runs" / f"{evicted}.db-wal").exists()  # its keeper was closed
    # Another connection (another process's, say) writes while the keeper is open.
    other = sqlite3.connect(tmp_path / "runs" / f"{shards[-1]}.db", timeout=0)
    other.execute("BEGIN IMMEDIATE")
    other.execute("CREATE TABLE written_beside_the_keeper (n INTEGER)")
    other.commit()
    other.close()
    events.dispose()
    assert events._keepers == {}
    with pytest.raises(sqlite3.ProgrammingError):
        last.cursor()
