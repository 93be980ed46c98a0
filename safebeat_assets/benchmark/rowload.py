"""The old pipeline's load next to ours, on the same slice of `fact_911_calls` and the same
connection, both from the same DataFrame into an empty copy of the table in a scratch schema:

- old: the replaced pipeline's loop: one `INSERT ... ON CONFLICT (key) DO UPDATE`
  of the coordinates per row, a commit every 1,000 rows;
- new: `Warehouse.replace_table` (binary COPY, keys, indexes and foreign keys rebuilt once).
"""

import statistics
import time

import pandas as pd
from psycopg2 import sql

from ..storage.tables import DIM_GEO, FACT_911_CALLS
from ..storage.warehouse import Warehouse, frame_to_arrow

SLICE_ROWS = 50_000
COMMIT_EVERY = 1_000
REPEATS = 3
SCRATCH_SCHEMA = "safebeat_bench_load"


def _count(warehouse: Warehouse) -> int:
    return warehouse.fetch_one("SELECT count(*) FROM {fact}", fact="fact_911_calls")[0]


def _reset(warehouse: Warehouse) -> None:
    with warehouse.connect() as conn, conn.cursor() as cur:
        cur.execute(sql.SQL("TRUNCATE {} CASCADE").format(warehouse.table("fact_911_calls")))
        conn.commit()


def load_row_by_row(warehouse: Warehouse, frame: pd.DataFrame) -> float:
    """The old method, timed from the DataFrame to the last commit."""
    spec = FACT_911_CALLS
    columns = spec.column_names
    statement = sql.SQL(
        "INSERT INTO {} ({}) VALUES ({}) ON CONFLICT ({}) DO UPDATE SET "
        "latitude_centroid = EXCLUDED.latitude_centroid, "
        "longitude_centroid = EXCLUDED.longitude_centroid"
    ).format(
        warehouse.table(spec.name),
        sql.SQL(", ").join(map(sql.Identifier, columns)),
        sql.SQL(", ").join(sql.Placeholder() * len(columns)),
        sql.SQL(", ").join(map(sql.Identifier, spec.primary_key)),
    )
    with warehouse.connect() as conn, conn.cursor() as cur:
        text = statement.as_string(cur)
        started = time.perf_counter()
        table = frame_to_arrow(spec, frame)
        rows = zip(*(column.to_pylist() for column in table.columns), strict=True)
        for number, row in enumerate(rows, start=1):
            cur.execute(text, row)
            if number % COMMIT_EVERY == 0:
                conn.commit()
        conn.commit()
        return time.perf_counter() - started


def compare_loads(dsn: str, source_schema: str, rows: int = SLICE_ROWS) -> dict:
    source = Warehouse(dsn, source_schema)
    fact = source.read_table(FACT_911_CALLS, limit=rows)
    if len(fact) < rows:
        raise ValueError(f"{source_schema}.fact_911_calls holds {len(fact):,} rows, need {rows:,}")
    scratch = Warehouse(dsn, SCRATCH_SCHEMA)
    scratch.drop_schema()
    try:
        scratch.replace_table(DIM_GEO, source.read_table(DIM_GEO))
        scratch.ensure_tables([FACT_911_CALLS])
        # Median of REPEATS on both sides, each load into the emptied table.
        row_runs = []
        for _ in range(REPEATS):
            _reset(scratch)
            row_runs.append(load_row_by_row(scratch, fact))
            if _count(scratch) != rows:
                raise RuntimeError("the row-by-row load did not store every row")
        row_seconds = statistics.median(row_runs)
        bulk_runs = []
        for _ in range(REPEATS):
            _reset(scratch)
            started = time.perf_counter()
            stats = scratch.replace_table(FACT_911_CALLS, fact)
            bulk_runs.append(time.perf_counter() - started)
            if _count(scratch) != rows or stats.inserted != rows:
                raise RuntimeError("the bulk load did not store every row")
        bulk_seconds = statistics.median(bulk_runs)
        started = time.perf_counter()
        again = scratch.replace_table(FACT_911_CALLS, fact)
        rerun_seconds = time.perf_counter() - started
    finally:
        scratch.drop_schema()
    return {
        "rows": rows,
        "row_by_row_method": (
            f"INSERT ... ON CONFLICT DO UPDATE per row, commit every {COMMIT_EVERY:,} rows"
        ),
        "bulk_method": "Warehouse.replace_table: binary COPY, keys/indexes/FKs rebuilt once",
        "repeats": REPEATS,
        "row_by_row_seconds": round(row_seconds, 2),
        "row_by_row_seconds_all": [round(v, 2) for v in row_runs],
        "row_by_row_rows_per_second": round(rows / row_seconds),
        "bulk_seconds": round(bulk_seconds, 3),
        "bulk_seconds_all": [round(v, 3) for v in bulk_runs],
        "bulk_rows_per_second": round(rows / bulk_seconds),
        "speedup": round(row_seconds / bulk_seconds, 1),
        "bulk_rerun_same_rows_seconds": round(rerun_seconds, 3),
        "bulk_rerun_rows_written": again.rows_written,
    }
