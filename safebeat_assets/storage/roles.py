"""The dashboard's read-only role: what it may do in the warehouse schema, as SQL.

The pipeline's role owns the schema and writes it; the dashboard reads through a separate role
that can look at every table, view and function of the schema, now and later (default
privileges of the owner), and nothing else: no INSERT, UPDATE, DELETE, TRUNCATE or CREATE.
Creating the role itself (LOGIN, password) is the administrator's step, as is running this once
per schema, e.g. from the deployment's migrate step.
"""

from __future__ import annotations

from psycopg2 import sql

READER_ROLE = "safebeat_reader"


def read_only_grants(
    schema: str, role: str = READER_ROLE, owner: str | None = None, database: str | None = None
) -> list[sql.Composed]:
    """GRANT statements giving `role` read access to `schema`; with `owner`, also to what
    `owner` creates there later; with `database`, the right to connect to it."""
    schema_id, role_id = sql.Identifier(schema), sql.Identifier(role)
    statements = []
    if database:
        statements.append(
            sql.SQL("GRANT CONNECT ON DATABASE {} TO {}").format(sql.Identifier(database), role_id)
        )
    statements += [
        sql.SQL("GRANT USAGE ON SCHEMA {} TO {}").format(schema_id, role_id),
        # Tables, views and materialized views alike.
        sql.SQL("GRANT SELECT ON ALL TABLES IN SCHEMA {} TO {}").format(schema_id, role_id),
        sql.SQL("GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA {} TO {}").format(schema_id, role_id),
    ]
    if owner:
        for kind, privilege in (("TABLES", "SELECT"), ("FUNCTIONS", "EXECUTE")):
            statements.append(
                sql.SQL(
                    "ALTER DEFAULT PRIVILEGES FOR ROLE {} IN SCHEMA {} GRANT {} ON {} TO {}"
                ).format(
                    sql.Identifier(owner), schema_id, sql.SQL(privilege), sql.SQL(kind), role_id
                )
            )
    return statements


def grant_read_only(conn, schema: str, role: str = READER_ROLE) -> list[str]:
    """Give the existing `role` read-only access to the existing `schema` (and to tables the
    schema's owner creates there later), and commit. Run as the schema's owner or a superuser.
    Returns the statements as run, for the caller's log."""
    with conn.cursor() as cur:
        cur.execute(
            "SELECT pg_get_userbyid(nspowner) FROM pg_namespace WHERE nspname = %s", (schema,)
        )
        found = cur.fetchone()
        if found is None:
            raise LookupError(
                f"schema {schema!r} does not exist yet: create the warehouse tables first"
            )
        cur.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,))
        if cur.fetchone() is None:
            raise LookupError(
                f"role {role!r} does not exist: an administrator creates it first "
                f"(CREATE ROLE {role} LOGIN PASSWORD ...)"
            )
        statements = read_only_grants(schema, role, owner=found[0], database=conn.info.dbname)
        for statement in statements:
            cur.execute(statement)
        done = [statement.as_string(cur) for statement in statements]
    conn.commit()
    return done
