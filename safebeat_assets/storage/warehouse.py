"""PostgreSQL warehouse client: DDL from table specs, bulk COPY writes, fast reads.

A write is write, audit, publish in one transaction: COPY into a temporary staging table; audit
the staged rows (the table's declared audits, NULL-free required columns, unique keys) and
compare the rows it would leave per month with the table's current contents (the last good
load: an empty or truncated export must not delete history); then delete rows whose key
vanished, insert new keys and update only rows whose values changed, and commit. Any failure
rolls back: readers never see a half-written table, the previous contents stay, and re-running
with the same data writes nothing.

Connections have server-side timeouts and a client-side deadline (see `pg_timeouts`), so a
frozen or vanished server ends the write with a `WarehouseUnavailableError` naming the server.
"""

from __future__ import annotations

import datetime as dt
import io
import logging
import queue
import threading
import time
from collections.abc import Collection, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace

import pandas as pd
import psycopg2
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
from psycopg2 import sql

from ..domain import LOCAL_TZ
from ..errors import DataError
from ..guards import RemovalBounds, refuse_destructive_change, removes_enough_to_refuse
from . import pg_binary, pg_timeouts, spatial_sql
from .pg_timeouts import Timeouts
from .tables import TABLES, Audit, TableSpec

log = logging.getLogger(__name__)
_PREPARED: set[tuple[str, str]] = set()  # (dsn, schema) whose tables, views exist in this process
COPY_BATCH_ROWS = 8192
COPY_READ_BYTES = 1 << 20  # psycopg2 reads 8 KiB per call by default
AUDIT_EXAMPLES = 5  # offending keys quoted in an audit failure
# From this many appended rows, one join re-validating a foreign key can beat a per-row check
# at commit (measured: 280K fact rows, 0.15 s against 0.8 s)...
SET_ASIDE_FOREIGN_KEYS_ROWS = 50_000
# ...but the join reads the whole table, so only while the table holds fewer than this many
# times the appended rows. Measured at 8.35 million fact rows: re-validating took 1.4-3.7 s, the
# per-row checks of a 280K-row append 1.1-1.2 s (about 4 us a row against 0.2-0.4 us a stored
# row: even at 10 the per-row checks are no slower).
SET_ASIDE_FOREIGN_KEYS_TABLE_RATIO = 8
WHOLE_TABLE = "all rows"  # the one "month" of a table without a partition column
OUTSIDE_SLICE = "months outside this write"  # counted, never changed: for the overall bound


class WarehouseSchemaError(DataError):
    """A frame or an existing table does not match the declared table spec."""


@dataclass(frozen=True)
class AuditFailure:
    audit: str
    rows: int
    examples: tuple[str, ...] = ()


class WarehouseAuditError(DataError):
    """A new load breaks one of its table's audits: refused before publishing, nothing written."""

    def __init__(self, table: str, staged_rows: int, failures: Sequence[AuditFailure]):
        self.table = table
        self.failures = tuple(failures)
        parts = []
        for failure in self.failures:
            example = f" (e.g. {'; '.join(failure.examples)})" if failure.examples else ""
            parts.append(
                f"audit '{failure.audit}' failed for {failure.rows:,} of {staged_rows:,} "
                f"staged row(s){example}"
            )
        super().__init__(
            f"{table}: {'; '.join(parts)}. Nothing was written: the table keeps its previous "
            "contents."
        )


@dataclass(frozen=True)
class WriteStats:
    table: str
    rows: int
    inserted: int
    updated: int
    deleted: int
    seconds: float
    # Removal bounds the run's override tag let through, for the run's log.
    removal_overridden: tuple[str, ...] = ()

    @property
    def rows_written(self) -> int:
        return self.inserted + self.updated + self.deleted


def frame_to_arrow(
    spec: TableSpec, frame: pd.DataFrame, ignored_columns: Collection[str] = ()
) -> pa.Table:
    """Cast a frame to the spec's Arrow schema; missing or unexpected columns are errors (but
    `ignored_columns`, which are not stored)."""
    missing = [c for c in spec.column_names if c not in frame.columns]
    extra = [c for c in frame.columns if c not in spec.column_names and c not in ignored_columns]
    if missing or extra:
        raise WarehouseSchemaError(
            f"frame for table {spec.name} does not match its spec: "
            f"missing columns {missing}, unexpected columns {extra}"
        )
    arrays = []
    for col in spec.columns:
        array = pa.array(frame[col.name], from_pandas=True)
        target = col.arrow_type
        if (
            pa.types.is_timestamp(target)
            and pa.types.is_timestamp(array.type)
            and array.type.tz is None
        ):
            raise WarehouseSchemaError(
                f"{spec.name}.{col.name} must be a tz-aware timestamp, got naive values"
            )
        if pa.types.is_date(target) and pa.types.is_timestamp(array.type):
            array = pc.cast(array, pa.timestamp("us"))
        try:
            array = pc.cast(array, target)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
            raise WarehouseSchemaError(
                f"{spec.name}.{col.name}: cannot store {array.type} as {col.pg_type}: {exc}"
            ) from exc
        arrays.append(array)
    return pa.Table.from_arrays(arrays, names=spec.column_names)


class _CopyStream(io.RawIOBase):
    """A file-like view of an Arrow table in PostgreSQL's binary COPY format. A background
    thread encodes the batches (numpy releases the GIL) while the server ingests the previous
    ones, so encoding and the server's work overlap on a 2-core machine."""

    def __init__(self, table: pa.Table):
        self._chunks: queue.Queue[bytes | BaseException | None] = queue.Queue(maxsize=4)
        self._current = memoryview(b"")
        self._done = False
        self._abandoned = threading.Event()
        self._producer = threading.Thread(
            target=self._render, args=(table,), name="copy-binary", daemon=True
        )
        self._producer.start()

    def _render(self, table: pa.Table) -> None:
        try:
            for chunk in pg_binary.encode_table(table, COPY_BATCH_ROWS):
                self._chunks.put(chunk)
                if self._abandoned.is_set():
                    return
        except BaseException as exc:  # handed to the reading thread, which raises it
            self._chunks.put(exc)
            return
        self._chunks.put(None)

    def readable(self) -> bool:
        return True

    def close(self) -> None:
        """Stop the producer (a failed COPY stops reading mid-table) and free its chunks."""
        self._abandoned.set()
        while self._producer.is_alive():
            try:
                self._chunks.get(timeout=0.1)
            except queue.Empty:
                continue
        super().close()

    def read(self, size: int = -1) -> bytes:
        while not self._current and not self._done:
            chunk = self._chunks.get()
            if isinstance(chunk, BaseException):
                self._done = True
                raise chunk
            if chunk is None:
                self._done = True
            else:
                self._current = memoryview(chunk)
        if size < 0 or size > len(self._current):
            size = len(self._current)
        piece, self._current = self._current[:size], self._current[size:]
        return piece.tobytes()


class Warehouse:
    """Connection factory and table operations for one schema of one database."""

    def __init__(
        self,
        dsn: str,
        schema: str = "safebeat",
        spatial: bool | None = None,
        timeouts: Timeouts | None = None,
        time_zone: str = LOCAL_TZ,
    ):
        """`spatial=None` detects PostGIS; False leaves geometry out even where it exists.
        `time_zone`: the city's, in which timestamptz columns are read back."""
        self.dsn = dsn
        self.time_zone = time_zone
        self.schema = schema
        self._postgis: bool | None = spatial
        self.timeouts = timeouts or Timeouts()
        self.where = pg_timeouts.describe_dsn(dsn)  # for messages: never the password

    @property
    def postgis(self) -> bool:
        """Whether PostGIS is installed in the database (installing it when the role may)."""
        if self._postgis is None:
            self._postgis = self._detect_postgis()
        return self._postgis

    def _detect_postgis(self) -> bool:
        with self.connect() as conn, conn.cursor() as cur:
            cur.execute(
                "SELECT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'postgis'), "
                "EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'postgis'), "
                "(SELECT rolsuper FROM pg_roles WHERE rolname = current_user)"
            )
            installed, available, superuser = cur.fetchone()
            if installed:
                return True
            if not available:
                log.info("PostGIS is not available on this server: tables get no geometry")
                return False
            if not superuser:
                # PostGIS is not a trusted extension: the pipeline's role (no superuser) cannot
                # install it, the administrator's set-up does.
                log.warning(
                    "PostGIS is available on %s but not installed in this database, and this "
                    "role may not install it (an administrator runs CREATE EXTENSION postgis): "
                    "tables get no geometry",
                    self.where,
                )
                return False
            cur.execute("CREATE EXTENSION IF NOT EXISTS postgis")
            conn.commit()
            return True

    @contextmanager
    def connect(self) -> Iterator[pg_timeouts.GuardedConnection]:
        """A connection in UTC with the client's timeouts; closed afterwards."""
        conn = pg_timeouts.connect(self.dsn, self.timeouts, self.where)
        try:
            yield conn
        finally:
            conn.close()

    def _table(self, name: str) -> sql.Composed:
        return sql.SQL("{}.{}").format(sql.Identifier(self.schema), sql.Identifier(name))

    # --- DDL -------------------------------------------------------------------------------
    def create_table_sql(self, spec: TableSpec) -> sql.Composed:
        # Names are quoted identifiers; types, referential actions and geometry expressions
        # are SQL text from tables.py, whose specs accept only allow-listed spellings.
        parts = [
            sql.SQL("{} {}{}").format(
                sql.Identifier(c.name),
                sql.SQL(c.pg_type),
                sql.SQL("" if c.nullable else " NOT NULL"),
            )
            for c in spec.columns
        ]
        if self.postgis:
            parts += [self._geometry_column_sql(g) for g in spec.geometry]
        parts.append(
            sql.SQL("CONSTRAINT {} PRIMARY KEY ({})").format(
                sql.Identifier(f"{spec.name}_pkey"),
                sql.SQL(", ").join(map(sql.Identifier, spec.primary_key)),
            )
        )
        for fk in spec.foreign_keys:
            parts.append(
                sql.SQL(
                    "CONSTRAINT {} FOREIGN KEY ({}) REFERENCES {} ({}) ON DELETE {} "
                    "DEFERRABLE INITIALLY DEFERRED"
                ).format(
                    sql.Identifier(f"{spec.name}_{'_'.join(fk.columns)}_fkey"),
                    sql.SQL(", ").join(map(sql.Identifier, fk.columns)),
                    self._table(fk.ref_table),
                    sql.SQL(", ").join(map(sql.Identifier, fk.ref_columns)),
                    sql.SQL(fk.on_delete),
                )
            )
        return sql.SQL("CREATE TABLE IF NOT EXISTS {} ({})").format(
            self._table(spec.name), sql.SQL(", ").join(parts)
        )

    @staticmethod
    def _geometry_column_sql(geometry) -> sql.Composed:
        return sql.SQL("{} geometry({}, 4326) GENERATED ALWAYS AS ({}) STORED").format(
            sql.Identifier(geometry.name),
            sql.SQL(geometry.geometry_type),
            sql.SQL(geometry.expression),
        )

    def _ensure_geometry(self, cur, spec: TableSpec) -> None:
        cur.execute(
            "SELECT column_name FROM information_schema.columns "
            "WHERE table_schema = %s AND table_name = %s",
            (self.schema, spec.name),
        )
        existing = {row[0] for row in cur.fetchall()}
        for geometry in spec.geometry:
            if geometry.name not in existing:
                cur.execute(
                    sql.SQL("ALTER TABLE {} ADD COLUMN {}").format(
                        self._table(spec.name), self._geometry_column_sql(geometry)
                    )
                )
            cur.execute(
                sql.SQL("CREATE INDEX IF NOT EXISTS {} ON {} USING GIST ({})").format(
                    sql.Identifier(f"{spec.name}_{geometry.name}_gist"),
                    self._table(spec.name),
                    sql.Identifier(geometry.name),
                )
            )
            if geometry.geometry_type == "Point":
                # Distance searches in metres cast to geography; index that expression too.
                cur.execute(
                    sql.SQL(
                        "CREATE INDEX IF NOT EXISTS {} ON {} USING GIST (({}::geography))"
                    ).format(
                        sql.Identifier(f"{spec.name}_{geometry.name}_geog_gist"),
                        self._table(spec.name),
                        sql.Identifier(geometry.name),
                    )
                )

    def ensure_schema_objects(self) -> None:
        """All tables, indexes and views (plus the PostGIS function), once per process."""
        key = (self.dsn, self.schema)
        if key in _PREPARED:
            return
        self.ensure_tables()
        statements = spatial_sql.views_sql(self.schema)
        if self.postgis:
            statements.append(spatial_sql.nearby_incidents_function_sql(self.schema))
        with self.connect() as conn, conn.cursor() as cur:
            for statement in statements:
                cur.execute(statement)
            conn.commit()
        _PREPARED.add(key)

    def ensure_tables(self, specs: Sequence[TableSpec] | None = None) -> None:
        """Create the schema, tables (in dependency order) and indexes; add new columns."""
        specs = list(specs or TABLES.values())
        with self.connect() as conn, conn.cursor() as cur:
            cur.execute(
                sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(self.schema))
            )
            for spec in specs:
                cur.execute(self.create_table_sql(spec))
                self._migrate_columns(cur, spec)
                if self.postgis:
                    self._ensure_geometry(cur, spec)
                cur.execute(
                    sql.SQL("COMMENT ON TABLE {} IS %s").format(self._table(spec.name)),
                    (spec.description,),
                )
                for cols in spec.indexes:
                    cur.execute(
                        sql.SQL("CREATE INDEX IF NOT EXISTS {} ON {} ({})").format(
                            sql.Identifier(f"{spec.name}_{'_'.join(cols)}_idx"),
                            self._table(spec.name),
                            sql.SQL(", ").join(map(sql.Identifier, cols)),
                        )
                    )
            conn.commit()

    def _migrate_columns(self, cur, spec: TableSpec) -> None:
        cur.execute(
            "SELECT column_name, data_type, character_maximum_length FROM information_schema.columns "
            "WHERE table_schema = %s AND table_name = %s",
            (self.schema, spec.name),
        )
        existing = {row[0]: row for row in cur.fetchall()}
        mismatched = []
        for col in spec.columns:
            if col.name not in existing:
                cur.execute(
                    sql.SQL("ALTER TABLE {} ADD COLUMN {} {}").format(
                        self._table(spec.name),
                        sql.Identifier(col.name),
                        sql.SQL(col.pg_type),  # allow-listed in tables.py
                    )
                )
            elif not _same_type(col.pg_type, existing[col.name][1], existing[col.name][2]):
                mismatched.append(
                    f"{col.name}: table has {existing[col.name][1]}, spec {col.pg_type}"
                )
        if mismatched:
            raise WarehouseSchemaError(
                f"{self.schema}.{spec.name} has incompatible column types ({'; '.join(mismatched)}); "
                "migrate or drop the table explicitly"
            )

    # --- writes ----------------------------------------------------------------------------
    def replace_table(
        self,
        spec: TableSpec,
        frame: pd.DataFrame,
        date_slice: tuple[dt.date, dt.date] | None = None,
        ignored_columns: Collection[str] = (),
        removal_bounds: RemovalBounds | None = None,
        run_tags: Mapping[str, str] | None = None,
    ) -> WriteStats:
        """Make the table (or, with `date_slice` = [start, end), the rows whose partition column
        falls in it) hold exactly `frame` (less its `ignored_columns`), in one transaction,
        touching only changed rows.

        Refused with a DataError, nothing written, when the rows break an audit of the table or
        when the write would remove more rows than `removal_bounds` allow (per month of the
        partition column, and overall) unless `run_tags` carry the override tag."""
        started = time.perf_counter()
        if date_slice is not None:
            _check_inside_slice(spec, frame, date_slice)
        table = frame_to_arrow(spec, frame, ignored_columns)
        _audit_required_columns(self._name(spec), spec, table)
        self.ensure_schema_objects()
        staging = sql.Identifier(f"staging_{spec.name}")
        target = self._table(spec.name)
        cols = sql.SQL(", ").join(map(sql.Identifier, spec.column_names))
        key_match = sql.SQL(" AND ").join(
            sql.SQL("s.{0} = t.{0}").format(sql.Identifier(k)) for k in spec.primary_key
        )
        value_cols = [c for c in spec.column_names if c not in spec.primary_key]
        with self.connect() as conn:
            try:
                with conn.cursor() as cur:
                    cur.execute(sql.SQL("SELECT EXISTS (SELECT 1 FROM {})").format(target))
                    if not cur.fetchone()[0]:
                        # First load: nothing to compare against, so COPY straight in.
                        self._bulk_load(cur, spec, table, cols)
                        conn.commit()
                        return WriteStats(
                            table=spec.name,
                            rows=table.num_rows,
                            inserted=table.num_rows,
                            updated=0,
                            deleted=0,
                            seconds=time.perf_counter() - started,
                        )
                    if spec.replaced_wholesale and date_slice is None:
                        stats = self._replace_wholesale(
                            cur, spec, table, cols, removal_bounds, run_tags or {}
                        )
                        conn.commit()
                        return replace(stats, seconds=time.perf_counter() - started)
                    cur.execute(
                        sql.SQL(
                            "CREATE TEMPORARY TABLE {} (LIKE {} INCLUDING DEFAULTS) ON COMMIT DROP"
                        ).format(staging, target)
                    )
                    self._copy_in(cur, staging, cols, table)
                    self._audit(cur, spec, staging, table.num_rows)
                    self._add_key_or_report_duplicates(
                        cur,
                        spec,
                        staging,
                        sql.SQL("ALTER TABLE {} ADD PRIMARY KEY ({})").format(
                            staging, sql.SQL(", ").join(map(sql.Identifier, spec.primary_key))
                        ),
                        table.num_rows,
                    )
                    overridden = self._bound_removal(
                        cur, spec, table, date_slice, removal_bounds, run_tags or {}
                    )
                    in_slice, params = sql.SQL("TRUE"), {}
                    if date_slice is not None:
                        in_slice = sql.SQL("t.{0} >= %(start)s AND t.{0} < %(end)s").format(
                            sql.Identifier(spec.partition_column)
                        )
                        params = {"start": date_slice[0], "end": date_slice[1]}
                    appended = None
                    new_slice = date_slice is not None and not self._holds_rows(
                        cur, target, in_slice, params
                    )
                    if new_slice:
                        appended = self._append(cur, spec, staging, cols, table.num_rows)
                    if appended is not None:
                        inserted, updated, deleted = appended, 0, 0
                    else:
                        cur.execute(
                            sql.SQL(
                                "DELETE FROM {} t WHERE {} AND NOT EXISTS "
                                "(SELECT 1 FROM {} s WHERE {})"
                            ).format(target, in_slice, staging, key_match),
                            params,
                        )
                        deleted = cur.rowcount
                        cur.execute(self._upsert_sql(spec, staging, cols, value_cols))
                        inserted, updated = cur.fetchone()
                conn.commit()
            except BaseException:
                _rollback_quietly(conn)
                raise
        return WriteStats(
            table=spec.name,
            rows=table.num_rows,
            inserted=int(inserted or 0),
            updated=int(updated or 0),
            deleted=max(deleted, 0),
            seconds=time.perf_counter() - started,
            removal_overridden=tuple(overridden),
        )

    def _replace_wholesale(
        self,
        cur,
        spec: TableSpec,
        table: pa.Table,
        cols: sql.Composable,
        removal_bounds: RemovalBounds | None,
        run_tags: Mapping[str, str],
    ) -> WriteStats:
        """`replace_table` for a table whose every row is recomputed by every run: the removal
        bounds as for a diff, then TRUNCATE and the first load's bulk path in the caller's
        transaction (a failure leaves the previous rows; readers wait for the commit)."""
        overridden = self._bound_removal(cur, spec, table, None, removal_bounds, run_tags)
        target = self._table(spec.name)
        cur.execute(sql.SQL("SELECT count(*) FROM {}").format(target))
        previous = int(cur.fetchone()[0])
        cur.execute(sql.SQL("TRUNCATE {}").format(target))
        self._bulk_load(cur, spec, table, cols)
        return WriteStats(
            table=spec.name,
            rows=table.num_rows,
            inserted=table.num_rows,
            updated=0,
            deleted=previous,
            seconds=0.0,
            removal_overridden=tuple(overridden),
        )

    @staticmethod
    def _holds_rows(cur, target: sql.Composable, where: sql.Composable, params: dict) -> bool:
        cur.execute(
            sql.SQL("SELECT EXISTS (SELECT 1 FROM {} t WHERE {})").format(target, where), params
        )
        return bool(cur.fetchone()[0])

    def _append(
        self, cur, spec: TableSpec, staging: sql.Composable, cols: sql.Composable, rows: int
    ) -> int | None:
        """The staged rows of a slice the table holds no rows of yet (new months; every run of a
        cold backfill after the first) as one plain INSERT: there is nothing to delete, and no
        row to compare, so the upsert's conflict handling is pure cost. A large append to a table
        not many times its size sets the table's own foreign keys aside and re-adds them, one
        join validating every row instead of a per-row check at commit (the re-add briefly locks
        the table, as a first load does; other appends keep the per-row checks). Returns the
        rows inserted, or None (nothing changed) when a staged key already exists outside the
        slice: the upsert then decides, as for any other write."""
        target = self._table(spec.name)
        cur.execute("SAVEPOINT append")
        try:
            foreign_keys = []
            if set_aside_foreign_keys(rows, self._stored_rows_estimate(cur, target)):
                cur.execute(
                    "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
                    "WHERE conrelid = %s::regclass AND contype = 'f' ORDER BY conname",
                    (target.as_string(cur),),
                )
                foreign_keys = cur.fetchall()
            for name, _ in foreign_keys:
                cur.execute(
                    sql.SQL("ALTER TABLE {} DROP CONSTRAINT {}").format(
                        target, sql.Identifier(name)
                    )
                )
            cur.execute(
                sql.SQL("INSERT INTO {} ({}) SELECT {} FROM {}").format(target, cols, cols, staging)
            )
            inserted = cur.rowcount
            for name, definition in foreign_keys:
                cur.execute(self._add_constraint_sql(target, name, definition))
        except psycopg2.errors.UniqueViolation:
            cur.execute("ROLLBACK TO SAVEPOINT append")
            return None
        cur.execute("RELEASE SAVEPOINT append")
        return inserted

    @staticmethod
    def _stored_rows_estimate(cur, target: sql.Composable) -> float | None:
        """The table's rows as the planner estimates them, without reading it: the row density
        of its last VACUUM, ANALYZE or index build times its pages now. None if never measured."""
        cur.execute(
            "SELECT reltuples, relpages, "
            "pg_relation_size(oid) / current_setting('block_size')::int "
            "FROM pg_class WHERE oid = %s::regclass",
            (target.as_string(cur),),
        )
        tuples, pages, pages_now = cur.fetchone()
        if tuples < 0 or pages <= 0:
            return None
        return tuples / pages * pages_now

    def _name(self, spec: TableSpec) -> str:
        """The table as messages name it: schema.table on host:port/database."""
        return f"warehouse table {self.schema}.{spec.name} at {self.where}"

    def _audit(self, cur, spec: TableSpec, relation: sql.Composable, staged: int) -> None:
        """Count every declared audit's violations over the staged rows in one scan."""
        if not spec.audits or not staged:
            return
        cur.execute(
            sql.SQL("SELECT {} FROM {}").format(
                sql.SQL(", ").join(
                    sql.SQL("count(*) FILTER (WHERE {})").format(_violation(a)) for a in spec.audits
                ),
                relation,
            )
        )
        counts = cur.fetchone()
        failures = []
        for audit, count in zip(spec.audits, counts, strict=True):
            if not count:
                continue
            keys = sql.SQL(", ").join(map(sql.Identifier, spec.primary_key))
            cur.execute(
                sql.SQL("SELECT {} FROM {} WHERE {} ORDER BY {} LIMIT %s").format(
                    keys, relation, _violation(audit), keys
                ),
                (AUDIT_EXAMPLES,),
            )
            examples = tuple(_key_text(spec, row) for row in cur.fetchall())
            failures.append(AuditFailure(audit.name, int(count), examples))
        if failures:
            raise WarehouseAuditError(self._name(spec), staged, failures)

    def _add_key_or_report_duplicates(
        self,
        cur,
        spec: TableSpec,
        relation: sql.Composable,
        add_key: sql.Composable | Sequence[sql.Composable],
        staged: int,
    ) -> None:
        """Run `add_key` (building the unique key index is the uniqueness audit, at no extra
        cost); on a duplicate, count the duplicated keys and refuse the load."""
        cur.execute("SAVEPOINT add_key")
        try:
            for statement in add_key if isinstance(add_key, list | tuple) else [add_key]:
                cur.execute(statement)
        except psycopg2.errors.UniqueViolation:
            cur.execute("ROLLBACK TO SAVEPOINT add_key")
            keys = sql.SQL(", ").join(map(sql.Identifier, spec.primary_key))
            cur.execute(
                sql.SQL(
                    "SELECT {keys}, count(*) OVER () FROM {rel} GROUP BY {keys} "
                    "HAVING count(*) > 1 ORDER BY {keys} LIMIT %s"
                ).format(keys=keys, rel=relation),
                (AUDIT_EXAMPLES,),
            )
            rows = cur.fetchall()
            duplicated = int(rows[0][-1]) if rows else 0
            examples = tuple(_key_text(spec, row[:-1]) for row in rows)
            raise WarehouseAuditError(
                self._name(spec),
                staged,
                [AuditFailure("key is unique", duplicated, examples)],
            ) from None
        cur.execute("RELEASE SAVEPOINT add_key")

    def _bound_removal(
        self,
        cur,
        spec: TableSpec,
        table: pa.Table,
        date_slice: tuple[dt.date, dt.date] | None,
        bounds: RemovalBounds | None,
        tags: Mapping[str, str],
    ) -> list[str]:
        """Refuse a write that leaves too few rows compared with the table's current contents
        (per month of the partition column, and overall); the problems an override let through
        are returned."""
        bounds = bounds or RemovalBounds()
        target = self._table(spec.name)
        what = f"{self._name(spec)}"
        if not spec.partition_column:
            cur.execute(sql.SQL("SELECT count(*) FROM {}").format(target))
            previous = {WHOLE_TABLE: int(cur.fetchone()[0])}
            new = {WHOLE_TABLE: table.num_rows}
            # One "month": the overall bound is the one that applies.
            bounds = RemovalBounds(per_month=1.0, overall=bounds.overall)
            return refuse_destructive_change(what, previous, new, bounds, tags)
        months = sql.SQL(
            "SELECT to_char(m, 'YYYY-MM'), n FROM (SELECT date_trunc('month', {col}) AS m, "
            "count(*) AS n FROM {target}{where} GROUP BY 1) AS months"
        )
        column = sql.Identifier(spec.partition_column)
        staged = _month_counts(table.column(spec.partition_column))
        if date_slice is None:
            cur.execute(months.format(col=column, target=target, where=sql.SQL("")))
            previous = {month: int(n) for month, n in cur.fetchall()}
            return refuse_destructive_change(what, previous, staged, bounds, tags)
        # The slice's months by the partition column's index. The rest of the table, which this
        # write leaves alone, matters only to the overall bound, and only as a total: counting it
        # scans the whole table, so it is counted only when the slice loses enough rows for that
        # bound to apply (a backfill's appends and a day's growth never do).
        cur.execute(
            months.format(
                col=column,
                target=target,
                where=sql.SQL(" WHERE {0} >= %(start)s AND {0} < %(end)s").format(column),
            ),
            {"start": date_slice[0], "end": date_slice[1]},
        )
        previous = {month: int(n) for month, n in cur.fetchall()}
        new = dict(staged)
        if removes_enough_to_refuse(sum(previous.values()) - sum(staged.values())):
            cur.execute(sql.SQL("SELECT count(*) FROM {}").format(target))
            outside = int(cur.fetchone()[0]) - sum(previous.values())
            previous[OUTSIDE_SLICE] = new[OUTSIDE_SLICE] = outside
        what += f", months {date_slice[0]:%Y-%m} to {_month_before(date_slice[1])}"
        return refuse_destructive_change(what, previous, new, bounds, tags)

    def _copy_in(self, cur, target: sql.Composable, cols: sql.Composable, table: pa.Table) -> None:
        with _CopyStream(table) as stream:
            cur.copy_expert(
                sql.SQL("COPY {} ({}) FROM STDIN WITH (FORMAT binary)")
                .format(target, cols)
                .as_string(cur),
                stream,
                size=COPY_READ_BYTES,
            )

    def _bulk_load(self, cur, spec: TableSpec, table: pa.Table, cols: sql.Composable) -> None:
        """COPY into the empty table with its keys, indexes and foreign keys (its own and those
        pointing at it) set aside, audit the rows, then rebuild them: one sort per index and one
        join per foreign key instead of per-row index maintenance and triggers (most of a first
        load otherwise). Same transaction as the caller's, so a failure restores the
        table as it was; tables referencing this one are empty too (their rows would need
        rows here), so their foreign keys validate instantly."""
        target = self._table(spec.name)
        regclass = target.as_string(cur)
        cur.execute(
            "SELECT n.nspname, r.relname, c.conname, pg_get_constraintdef(c.oid), c.contype "
            "FROM pg_constraint c JOIN pg_class r ON r.oid = c.conrelid "
            "JOIN pg_namespace n ON n.oid = r.relnamespace "
            "WHERE (c.conrelid = %(t)s::regclass AND c.contype IN ('p', 'u', 'f')) "
            "OR (c.confrelid = %(t)s::regclass AND c.conrelid <> %(t)s::regclass) "
            "ORDER BY c.contype = 'f', c.conname",
            {"t": regclass},
        )
        constraints = [
            (sql.Identifier(schema, relation), name, definition, kind)
            for schema, relation, name, definition, kind in cur.fetchall()
        ]
        # Joined by OID: no name lookup per row (a text-to-regclass cast resolves the name and
        # checks the schema's privileges, so it can fail where a join cannot).
        cur.execute(
            "SELECT i.relname, pg_get_indexdef(x.indexrelid) FROM pg_index x "
            "JOIN pg_class i ON i.oid = x.indexrelid WHERE x.indrelid = %(t)s::regclass "
            "AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = x.indexrelid) "
            "ORDER BY i.relname",
            {"t": regclass},
        )
        indexes = cur.fetchall()
        # Foreign keys first (they depend on the keys), keys last; rebuilt in reverse.
        for owner, name, _, _ in reversed(constraints):
            cur.execute(
                sql.SQL("ALTER TABLE {} DROP CONSTRAINT {}").format(owner, sql.Identifier(name))
            )
        for name, _ in indexes:
            cur.execute(sql.SQL("DROP INDEX {}").format(sql.Identifier(self.schema, name)))
        self._copy_in(cur, target, cols, table)
        self._audit(cur, spec, target, table.num_rows)
        self._add_key_or_report_duplicates(
            cur,
            spec,
            target,
            [
                self._add_constraint_sql(owner, name, definition)
                for owner, name, definition, kind in constraints
                if kind != "f"
            ],
            table.num_rows,
        )
        for _, definition in indexes:
            cur.execute(definition)  # pg_get_indexdef's text: quoted by the server
        for owner, name, definition, kind in constraints:
            if kind == "f":
                cur.execute(self._add_constraint_sql(owner, name, definition))

    @staticmethod
    def _add_constraint_sql(owner: sql.Composable, name: str, definition: str) -> sql.Composed:
        # `definition` is pg_get_constraintdef's text of an existing constraint: SQL the server
        # wrote and quoted, not an identifier.
        return sql.SQL("ALTER TABLE {} ADD CONSTRAINT {} {}").format(
            owner, sql.Identifier(name), sql.SQL(definition)
        )

    def _upsert_sql(self, spec, staging, cols, value_cols) -> sql.Composed:
        pk = sql.SQL(", ").join(map(sql.Identifier, spec.primary_key))
        if value_cols:
            assignments = sql.SQL(", ").join(
                sql.SQL("{0} = EXCLUDED.{0}").format(sql.Identifier(c)) for c in value_cols
            )
            changed = sql.SQL("({}) IS DISTINCT FROM ({})").format(
                sql.SQL(", ").join(sql.SQL("t.{}").format(sql.Identifier(c)) for c in value_cols),
                sql.SQL(", ").join(
                    sql.SQL("EXCLUDED.{}").format(sql.Identifier(c)) for c in value_cols
                ),
            )
            conflict = sql.SQL("DO UPDATE SET {} WHERE {}").format(assignments, changed)
        else:
            conflict = sql.SQL("DO NOTHING")
        return sql.SQL(
            "WITH written AS (INSERT INTO {target} AS t ({cols}) SELECT {cols} FROM {staging} "
            "ON CONFLICT ({pk}) {conflict} RETURNING (xmax = 0) AS is_insert) "
            "SELECT count(*) FILTER (WHERE is_insert), count(*) FILTER (WHERE NOT is_insert) "
            "FROM written"
        ).format(
            target=self._table(spec.name), cols=cols, staging=staging, pk=pk, conflict=conflict
        )

    # --- reads -----------------------------------------------------------------------------
    def read_table(
        self,
        spec: TableSpec,
        columns: Sequence[str] | None = None,
        limit: int | None = None,
        date_slice: tuple[dt.date, dt.date] | None = None,
    ) -> pd.DataFrame:
        """Read a table (or some of its columns, its first `limit` rows, or with `date_slice` =
        [start, end) the rows whose partition column falls in it) with the spec's types,
        ordered by key."""
        columns = list(columns or spec.column_names)
        selected = [spec.column(c) for c in columns]
        # Key columns are fetched too (to sort by), then dropped.
        fetched = selected + [spec.column(k) for k in spec.primary_key if k not in columns]
        # Instants travel as epoch microseconds: formatting timestamps as text costs the
        # server more than the rest of the read.
        exprs = [
            sql.SQL("round(date_part('epoch', {0}) * 1000000)::bigint AS {0}").format(
                sql.Identifier(c.name)
            )
            if c.pg_type == "timestamptz"
            else sql.Identifier(c.name)
            for c in fetched
        ]
        # The whole table is sorted by key here rather than by the server (faster); a prefix
        # (`limit`) has to be chosen by the server. COPY takes no parameters: values are
        # composed as literals, quoted by psycopg2's adapters.
        where = sql.SQL("")
        if date_slice is not None:
            if not spec.partition_column:
                raise WarehouseSchemaError(f"table {spec.name} is not partitioned")
            where = sql.SQL(" WHERE {0} >= {1} AND {0} < {2}").format(
                sql.Identifier(spec.partition_column),
                sql.Literal(date_slice[0]),
                sql.Literal(date_slice[1]),
            )
        order = sql.SQL("")
        if limit is not None:
            order = sql.SQL(" ORDER BY {} LIMIT {}").format(
                sql.SQL(", ").join(map(sql.Identifier, spec.primary_key)), sql.Literal(int(limit))
            )
        query = sql.SQL("COPY (SELECT {} FROM {}{}{}) TO STDOUT WITH (FORMAT csv, HEADER true)")
        buffer = io.BytesIO()
        with self.connect() as conn, conn.cursor() as cur:
            cur.copy_expert(
                query.format(
                    sql.SQL(", ").join(exprs), self._table(spec.name), where, order
                ).as_string(cur),
                buffer,
            )
        buffer.seek(0)
        convert = pacsv.ConvertOptions(
            column_types={
                c.name: pa.int64() if c.pg_type == "timestamptz" else c.arrow_type for c in fetched
            },
            true_values=["t", "true"],
            false_values=["f", "false"],
            strings_can_be_null=True,
            quoted_strings_can_be_null=False,
        )
        table = pacsv.read_csv(buffer, convert_options=convert)
        for c in fetched:
            if c.pg_type == "timestamptz":
                index = table.schema.get_field_index(c.name)
                table = table.set_column(index, c.name, table[c.name].cast(pa.timestamp("us")))
        if limit is None:
            table = table.sort_by([(k, "ascending") for k in spec.primary_key])
        table = table.select(columns)
        return _arrow_to_frame(table, selected, self.time_zone)

    def fetch_one(self, template: str, params: dict | None = None, **tables: str) -> tuple:
        """Run a fixed query written in code; ``{name}`` placeholders become quoted tables and
        values are passed only as ``%(name)s`` parameters."""
        statement = sql.SQL(template).format(
            **{key: self._table(name) for key, name in tables.items()}
        )
        with self.connect() as conn, conn.cursor() as cur:
            cur.execute(statement, params)
            return cur.fetchone()

    def drop_schema(self) -> None:
        """Drop this client's schema and everything in it (tests, benchmarks, resets)."""
        with self.connect() as conn, conn.cursor() as cur:
            cur.execute(
                sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(self.schema))
            )
            conn.commit()

    def unique_constraint_within(self, table: str, columns: Sequence[str]) -> str | None:
        """A validated primary-key or unique constraint of `table` whose columns are all among
        `columns` (so no two rows can share `columns`), or None."""
        if not columns:
            return None
        rows = self.query(
            "SELECT c.conname FROM pg_constraint c "
            "WHERE c.conrelid = to_regclass(format('%%I.%%I', %s::text, %s::text)) "
            "AND c.contype IN ('p', 'u') AND c.convalidated AND NOT EXISTS ("
            "SELECT 1 FROM unnest(c.conkey) AS k(attnum) JOIN pg_attribute a "
            "ON a.attrelid = c.conrelid AND a.attnum = k.attnum "
            "WHERE NOT a.attname = ANY(%s::name[])) ORDER BY c.contype, c.conname",
            [self.schema, table, list(columns)],
        )
        return rows[0][0] if rows else None

    def has_table(self, name: str) -> bool:
        with self.connect() as conn, conn.cursor() as cur:
            cur.execute(
                "SELECT to_regclass(format('%%I.%%I', %s::text, %s::text)) IS NOT NULL",
                (self.schema, name),
            )
            return bool(cur.fetchone()[0])

    def query(self, statement: sql.Composable | str, params: Sequence | None = None) -> list[tuple]:
        """Rows of a query written in code (values only ever passed as parameters)."""
        with self.connect() as conn, conn.cursor() as cur:
            cur.execute(statement, params)
            return cur.fetchall()

    def table(self, name: str) -> sql.Composed:
        """A quoted schema-qualified table name, for composing queries."""
        return self._table(name)


def set_aside_foreign_keys(appended: int, stored: float | None) -> bool:
    """Whether an append of `appended` rows to a table of about `stored` rows (None: unknown)
    should drop its foreign keys and re-validate them in one join rather than check each row."""
    if appended < SET_ASIDE_FOREIGN_KEYS_ROWS:
        return False
    return stored is None or stored < SET_ASIDE_FOREIGN_KEYS_TABLE_RATIO * appended


def _rollback_quietly(conn) -> None:
    """Roll back after a failure without hiding it: a connection the server closed (or the
    watchdog cut) cannot roll back, and its error would replace the real one."""
    if conn.closed:
        return
    try:
        conn.rollback()
    except Exception as exc:  # the original failure is the one to report
        log.debug("rollback after a failed write failed too: %s", exc)


def _violation(audit: Audit) -> sql.Composable:
    # Declared in tables.py (code, not input): SQL text by design.
    return sql.SQL("({})").format(sql.SQL(audit.violation))


def _key_text(spec: TableSpec, values: Sequence) -> str:
    return ", ".join(f"{k}={v}" for k, v in zip(spec.primary_key, values, strict=True))


def _audit_required_columns(name: str, spec: TableSpec, table: pa.Table) -> None:
    """NULLs in NOT NULL columns, counted on the Arrow table before anything is sent (the
    server would reject the first one only, mid-COPY)."""
    failures = []
    for column in spec.required_columns:
        values = table.column(column)
        if not values.null_count:
            continue
        rows = pc.indices_nonzero(pc.is_null(values)).slice(0, AUDIT_EXAMPLES).to_pylist()
        failures.append(
            AuditFailure(
                f"{column} is not null",
                values.null_count,
                tuple(f"frame row {row}" for row in rows),
            )
        )
    if failures:
        raise WarehouseAuditError(name, table.num_rows, failures)


def _month_counts(dates: pa.ChunkedArray) -> dict[str, int]:
    """Rows per 'YYYY-MM' of a date column."""
    if not len(dates):
        return {}
    months = pc.add(pc.multiply(pc.year(dates), 100), pc.month(dates))
    counts = pc.value_counts(months)
    return {
        f"{m // 100:04d}-{m % 100:02d}": n
        for m, n in zip(
            counts.field("values").to_pylist(), counts.field("counts").to_pylist(), strict=True
        )
        if m is not None
    }


def _month_before(end: dt.date) -> str:
    """The last month of a slice that ends (exclusively) on `end`."""
    return f"{end - dt.timedelta(days=1):%Y-%m}"


def _check_inside_slice(spec: TableSpec, frame: pd.DataFrame, date_slice) -> None:
    if not spec.partition_column:
        raise WarehouseSchemaError(f"table {spec.name} is not partitioned")
    dates = pd.to_datetime(frame[spec.partition_column])
    start, end = pd.Timestamp(date_slice[0]), pd.Timestamp(date_slice[1])
    outside = int(((dates < start) | (dates >= end)).sum())
    if outside:
        raise WarehouseSchemaError(
            f"{outside} row(s) for {spec.name} fall outside the partition slice "
            f"[{date_slice[0]}, {date_slice[1]})"
        )


def _arrow_to_frame(table: pa.Table, columns, time_zone: str) -> pd.DataFrame:
    frame = table.to_pandas(types_mapper=_pandas_type)
    for col in columns:
        if col.pg_type == "timestamptz":
            frame[col.name] = (
                pd.to_datetime(frame[col.name]).dt.tz_localize("UTC").dt.tz_convert(time_zone)
            )
        elif col.pg_type == "date":
            frame[col.name] = pd.to_datetime(frame[col.name])
        elif col.pg_type in ("bigint", "integer", "smallint") and not col.nullable:
            frame[col.name] = frame[col.name].astype("int64")
        elif col.pg_type == "boolean" and not col.nullable:
            frame[col.name] = frame[col.name].astype(bool)
        elif col.arrow_type == pa.string():
            frame[col.name] = frame[col.name].astype(object).where(frame[col.name].notna(), None)
    return frame


def _pandas_type(arrow_type: pa.DataType):
    if pa.types.is_integer(arrow_type):
        return pd.Int64Dtype()
    if pa.types.is_boolean(arrow_type):
        return pd.BooleanDtype()
    return None


def _same_type(spec_type: str, data_type: str, max_length) -> bool:
    aliases = {
        "timestamptz": "timestamp with time zone",
        "text": "text",
    }
    base = spec_type.split("(")[0].strip()
    if base == "varchar":
        return data_type == "character varying"
    return aliases.get(base, base) == data_type
