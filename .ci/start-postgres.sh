#!/usr/bin/env bash
# Installs (if needed) and starts Debian PostgreSQL 15 + PostGIS on 127.0.0.1:5432 and creates the
# test role (no superuser) and database. Prints the connection URL for SAFEBEAT_TEST_DATABASE_URL
# on stdout.
set -euo pipefail

need_install=0
dpkg -s postgresql-15 >/dev/null 2>&1 || need_install=1
dpkg -s postgresql-15-postgis-3 >/dev/null 2>&1 || need_install=1
if [ "$need_install" = 1 ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq postgresql-15 postgresql-15-postgis-3 >&2
fi

if ! pg_lsclusters -h 2>/dev/null | awk '$1 == "15" && $2 == "main"' | grep -q .; then
  pg_createcluster 15 main >&2
fi
if ! pg_lsclusters -h | awk '$1 == "15" && $2 == "main" {print $4}' | grep -q online; then
  pg_ctlcluster 15 main start >&2
fi

for _ in $(seq 1 30); do
  su postgres -c "pg_isready -q -h 127.0.0.1 -p 5432" && break
  sleep 1
done

# A random password generated on first use and kept outside the repository, so that running
# this script again (e.g. while tests run) does not invalidate URLs handed out before.
password_file=/var/lib/postgresql/.safebeat-test-password
if [ ! -s "$password_file" ]; then
  head -c 18 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$password_file"
  chmod 600 "$password_file"
fi
password=$(cat "$password_file")
# The pipeline's role is no superuser (as in production): it owns the test database and so the
# schemas it creates. PostGIS is not a trusted extension, so postgres installs it beforehand.
# CREATEDB lets the tests create the Dagster instance's database next to the warehouse. Runs
# again over a database made by an older version of this script (whose role was a superuser).
# safebeat_reader is the dashboard's read-only role; membership lets the tests SET ROLE to it.
su postgres -c "psql -q -v ON_ERROR_STOP=1" >&2 <<SQL
DO \$\$ BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'safebeat') THEN
    CREATE ROLE safebeat LOGIN;
  END IF;
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'safebeat_reader') THEN
    CREATE ROLE safebeat_reader NOLOGIN;
  END IF;
END \$\$;
ALTER ROLE safebeat LOGIN NOSUPERUSER NOCREATEROLE CREATEDB NOREPLICATION NOBYPASSRLS
  PASSWORD '${password}';
GRANT safebeat_reader TO safebeat;
SQL
su postgres -c "psql -tAc \"SELECT 1 FROM pg_database WHERE datname = 'safebeat_test'\"" | grep -q 1 \
  || su postgres -c "createdb -O safebeat safebeat_test" >&2
su postgres -c "psql -q -v ON_ERROR_STOP=1 -d safebeat_test" >&2 <<'SQL'
ALTER DATABASE safebeat_test OWNER TO safebeat;
CREATE EXTENSION IF NOT EXISTS postgis;
SQL

echo "postgresql://safebeat:${password}@127.0.0.1:5432/safebeat_test"
