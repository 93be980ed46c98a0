#!/bin/sh
# The warehouse's roles, applied on every `docker compose up` by the one-shot `warehouse-init`
# service (idempotent: it also applies password changes made in .env):
#   - SAFEBEAT_WAREHOUSE_USER, the pipeline: LOGIN, NOSUPERUSER, owner of the schema
#     SAFEBEAT_WAREHOUSE_SCHEMA, so it can create and replace its tables and nothing else;
#   - SAFEBEAT_READER_USER (default safebeat_reader), the dashboard: LOGIN, read-only sessions,
#     SELECT on the schema's present and future tables.
# It connects as the server's superuser through the libpq variables PGHOST, PGPORT, PGUSER,
# PGPASSWORD and PGDATABASE (the warehouse database). Passwords are read from the environment
# by psql's \getenv, so they never appear in a process list, and statement logging is off for the
# session, so they never reach the server log either. Needs psql 15 or newer.
set -eu

missing=""
for name in PGDATABASE SAFEBEAT_WAREHOUSE_USER SAFEBEAT_WAREHOUSE_PASSWORD \
    SAFEBEAT_WAREHOUSE_SCHEMA SAFEBEAT_READER_USER SAFEBEAT_READER_PASSWORD; do
    eval "value=\${$name-}"
    [ -n "$value" ] || missing="$missing $name"
done
if [ -n "$missing" ]; then
    echo "init-roles: not set:$missing" >&2
    exit 2
fi

# Quoted here-document: the shell expands nothing, psql reads every value itself.
psql --no-psqlrc --quiet --set ON_ERROR_STOP=1 <<'SQL'
SET log_statement = 'none';
SET log_min_error_statement = 'panic';
SET log_min_duration_statement = -1;
SET client_min_messages = warning;

\getenv pipeline_user SAFEBEAT_WAREHOUSE_USER
\getenv pipeline_password SAFEBEAT_WAREHOUSE_PASSWORD
\getenv reader_user SAFEBEAT_READER_USER
\getenv reader_password SAFEBEAT_READER_PASSWORD
\getenv schema_name SAFEBEAT_WAREHOUSE_SCHEMA

-- Handed to the DO block as session settings: psql does not substitute inside dollar quotes.
SELECT set_config('safebeat.pipeline_user', :'pipeline_user', false),
       set_config('safebeat.pipeline_password', :'pipeline_password', false),
       set_config('safebeat.reader_user', :'reader_user', false),
       set_config('safebeat.reader_password', :'reader_password', false),
       set_config('safebeat.schema_name', :'schema_name', false)
\gset ignored_

-- PostGIS in the warehouse database (the image does this on first start; kept for servers that
-- were initialised otherwise). Only a superuser may, so not the pipeline.
SELECT 'CREATE EXTENSION IF NOT EXISTS postgis'
WHERE EXISTS (SELECT FROM pg_available_extensions WHERE name = 'postgis')
\gexec

DO $roles$
DECLARE
    pipeline text := current_setting('safebeat.pipeline_user');
    reader text := current_setting('safebeat.reader_user');
    target_schema text := current_setting('safebeat.schema_name');
    db text := current_database();
    role_name text;
    role_password text;
    obj record;
BEGIN
    IF pipeline = reader THEN
        RAISE EXCEPTION 'SAFEBEAT_READER_USER must differ from SAFEBEAT_WAREHOUSE_USER (%)', pipeline;
    END IF;
    FOREACH role_name IN ARRAY ARRAY[pipeline, reader] LOOP
        -- The bootstrap superuser can never drop SUPERUSER: running the pipeline as that role
        -- is exactly what this script exists to prevent.
        IF role_name = current_user
           OR EXISTS (SELECT FROM pg_roles WHERE rolname = role_name AND oid = 10) THEN
            RAISE EXCEPTION
                'role % is this server''s superuser; give the pipeline and the reader roles of '
                'their own (SAFEBEAT_WAREHOUSE_ADMIN_USER is the superuser)', role_name;
        END IF;
        IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = role_name) THEN
            EXECUTE format('CREATE ROLE %I', role_name);
        END IF;
        role_password := current_setting(CASE WHEN role_name = pipeline
            THEN 'safebeat.pipeline_password' ELSE 'safebeat.reader_password' END);
        BEGIN
            EXECUTE format(
                'ALTER ROLE %I WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION '
                'NOBYPASSRLS INHERIT PASSWORD %L', role_name, role_password);
        EXCEPTION WHEN OTHERS THEN
            -- Re-raised without the statement, which holds the password.
            RAISE EXCEPTION 'could not configure role %: %', role_name, SQLERRM;
        END;
    END LOOP;

    -- Only the two roles (and superusers) may connect. The pipeline keeps CREATE on the
    -- database because `Warehouse.ensure_tables` runs CREATE SCHEMA IF NOT EXISTS, which Postgres
    -- authorises before it looks whether the schema exists; TEMPORARY is for its staging tables.
    EXECUTE format('REVOKE ALL ON DATABASE %I FROM PUBLIC', db);
    EXECUTE format('GRANT CONNECT, TEMPORARY, CREATE ON DATABASE %I TO %I', db, pipeline);
    EXECUTE format('REVOKE ALL ON DATABASE %I FROM %I', db, reader);
    EXECUTE format('GRANT CONNECT ON DATABASE %I TO %I', db, reader);

    EXECUTE format('CREATE SCHEMA IF NOT EXISTS %I AUTHORIZATION %I', target_schema, pipeline);
    EXECUTE format('ALTER SCHEMA %I OWNER TO %I', target_schema, pipeline);
    EXECUTE format('REVOKE ALL ON SCHEMA %I FROM PUBLIC', target_schema);
    -- Objects made by an earlier owner (e.g. a warehouse whose pipeline ran as the superuser)
    -- move to the pipeline, which replaces and alters them; indexes and owned sequences follow
    -- their table.
    FOR obj IN
        SELECT c.oid::regclass::text AS name,
               CASE c.relkind WHEN 'S' THEN 'SEQUENCE' WHEN 'v' THEN 'VIEW'
                   WHEN 'm' THEN 'MATERIALIZED VIEW' WHEN 'f' THEN 'FOREIGN TABLE'
                   ELSE 'TABLE' END AS kind
        FROM pg_class c
        WHERE c.relnamespace = target_schema::regnamespace
          AND c.relkind IN ('r', 'p', 'v', 'm', 'f', 'S')
          AND c.relowner <> pipeline::regrole
          AND (c.relkind <> 'S' OR NOT EXISTS (
              SELECT FROM pg_depend d WHERE d.classid = 'pg_class'::regclass
              AND d.objid = c.oid AND d.deptype IN ('a', 'i')))
        UNION ALL
        SELECT p.oid::regprocedure::text, 'ROUTINE'
        FROM pg_proc p
        WHERE p.pronamespace = target_schema::regnamespace AND p.proowner <> pipeline::regrole
    LOOP
        EXECUTE format('ALTER %s %s OWNER TO %I', obj.kind, obj.name, pipeline);
    END LOOP;

    EXECUTE format('GRANT USAGE ON SCHEMA %I TO %I', target_schema, reader);
    -- The same grants as safebeat_assets/storage/roles.py (read_only_grants), kept in plain SQL
    -- so this step needs nothing but psql.
    EXECUTE format('GRANT SELECT ON ALL TABLES IN SCHEMA %I TO %I', target_schema, reader);
    EXECUTE format('GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA %I TO %I', target_schema, reader);
    EXECUTE format(
        'ALTER DEFAULT PRIVILEGES FOR ROLE %I IN SCHEMA %I GRANT SELECT ON TABLES TO %I',
        pipeline, target_schema, reader);
    EXECUTE format(
        'ALTER DEFAULT PRIVILEGES FOR ROLE %I IN SCHEMA %I GRANT EXECUTE ON FUNCTIONS TO %I',
        pipeline, target_schema, reader);
    -- A second line of defence behind the grants: even a mistaken grant cannot make a reader
    -- session write.
    EXECUTE format('ALTER ROLE %I SET default_transaction_read_only = on', reader);
    EXECUTE format('ALTER ROLE %I SET search_path = %I, public', reader, target_schema);
END
$roles$;

SELECT set_config('safebeat.pipeline_password', '', false),
       set_config('safebeat.reader_password', '', false)
\gset ignored_
\echo init-roles: pipeline role :"pipeline_user" owns schema :"schema_name"; reader role :"reader_user" may only read it
SQL
