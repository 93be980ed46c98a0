"""PostgreSQL warehouse client: DDL from table specs, bulk COPY writes, fast reads.

Writes are idempotent upserts inside one transaction: COPY into a temporary staging table, delete
rows whose key vanished, insert new keys and update only rows whose values changed. Readers never
see a half-written table, a failed write leaves the previous contents, and re-running with the
same data writes nothing.
"""

from __future__ import annotations

import datetime as dt
import io
import logging
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

import pandas as pd
import psycopg2
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
from psycopg2 import sql

from . import spatial_sql
from .tables import TABLES, TableSpec

LOCAL_TZ = "America/Chicago"
log = logging.getLogger(__name__)
_PREPARED: set[tuple[str, str]] = set()  # (dsn, schema) whose tables, views exist in this process
COPY_BATCH_ROWS = 100_000


class WarehouseSchemaError(RuntimeError):
    """A frame or an existing table does not match the declared table spec."""


@dataclass(frozen=True)
class WriteStats:
    table: str
    rows: int
    inserted: int
    updated: int
    deleted: int
    seconds: float

    @property
    def rows_written(self) -> int:
        return self.inserted + self.updated + self.deleted


def frame_to_arrow(spec: TableSpec, frame: pd.DataFrame) -> pa.Table:
    """Cast a frame to the spec's Arrow schema; missing or unexpected columns are errors."""
    missing = [c for c in spec.column_names if c not in frame.columns]
    extra = [c for c in frame.columns if c not in spec.column_names]
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


class _CsvStream(io.RawIOBase):
    """A file-like view of an Arrow table as CSV, produced batch by batch for COPY."""

    def __init__(self, table: pa.Table):
        self._batches = iter(table.to_batches(max_chunksize=COPY_BATCH_ROWS))
        self._buffer = bytearray()
        self._header = True

    def readable(self) -> bool:
        return True

    def _fill(self, size: int) -> None:
        while size < 0 or len(self._buffer) < size:
            batch = next(self._batches, None)
            if batch is None:
                return
            sink = pa.BufferOutputStream()
            pacsv.write_csv(
                batch, sink, write_options=pacsv.WriteOptions(include_header=self._header)
            )
            self._header = False
            self._buffer.extend(sink.getvalue().to_pybytes())

    def read(self, size: int = -1) -> bytes:
        self._fill(size)
        if size < 0:
            size = len(self._buffer)
        chunk = bytes(self._buffer[:size])
        del self._buffer[:size]
        return chunk


class Warehouse:
    """Connection factory and table operations for one schema of one database."""

    def __init__(self, dsn: str, schema: str = "safebeat", spatial: bool | None = None):
        """`spatial=None` detects PostGIS; False leaves geometry out even where it exists."""
        self.dsn = dsn
        self.schema = schema
        self._postgis: bool | None = spatial

    @property
    def postgis(self) -> bool:
        """Whether PostGIS is installed (installing it first when the server offers it)."""
        if self._postgis is None:
            self._postgis = self._detect_postgis()
        return self._postgis

    def _detect_postgis(self) -> bool:
        with self.connect() as conn, conn.cursor() as cur:
            cur.execute("SELECT 1 FROM pg_extension WHERE extname = 'postgis'")
            if cur.fetchone():
                return True
            cur.execute("SELECT 1 FROM pg_available_extensions WHERE name = 'postgis'")
            if not cur.fetchone():
                log.info("PostGIS is not available on this server: tables get no geometry")
                return False
            try:
                cur.execute("CREATE EXTENSION IF NOT EXISTS postgis")
                conn.commit()
                return True
            except psycopg2.errors.InsufficientPrivilege:
                conn.rollback()
                log.warning("PostGIS is available but this role may not install it")
                return False

    @contextmanager
    def connect(self) -> Iterator[psycopg2.extensions.connection]:
        conn = psycopg2.connect(self.dsn)
        try:
            with conn.cursor() as cur:
                cur.execute("SET TIME ZONE 'UTC'")
            conn.commit()
            yield conn
        finally:
            conn.close()

    def _table(self, name: str) -> sql.Composed:
        return sql.SQL("{}.{}").format(sql.Identifier(self.schema), sql.Identifier(name))

    # --- DDL -------------------------------------------------------------------------------
    def create_table_sql(self, spec: TableSpec) -> sql.Composed:
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
        schema = sql.Identifier(self.schema)
        statements = spatial_sql.views_sql()
        if self.postgis:
            statements.append(spatial_sql.NEARBY_INCIDENTS_FUNCTION)
        with self.connect() as conn, conn.cursor() as cur:
            for statement in statements:
                cur.execute(sql.SQL(statement).format(schema=schema))
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
                    sql.SQL("COMMENT ON TABLE {} IS {}").format(
                        self._table(spec.name), sql.Literal(spec.description)
                    )
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
                        self._table(spec.name), sql.Identifier(col.name), sql.SQL(col.pg_type)
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
    ) -> WriteStats:
        """Make the table (or, with `date_slice` = [start, end), the rows whose partition column
        falls in it) hold exactly `frame`, in one transaction, touching only changed rows."""
        started = time.perf_counter()
        if date_slice is not None:
            _check_inside_slice(spec, frame, date_slice)
        table = frame_to_arrow(spec, frame)
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
                        cur.copy_expert(
                            sql.SQL("COPY {} ({}) FROM STDIN WITH (FORMAT csv, HEADER true)")
                            .format(target, cols)
                            .as_string(cur),
                            _CsvStream(table),
                        )
                        conn.commit()
                        return WriteStats(
                            table=spec.name,
                            rows=table.num_rows,
                            inserted=table.num_rows,
                            updated=0,
                            deleted=0,
                            seconds=time.perf_counter() - started,
                        )
                    cur.execute(
                        sql.SQL(
                            "CREATE TEMPORARY TABLE {} (LIKE {} INCLUDING DEFAULTS) ON COMMIT DROP"
                        ).format(staging, target)
                    )
                    cur.copy_expert(
                        sql.SQL("COPY {} ({}) FROM STDIN WITH (FORMAT csv, HEADER true)")
                        .format(staging, cols)
                        .as_string(cur),
                        _CsvStream(table),
                    )
                    cur.execute(
                        sql.SQL("ALTER TABLE {} ADD PRIMARY KEY ({})").format(
                            staging, sql.SQL(", ").join(map(sql.Identifier, spec.primary_key))
                        )
                    )
                    in_slice = sql.SQL("TRUE")
                    if date_slice is not None:
                        in_slice = sql.SQL("t.{0} >= {1} AND t.{0} < {2}").format(
                            sql.Identifier(spec.partition_column),
                            sql.Literal(date_slice[0]),
                            sql.Literal(date_slice[1]),
                        )
                    cur.execute(
                        sql.SQL(
                            "DELETE FROM {} t WHERE {} AND NOT EXISTS (SELECT 1 FROM {} s WHERE {})"
                        ).format(target, in_slice, staging, key_match)
                    )
                    deleted = cur.rowcount
                    cur.execute(self._upsert_sql(spec, staging, cols, value_cols))
                    inserted, updated = cur.fetchone()
                conn.commit()
            except Exception:
                conn.rollback()
                raise
        return WriteStats(
            table=spec.name,
            rows=table.num_rows,
            inserted=int(inserted or 0),
            updated=int(updated or 0),
            deleted=max(deleted, 0),
            seconds=time.perf_counter() - started,
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
    def read_table(self, spec: TableSpec, columns: Sequence[str] | None = None) -> pd.DataFrame:
        """Read a table (or some of its columns) with the spec's types, ordered by key."""
        columns = list(columns or spec.column_names)
        selected = [spec.column(c) for c in columns]
        exprs = [
            sql.SQL("({0} AT TIME ZONE 'UTC') AS {0}").format(sql.Identifier(c.name))
            if c.pg_type == "timestamptz"
            else sql.Identifier(c.name)
            for c in selected
        ]
        query = sql.SQL(
            "COPY (SELECT {} FROM {} ORDER BY {}) TO STDOUT WITH (FORMAT csv, HEADER true)"
        )
        buffer = io.BytesIO()
        with self.connect() as conn, conn.cursor() as cur:
            cur.copy_expert(
                query.format(
                    sql.SQL(", ").join(exprs),
                    self._table(spec.name),
                    sql.SQL(", ").join(map(sql.Identifier, spec.primary_key)),
                ).as_string(cur),
                buffer,
            )
        buffer.seek(0)
        convert = pacsv.ConvertOptions(
            column_types={
                c.name: pa.timestamp("us") if c.pg_type == "timestamptz" else c.arrow_type
                for c in selected
            },
            true_values=["t", "true"],
            false_values=["f", "false"],
            strings_can_be_null=True,
            quoted_strings_can_be_null=False,
        )
        table = pacsv.read_csv(buffer, convert_options=convert)
        return _arrow_to_frame(table, selected)

    def fetch_one(self, template: str, params: dict | None = None, **tables: str) -> tuple:
        """Run a fixed query written in code; ``{name}`` placeholders become quoted tables and
        values are passed only as ``%(name)s`` parameters."""
        statement = sql.SQL(template).format(
            **{key: self._table(name) for key, name in tables.items()}
        )
        with self.connect() as conn, conn.cursor() as cur:
            cur.execute(statement, params)
            return cur.fetchone()

    def has_table(self, name: str) -> bool:
        with self.connect() as conn, conn.cursor() as cur:
            cur.execute("SELECT to_regclass(%s) IS NOT NULL", (f'"{self.schema}"."{name}"',))
            return bool(cur.fetchone()[0])

    def query(self, statement: sql.Composable | str, params: Sequence | None = None) -> list[tuple]:
        """Rows of a query written in code (values only ever passed as parameters)."""
        with self.connect() as conn, conn.cursor() as cur:
            cur.execute(statement, params)
            return cur.fetchall()

    def table(self, name: str) -> sql.Composed:
        """A quoted schema-qualified table name, for composing queries."""
        return self._table(name)


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


def _arrow_to_frame(table: pa.Table, columns) -> pd.DataFrame:
    frame = table.to_pandas(types_mapper=_pandas_type)
    for col in columns:
        if col.pg_type == "timestamptz":
            frame[col.name] = (
                pd.to_datetime(frame[col.name]).dt.tz_localize("UTC").dt.tz_convert(LOCAL_TZ)
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
