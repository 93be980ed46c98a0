"""Binary COPY encoding: every column type the warehouse uses, NULLs, edge values and several
batches, round-tripped through a real PostgreSQL server."""

import datetime as dt
import io

import psycopg2
import pyarrow as pa
import pytest
from psycopg2 import sql

from safebeat_assets.storage.pg_binary import BinaryCopyError, encode_table

UTC = dt.UTC
COLUMNS = (
    ("big", "bigint", pa.int64(), [253041790, -1, None, 2**62, 0]),
    ("num", "integer", pa.int32(), [1, None, -2_000_000_000, 7, 0]),
    ("small", "smallint", pa.int16(), [None, -3, 32767, 4, 0]),
    ("real_value", "double precision", pa.float64(), [30.25, -97.7, None, 1e-300, 0.0]),
    ("flag", "boolean", pa.bool_(), [True, False, None, True, False]),
    (
        "day",
        "date",
        pa.date32(),
        [
            dt.date(2025, 10, 31),
            dt.date(1999, 12, 31),
            None,
            dt.date(1970, 1, 1),
            dt.date(2000, 1, 1),
        ],
    ),
    (
        "moment",
        "timestamptz",
        pa.timestamp("us", tz="UTC"),
        [
            dt.datetime(2025, 11, 2, 6, 30, 0, 123456, tzinfo=UTC),
            dt.datetime(1999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
            dt.datetime(2000, 1, 1, tzinfo=UTC),
            None,
            dt.datetime(2023, 1, 1, 6, tzinfo=UTC),
        ],
    ),
    ("label", "text", pa.string(), ["Priority 2", "", None, "Über – café ✓", "x" * 5000]),
    ("code", "varchar(12)", pa.string(), ["484530412002", None, "1", "", "abc"]),
)


@pytest.fixture
def scratch_table(warehouse_url, warehouse_schema):
    conn = psycopg2.connect(warehouse_url)
    name = sql.Identifier(warehouse_schema, "binary_copy")
    with conn.cursor() as cur:
        cur.execute(
            sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(warehouse_schema))
        )
        # Column types are this module's own constants.
        columns = sql.SQL(", ").join(
            sql.SQL("{} {}").format(sql.Identifier(column), sql.SQL(pg_type))
            for column, pg_type, _, _ in COLUMNS
        )
        cur.execute(sql.SQL("CREATE TABLE {} ({})").format(name, columns))
    conn.commit()
    yield conn, name
    conn.rollback()
    with conn.cursor() as cur:
        cur.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(name))
    conn.commit()
    conn.close()


def copy_binary(conn, table_name: sql.Composable, table: pa.Table, batch_rows: int) -> None:
    stream = io.BytesIO(b"".join(encode_table(table, batch_rows)))
    with conn.cursor() as cur:
        cur.copy_expert(
            sql.SQL("COPY {} FROM STDIN WITH (FORMAT binary)").format(table_name).as_string(cur),
            stream,
        )
    conn.commit()


@pytest.mark.parametrize("batch_rows", [2, 65_536])
def test_every_type_round_trips_with_nulls_and_edge_values(scratch_table, batch_rows):
    conn, name = scratch_table
    table = pa.table({n: pa.array(values, kind) for n, _, kind, values in COLUMNS})
    copy_binary(conn, name, table, batch_rows)
    with conn.cursor() as cur:
        cur.execute("SET TIME ZONE 'UTC'")
        cur.execute(sql.SQL("SELECT * FROM {}").format(name))
        stored = cur.fetchall()
    assert stored == list(zip(*(values for _, _, _, values in COLUMNS), strict=True))


def test_sliced_and_chunked_tables_encode_their_own_rows(scratch_table):
    conn, name = scratch_table
    table = pa.table({n: pa.array(values, kind) for n, _, kind, values in COLUMNS})
    chunked = pa.concat_tables([table.slice(3), table.slice(1, 2)])  # offsets into buffers
    copy_binary(conn, name, chunked, 65_536)
    with conn.cursor() as cur:
        cur.execute(sql.SQL("SELECT label, big FROM {}").format(name))
        assert cur.fetchall() == [("Über – café ✓", 2**62), ("x" * 5000, 0), ("", -1), (None, None)]


def test_empty_table_is_a_valid_stream(scratch_table):
    conn, name = scratch_table
    empty = pa.table({n: pa.array([], kind) for n, _, kind, _ in COLUMNS})
    copy_binary(conn, name, empty, 65_536)
    with conn.cursor() as cur:
        cur.execute(sql.SQL("SELECT count(*) FROM {}").format(name))
        assert cur.fetchone() == (0,)


def test_unknown_types_are_refused():
    with pytest.raises(BinaryCopyError, match="list"):
        list(encode_table(pa.table({"values": pa.array([[1, 2]])})))
