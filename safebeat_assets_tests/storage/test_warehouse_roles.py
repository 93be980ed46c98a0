"""Least privilege: the pipeline's role is no superuser and owns its schema; the dashboard's
read-only role can read everything in it and change nothing."""

from collections.abc import Iterator

import psycopg2
import pytest
from psycopg2 import sql

from safebeat_assets.storage.roles import READER_ROLE, grant_read_only, read_only_grants
from safebeat_assets.storage.tables import DIM_GEO, TABLES
from safebeat_assets_tests.storage.test_warehouse import geo_frame


def test_the_pipeline_role_is_no_superuser_and_owns_its_schema(warehouse):
    warehouse.ensure_schema_objects()
    superuser, schema_owner, foreign_tables = warehouse.query(
        "SELECT r.rolsuper, pg_get_userbyid(n.nspowner) = current_user, "
        "(SELECT count(*) FROM pg_class c WHERE c.relnamespace = n.oid "
        "AND c.relowner <> (SELECT oid FROM pg_roles WHERE rolname = current_user)) "
        "FROM pg_roles r, pg_namespace n WHERE r.rolname = current_user AND n.nspname = %s",
        (warehouse.schema,),
    )[0]
    assert superuser is False
    assert schema_owner is True
    assert foreign_tables == 0
    # ...and loads, rebuilds keys and reads without more privileges.
    warehouse.replace_table(DIM_GEO, geo_frame())
    assert len(warehouse.read_table(DIM_GEO)) == 2


def test_read_only_grants_quote_every_name(warehouse):
    statements = read_only_grants('odd"schema', "reader", owner="owner", database="db")
    with warehouse.connect() as conn:
        text = [statement.as_string(conn) for statement in statements]
    schema = '"odd""schema"'
    assert text == [
        'GRANT CONNECT ON DATABASE "db" TO "reader"',
        f'GRANT USAGE ON SCHEMA {schema} TO "reader"',
        f'GRANT SELECT ON ALL TABLES IN SCHEMA {schema} TO "reader"',
        f'GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA {schema} TO "reader"',
        f'ALTER DEFAULT PRIVILEGES FOR ROLE "owner" IN SCHEMA {schema} GRANT SELECT ON TABLES '
        'TO "reader"',
        f'ALTER DEFAULT PRIVILEGES FOR ROLE "owner" IN SCHEMA {schema} GRANT EXECUTE ON '
        'FUNCTIONS TO "reader"',
    ]


@pytest.fixture
def reader(warehouse_server, warehouse) -> Iterator[str]:
    """The read-only role, which the pipeline's role may SET ROLE to (to act as it here)."""
    pipeline_role = warehouse.query("SELECT current_user")[0][0]
    if warehouse_server.admin_url:
        admin = psycopg2.connect(warehouse_server.admin_url)
        admin.autocommit = True
        with admin.cursor() as cur:
            cur.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (READER_ROLE,))
            if cur.fetchone() is None:
                cur.execute(sql.SQL("CREATE ROLE {} NOLOGIN").format(sql.Identifier(READER_ROLE)))
            cur.execute(
                sql.SQL("GRANT {} TO {}").format(
                    sql.Identifier(READER_ROLE), sql.Identifier(pipeline_role)
                )
            )
        admin.close()
    member = warehouse.query(
        "SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = %s) "
        "AND pg_has_role(current_user, %s, 'MEMBER')",
        (READER_ROLE, READER_ROLE),
    )[0][0]
    if not member:
        pytest.skip(f"the test server has no role {READER_ROLE} that the test role may act as")
    return READER_ROLE


def as_reader(warehouse, reader, statement, params=None):
    with warehouse.connect() as conn, conn.cursor() as cur:
        cur.execute(sql.SQL("SET ROLE {}").format(sql.Identifier(reader)))
        cur.execute(statement, params)
        return cur.fetchall() if cur.description else None


def test_the_read_only_role_reads_everything_and_changes_nothing(warehouse, reader):
    warehouse.ensure_schema_objects()
    warehouse.replace_table(DIM_GEO, geo_frame())
    with warehouse.connect() as conn:
        done = grant_read_only(conn, warehouse.schema, reader)
    assert any("ALTER DEFAULT PRIVILEGES" in statement for statement in done)

    for name in TABLES:
        as_reader(
            warehouse, reader, sql.SQL("SELECT count(*) FROM {}").format(warehouse.table(name))
        )
    assert as_reader(
        warehouse, reader, sql.SQL("SELECT count(*) FROM {}").format(warehouse.table("dim_geo"))
    ) == [(2,)]
    assert as_reader(
        warehouse,
        reader,
        sql.SQL("SELECT count(*) FROM {}.v_event_incident_summary").format(
            sql.Identifier(warehouse.schema)
        ),
    ) == [(0,)]

    refused = [
        sql.SQL("INSERT INTO {} (geo_id) VALUES ('484530412009')").format(
            warehouse.table("dim_geo")
        ),
        sql.SQL("UPDATE {} SET name = 'x'").format(warehouse.table("dim_geo")),
        sql.SQL("DELETE FROM {}").format(warehouse.table("dim_geo")),
        sql.SQL("TRUNCATE {}").format(warehouse.table("dim_geo")),
        sql.SQL("CREATE TABLE {}.reader_table (x int)").format(sql.Identifier(warehouse.schema)),
        sql.SQL("DROP TABLE {}").format(warehouse.table("dim_geo")),
    ]
    for statement in refused:
        with pytest.raises(psycopg2.errors.InsufficientPrivilege):
            as_reader(warehouse, reader, statement)

    # A table the owner creates later is readable too (default privileges).
    with warehouse.connect() as conn, conn.cursor() as cur:
        cur.execute(
            sql.SQL("CREATE TABLE {}.later (x int)").format(sql.Identifier(warehouse.schema))
        )
        conn.commit()
    assert as_reader(
        warehouse,
        reader,
        sql.SQL("SELECT count(*) FROM {}.later").format(sql.Identifier(warehouse.schema)),
    ) == [(0,)]


def test_granting_needs_the_schema_and_the_role(warehouse):
    warehouse.ensure_tables()
    with warehouse.connect() as conn:
        with pytest.raises(LookupError, match="schema 'no_such_schema' does not exist"):
            grant_read_only(conn, "no_such_schema")
        with pytest.raises(LookupError, match="role 'no_such_reader' does not exist"):
            grant_read_only(conn, warehouse.schema, "no_such_reader")


def test_the_embedded_server_hands_a_superusers_schema_to_the_pipeline_role(warehouse_server):
    """Earlier versions ran the embedded warehouse as its superuser: their schemas change hands
    when the server is next set up."""
    if not warehouse_server.admin_url:
        pytest.skip("only the embedded server's superuser is known to the tests")
    import safebeat_assets.storage.embedded as embedded

    schema = "legacy_superuser_schema"
    admin_dsn = psycopg2.extensions.make_dsn(warehouse_server.admin_url, dbname="safebeat")
    admin = psycopg2.connect(admin_dsn)
    admin.autocommit = True
    try:
        with admin.cursor() as cur:
            cur.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))
            cur.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
            cur.execute(sql.SQL("CREATE TABLE {}.t (x int)").format(sql.Identifier(schema)))
            cur.execute(
                sql.SQL("CREATE VIEW {0}.v AS SELECT x FROM {0}.t").format(sql.Identifier(schema))
            )
            cur.execute(
                sql.SQL("CREATE FUNCTION {}.f() RETURNS int LANGUAGE sql AS 'SELECT 1'").format(
                    sql.Identifier(schema)
                )
            )
        embedded._READY.clear()  # as a new process would
        dsn = embedded.ensure_embedded_server(warehouse_server.embedded_data_dir, createdb=True)
        assert dsn == warehouse_server.url
        pipeline = psycopg2.connect(dsn)
        with pipeline.cursor() as cur:
            cur.execute(
                sql.SQL("INSERT INTO {0}.t VALUES (1); SELECT {0}.f(), count(*) FROM {0}.v").format(
                    sql.Identifier(schema)
                )
            )
            assert cur.fetchone() == (1, 1)
            cur.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(schema)))
        pipeline.commit()
        pipeline.close()
    finally:
        with admin.cursor() as cur:
            cur.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))
        admin.close()
