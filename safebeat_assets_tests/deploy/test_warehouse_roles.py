"""deploy/postgis/init-roles.sh, run by the one-shot warehouse-init service: the compose wiring,
and the script itself against the test server in a throwaway database with throwaway roles
(roles are server-wide, so their names are unique per run and dropped afterwards)."""

from __future__ import annotations

import contextlib
import re
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import psycopg2
import pytest
from psycopg2 import errors, sql
from psycopg2.extensions import parse_dsn

from .compose import DEPLOY, REQUIRED_REF, env_of

SCRIPT = DEPLOY / "postgis" / "init-roles.sh"
SCRIPT_ENV = (
    "PGHOST",
    "PGPORT",
    "PGDATABASE",
    "PGUSER",
    "PGPASSWORD",
    "SAFEBEAT_WAREHOUSE_USER",
    "SAFEBEAT_WAREHOUSE_PASSWORD",
    "SAFEBEAT_WAREHOUSE_SCHEMA",
    "SAFEBEAT_READER_USER",
    "SAFEBEAT_READER_PASSWORD",
)


# --- compose wiring ---------------------------------------------------------------------------------


def test_warehouse_init_service(services):
    svc = services["warehouse-init"]
    assert svc["entrypoint"] == ["/bin/sh", "/deploy/postgis/init-roles.sh"]
    assert svc["volumes"] == ["./deploy/postgis/init-roles.sh:/deploy/postgis/init-roles.sh:ro"]
    env = env_of(svc)
    assert set(SCRIPT_ENV) <= set(env)
    for name in ("PGPASSWORD", "SAFEBEAT_WAREHOUSE_PASSWORD", "SAFEBEAT_READER_PASSWORD"):
        assert REQUIRED_REF.fullmatch(env[name]), name
    assert env["SAFEBEAT_READER_USER"] == "${SAFEBEAT_READER_USER:-safebeat_reader}"
    # The script reads every value from its environment: nothing secret on a command line.
    assert "command" not in svc


def test_script_keeps_secrets_off_command_lines_and_logs():
    script = SCRIPT.read_text()
    assert "<<'SQL'" in script  # quoted: the shell expands nothing inside the SQL
    assert "\\getenv pipeline_password SAFEBEAT_WAREHOUSE_PASSWORD" in script
    assert "SET log_statement = 'none';" in script
    assert not re.search(r"psql[^\n]*\$", script), "no shell variable on psql's command line"


# --- against a real server --------------------------------------------------------------------------


@dataclass
class Setup:
    admin: dict[str, str]  # libpq keywords of the superuser connection to the throwaway database
    env: dict[str, str]  # what warehouse-init's container would get
    pipeline: str
    reader: str
    schema: str
    database: str

    def connect(self, user: str | None = None, password: str | None = None):
        params = dict(self.admin)
        if user:
            params["user"], params["password"] = user, password or ""
        return psycopg2.connect(**params)

    def run(self, **overrides: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            ["sh", str(SCRIPT)],
            env={**self.env, **overrides},
            capture_output=True,
            text=True,
            timeout=60,
        )


def _psql_supports_getenv() -> bool:
    psql = shutil.which("psql")
    if psql is None:
        return False
    m = re.search(
        r"(\d+)", subprocess.run([psql, "--version"], capture_output=True, text=True).stdout
    )
    return bool(m) and int(m[1]) >= 15


def _superuser_dsn(request) -> str | None:
    """The test server's superuser: the embedded server's (the suite's own role is no superuser,
    as in production), or the suite's URL where that role happens to be one."""
    urls = []
    with contextlib.suppress(pytest.FixtureLookupError):
        urls.append(getattr(request.getfixturevalue("warehouse_server"), "admin_url", None))
    urls.append(request.getfixturevalue("warehouse_url"))
    for url in filter(None, urls):
        conn = psycopg2.connect(url)
        try:
            with conn.cursor() as cur:
                cur.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
                if cur.fetchone()[0]:
                    return url
        finally:
            conn.close()
    return None


@pytest.fixture
def setup(request) -> Iterator[Setup]:
    if not _psql_supports_getenv():
        pytest.skip("psql 15 or newer is not installed (init-roles.sh uses \\getenv)")
    dsn = _superuser_dsn(request)
    if dsn is None:
        pytest.skip("no superuser connection to the test server: roles cannot be created")
    admin = {k: v for k, v in parse_dsn(dsn).items() if v != ""}
    conn = psycopg2.connect(**admin)
    conn.autocommit = True
    tag = uuid.uuid4().hex[:8]
    names = {
        "database": f"sb_roles_{tag}",
        "pipeline": f"sb_pipeline_{tag}",
        "reader": f"sb_reader_{tag}",
        "schema": "safebeat",
    }
    with conn.cursor() as cur:
        cur.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(names["database"])))
    admin_db = {**admin, "dbname": names["database"]}
    pg_env = {
        "PGHOST": admin.get("host", ""),
        "PGPORT": admin.get("port", ""),
        "PGUSER": admin.get("user", ""),
        "PGPASSWORD": admin.get("password", ""),
        "PGDATABASE": names["database"],
    }
    env = {
        "PATH": "/usr/bin:/bin",
        **{k: v for k, v in pg_env.items() if v},
        "SAFEBEAT_WAREHOUSE_USER": names["pipeline"],
        "SAFEBEAT_WAREHOUSE_PASSWORD": f"Pipeline-{tag}-0123456789",
        "SAFEBEAT_WAREHOUSE_SCHEMA": names["schema"],
        "SAFEBEAT_READER_USER": names["reader"],
        "SAFEBEAT_READER_PASSWORD": f"Reader-{tag}-0123456789",
    }
    try:
        yield Setup(admin=admin_db, env=env, **names)
    finally:
        with conn.cursor() as cur:
            cur.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s",
                (names["database"],),
            )
            cur.execute(
                sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(names["database"]))
            )
            for role in (names["pipeline"], names["reader"]):
                cur.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(role)))
        conn.close()


def _denied(conn, statement: str) -> bool:
    """Whether the statement is refused for want of privileges (autocommit: CREATE DATABASE
    cannot run in a transaction)."""
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            cur.execute(statement)
    except (errors.InsufficientPrivilege, errors.ReadOnlySqlTransaction):
        return True
    finally:
        conn.autocommit = False
    return False


def test_roles_on_a_real_server(setup):
    # A table from before the roles existed (e.g. made by the superuser) moves to the pipeline.
    with setup.connect() as conn, conn.cursor() as cur:
        cur.execute("CREATE SCHEMA safebeat")
        cur.execute("CREATE TABLE safebeat.old_calls (id serial PRIMARY KEY, n int)")
        cur.execute("INSERT INTO safebeat.old_calls (n) VALUES (1)")
    conn.close()

    result = setup.run()
    assert result.returncode == 0, result.stderr
    for secret in ("SAFEBEAT_WAREHOUSE_PASSWORD", "SAFEBEAT_READER_PASSWORD"):
        assert setup.env[secret] not in result.stdout + result.stderr
    again = setup.run()  # idempotent: every `docker compose up` runs it
    assert again.returncode == 0, again.stderr

    with setup.connect() as conn, conn.cursor() as cur:
        cur.execute(
            "SELECT rolname, rolsuper, rolcreatedb, rolcreaterole, rolreplication, rolbypassrls,"
            " rolcanlogin FROM pg_roles WHERE rolname IN (%s, %s) ORDER BY rolname",
            (setup.pipeline, setup.reader),
        )
        for row in cur.fetchall():
            assert row[1:] == (False, False, False, False, False, True), row
        cur.execute("SELECT nspowner::regrole::text FROM pg_namespace WHERE nspname = 'safebeat'")
        assert cur.fetchone()[0] == setup.pipeline
        cur.execute(
            "SELECT relowner::regrole::text FROM pg_class WHERE oid = 'safebeat.old_calls'::regclass"
        )
        assert cur.fetchone()[0] == setup.pipeline
    conn.close()

    pipeline = setup.connect(setup.pipeline, setup.env["SAFEBEAT_WAREHOUSE_PASSWORD"])
    with pipeline.cursor() as cur:
        # What Warehouse.ensure_tables and the loads do.
        cur.execute("CREATE SCHEMA IF NOT EXISTS safebeat")
        cur.execute("CREATE TABLE safebeat.new_calls (id int PRIMARY KEY, label text)")
        cur.execute("INSERT INTO safebeat.new_calls VALUES (1, 'a')")
        cur.execute("CREATE TEMPORARY TABLE staging (LIKE safebeat.new_calls) ON COMMIT DROP")
        cur.execute("ALTER TABLE safebeat.old_calls ADD COLUMN extra text")
        cur.execute("INSERT INTO safebeat.old_calls (n) VALUES (2)")
    pipeline.commit()
    assert _denied(pipeline, "CREATE ROLE sb_intruder")
    assert _denied(pipeline, "CREATE DATABASE sb_intruder")
    assert _denied(pipeline, "CREATE TABLE public.intruder (id int)")
    assert _denied(pipeline, "ALTER ROLE CURRENT_USER SUPERUSER")
    pipeline.close()

    reader = setup.connect(setup.reader, setup.env["SAFEBEAT_READER_PASSWORD"])
    with reader.cursor() as cur:
        cur.execute("SELECT count(*) FROM safebeat.old_calls")
        assert cur.fetchone()[0] == 2
        # Created by the pipeline after the script ran: readable through default privileges.
        cur.execute("SELECT label FROM new_calls")  # the reader's search_path starts there
        assert cur.fetchall() == [("a",)]
    reader.rollback()
    assert _denied(reader, "INSERT INTO safebeat.new_calls VALUES (2, 'b')")
    assert _denied(reader, "UPDATE safebeat.old_calls SET n = 0")
    assert _denied(reader, "DELETE FROM safebeat.old_calls")
    assert _denied(reader, "CREATE TABLE safebeat.intruder (id int)")
    assert _denied(reader, "CREATE TABLE public.intruder (id int)")
    assert _denied(reader, "CREATE SCHEMA intruder")
    assert _denied(reader, "CREATE TEMPORARY TABLE intruder (id int)")
    assert _denied(reader, "DROP TABLE safebeat.new_calls")
    # Denied by the grants themselves, not only by the read-only sessions checked last.
    with reader.cursor() as cur:
        cur.execute(
            "SELECT has_table_privilege('safebeat.new_calls', p)"
            " FROM unnest(ARRAY['INSERT', 'UPDATE', 'DELETE', 'TRUNCATE']) AS p"
        )
        assert [r[0] for r in cur.fetchall()] == [False] * 4
        cur.execute("SELECT has_schema_privilege('safebeat', 'CREATE')")
        assert cur.fetchone()[0] is False
        # Even where a grant went too far, its sessions cannot write.
        cur.execute("SHOW default_transaction_read_only")
        assert cur.fetchone()[0] == "on"
    reader.close()

    # Nobody else may connect to the warehouse database.
    with setup.connect() as conn, conn.cursor() as cur:
        cur.execute(
            "SELECT has_database_privilege('public', current_database(), 'CONNECT'),"
            " has_database_privilege(%s, current_database(), 'CREATE')",
            (setup.reader,),
        )
        assert cur.fetchone() == (False, False)
    conn.close()


def test_refuses_the_superuser_as_pipeline_or_reader(setup):
    admin_user = setup.env.get("PGUSER") or setup.admin.get("user")
    result = setup.run(SAFEBEAT_WAREHOUSE_USER=admin_user)
    assert result.returncode != 0
    assert "is this server's superuser" in result.stderr
    same = setup.run(SAFEBEAT_READER_USER=setup.pipeline)
    assert same.returncode != 0 and "must differ" in same.stderr


def test_names_missing_variables(setup):
    result = setup.run(SAFEBEAT_READER_PASSWORD="", SAFEBEAT_WAREHOUSE_SCHEMA="")
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "init-roles: not set: SAFEBEAT_WAREHOUSE_SCHEMA SAFEBEAT_READER_PASSWORD"
    )
