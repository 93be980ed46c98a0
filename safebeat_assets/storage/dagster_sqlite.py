"""The local profile's Dagster instance storage: Dagster's SQLite storage (the same files, tables
and locking) with one SQLAlchemy engine per database file instead of one per connection.

Dagster's SQLite event log builds an engine for every connection it opens and disposes of it
after; its run storage builds one for every connection too. That is Python work only (SQLAlchemy
compiles the dialect and its event hooks each time), about 0.45 ms per connection, and a run
opens several connections per event: on a new day at 1x (four runs in one process) 1,730
engines cost 0.8 s. The engines here use `NullPool` like Dagster's, so every connection is still
a new SQLite connection, opened for one transaction and closed after it: the daemon, the
webserver and the run workers that share the files see the same locking as before. Beside
them, each kept engine holds one idle connection (`_Keeper`), so a transaction's close is never
the database's last.

Configured by the local instance's `dagster.yaml` (`demo.local_instance_yaml`, `storage: custom:`);
the production instance stores everything in PostgreSQL and does not use this.
"""

from __future__ import annotations

import os
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager

from dagster._core.storage.event_log.sqlite.sqlite_event_log import (
    SQLITE_BUSY_TIMEOUT_SECONDS,
    SqliteEventLogStorage,
)
from dagster._core.storage.runs.sqlite.sqlite_run_storage import SqliteRunStorage
from dagster._core.storage.schedules.sqlite.sqlite_schedule_storage import SqliteScheduleStorage
from dagster._core.storage.sqlite_storage import (
    DagsterSqliteStorage,
    _event_logs_directory,
    _runs_directory,
    _schedule_directory,
)
from sqlalchemy import create_engine
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.pool import NullPool

# The index shard and the shards of the runs being executed or read: a run's events go to its
# own shard, so a process rarely uses more than a few at a time.
KEPT_SHARD_ENGINES = 32


class _Keeper:
    """An idle connection held open beside an engine's per-transaction ones.

    In WAL mode, closing a database's last connection checkpoints the WAL into the database and
    deletes it, and the next connection sets it up again: with a connection per transaction,
    that was every transaction of a run (0.2 ms to close each, 1,826 on a new day at 1x). An
    idle connection holds no lock, so other processes read and write as before; the WAL is
    still checkpointed every 1,000 pages."""

    def __init__(self, engine: Engine):
        self.pid = os.getpid()
        self.connection = engine.raw_connection()
        # A connection takes its share of the WAL (what keeps a close from being the last) on
        # its first read.
        self.connection.cursor().execute("SELECT count(*) FROM sqlite_master").fetchall()
        self.connection.commit()

    def close(self) -> None:
        if os.getpid() == self.pid:
            self.connection.close()
        else:
            # A process forked with it must not close (and so checkpoint) its parent's
            # connection: SQLite forbids using a connection across fork.
            _INHERITED.append(self.connection)


_INHERITED: list = []


class SharedEngineSqliteEventLogStorage(SqliteEventLogStorage):
    """Dagster's per-run and index shards, with the engines of the most recently used shards
    kept (a long-lived webserver or daemon reads thousands of runs' shards over its life)."""

    def __init__(self, base_dir: str, inst_data=None):
        self._engines: OrderedDict[str, Engine] = OrderedDict()
        self._keepers: dict[str, _Keeper] = {}
        super().__init__(base_dir, inst_data=inst_data)

    @classmethod
    def from_config_value(cls, inst_data, config_value):
        return cls(inst_data=inst_data, **config_value)

    def _engine(self, shard: str) -> Engine:
        engine = self._engines.get(shard)
        if engine is None:
            engine = create_engine(
                self.conn_string_for_shard(shard),
                poolclass=NullPool,
                connect_args={"timeout": SQLITE_BUSY_TIMEOUT_SECONDS},
            )
            self._engines[shard] = engine
            if len(self._engines) > KEPT_SHARD_ENGINES:
                evicted, _ = self._engines.popitem(last=False)
                keeper = self._keepers.pop(evicted, None)
                if keeper:
                    keeper.close()
        else:
            self._engines.move_to_end(shard)
        return engine

    def dispose(self) -> None:
        with self._db_lock:
            for keeper in self._keepers.values():
                keeper.close()
            self._keepers.clear()
        super().dispose()

    @contextmanager
    def _connect(self, shard: str) -> Iterator[Connection]:
        # Dagster's `_connect`, with the engine kept: the lock, the first-use schema set-up and
        # the one transaction per connection are the same.
        with self._db_lock:
            engine = self._engine(shard)
            if shard not in self._initialized_dbs:
                self._initdb(engine)
                self._initialized_dbs.add(shard)
            if shard not in self._keepers:
                self._keepers[shard] = _Keeper(engine)
            with engine.connect() as conn, conn.begin():
                yield conn


class SharedEngineSqliteRunStorage(SqliteRunStorage):
    """Dagster's run storage with its engine built once."""

    def __init__(self, conn_string: str, inst_data=None):
        super().__init__(conn_string, inst_data)
        self._engine = create_engine(conn_string, poolclass=NullPool)
        self._keeper: _Keeper | None = None

    @classmethod
    def from_config_value(cls, inst_data, config_value):
        return cls.from_local(inst_data=inst_data, **config_value)

    def dispose(self) -> None:
        if self._keeper is not None:
            self._keeper.close()
            self._keeper = None
        super().dispose()

    @contextmanager
    def connect(self) -> Iterator[Connection]:
        if self._keeper is None:
            self._keeper = _Keeper(self._engine)
        with self._engine.connect() as conn, conn.begin():
            yield conn


class SharedEngineSqliteStorage(DagsterSqliteStorage):
    """`storage: sqlite:` of a Dagster home, with the run and event-log storages above (the
    schedule storage, rarely used per run, is Dagster's)."""

    def __init__(self, base_dir: str, inst_data=None):
        self.base_dir = base_dir
        self._run_storage = SharedEngineSqliteRunStorage.from_local(_runs_directory(base_dir))
        self._event_log_storage = SharedEngineSqliteEventLogStorage(_event_logs_directory(base_dir))
        self._schedule_storage = SqliteScheduleStorage.from_local(_schedule_directory(base_dir))
        self._inst_data = inst_data
        super(DagsterSqliteStorage, self).__init__()

    @classmethod
    def from_config_value(cls, inst_data, config_value):
        return cls.from_local(inst_data=inst_data, **config_value)
