"""Fixtures for the production profile: a Postgres-backed Dagster instance next to the PostGIS
warehouse (the S3 endpoint is a fixture of the whole suite)."""

import selectors
import shutil
import socket
import socketserver
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg2
import pytest
from psycopg2 import sql

from safebeat_assets.settings import PROJECT_ROOT
from safebeat_assets.storage.warehouse import Warehouse
from safebeat_assets_tests.helpers import S3_KEY

LANDING_SOURCES = ("calls", "events", "block_groups")


class _UnixSocketRelay(socketserver.ThreadingTCPServer):
    """Accepts TCP connections on 127.0.0.1 and passes their bytes to and from a unix socket."""

    daemon_threads = True

    def __init__(self, socket_path: str):
        self.socket_path = socket_path
        super().__init__(("127.0.0.1", 0), _RelayHandler)


class _RelayHandler(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        with socket.socket(socket.AF_UNIX) as upstream, selectors.DefaultSelector() as sel:
            upstream.connect(self.server.socket_path)
            peer = {self.request: upstream, upstream: self.request}
            for end in peer:
                sel.register(end, selectors.EVENT_READ)
            try:
                while True:
                    for key, _ in sel.select():
                        data = key.fileobj.recv(65536)
                        if not data:
                            return
                        peer[key.fileobj].sendall(data)
            except ConnectionError:
                return


@pytest.fixture(scope="session")
def dagster_pg_server(warehouse_url) -> Iterator[dict[str, str]]:
    """DAGSTER_PG_HOST/PORT/USER/PASSWORD reaching the warehouse's server over TCP.

    dagster.yaml builds `postgresql+psycopg2://user:password@host:port/db`, i.e. always TCP, as in
    deployment. The CI server listens on loopback. The embedded server (no SAFEBEAT_TEST_* set)
    listens only on a unix socket, and the test session's one is already running when this is
    first needed, so it is reached through a loopback relay to that socket rather than restarted.
    """
    conn = psycopg2.connect(warehouse_url)
    try:
        info = conn.info  # what libpq resolved, defaults included
        host, port, user, password = info.host, info.port, info.user, info.password or ""
    finally:
        conn.close()
    relay = None
    if host.startswith("/"):  # libpq: a host starting with a slash is a socket directory
        relay = _UnixSocketRelay(f"{host}/.s.PGSQL.{port}")
        threading.Thread(target=relay.serve_forever, daemon=True).start()
        host, port = relay.server_address
    yield {
        "DAGSTER_PG_HOST": host,
        "DAGSTER_PG_PORT": str(port),
        "DAGSTER_PG_USER": user,
        "DAGSTER_PG_PASSWORD": password,
    }
    if relay is not None:
        relay.shutdown()
        relay.server_close()


@contextmanager
def metadata_database(warehouse_url: str) -> Iterator[str]:
    """A database of its own for a Dagster instance, on the same server as the warehouse."""
    name = f"dagster_{uuid.uuid4().hex[:10]}"
    admin = psycopg2.connect(warehouse_url)
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield name
    finally:
        with admin.cursor() as cur:
            cur.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s",
                (name,),
            )
            cur.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name)))
        admin.close()


@pytest.fixture
def dagster_metadata_db(warehouse_url, dagster_pg_server) -> Iterator[dict[str, str]]:
    """DAGSTER_PG_* of a fresh instance database."""
    with metadata_database(warehouse_url) as name:
        yield {**dagster_pg_server, "DAGSTER_PG_DB": name}


@pytest.fixture
def second_dagster_db(warehouse_url) -> Iterator[str]:
    """Another fresh instance database: a second deployment that has never run anything."""
    with metadata_database(warehouse_url) as name:
        yield name


@pytest.fixture
def dagster_home(tmp_path) -> Path:
    """A DAGSTER_HOME holding the repository's production dagster.yaml."""
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(PROJECT_ROOT / "dagster.yaml", home / "dagster.yaml")
    return home


@pytest.fixture
def prod_environment(
    monkeypatch, tmp_path, warehouse_url, s3_endpoint, dagster_metadata_db, dagster_home
) -> dict[str, str]:
    schema = f"prod_{uuid.uuid4().hex[:10]}"
    env = {
        "SAFEBEAT_ENV": "prod",
        "SAFEBEAT_WAREHOUSE_URL": warehouse_url,
        "SAFEBEAT_WAREHOUSE_SCHEMA": schema,
        "SAFEBEAT_S3_ENDPOINT_URL": s3_endpoint,
        "SAFEBEAT_S3_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": S3_KEY,
        "AWS_SECRET_ACCESS_KEY": S3_KEY,
        "SAFEBEAT_DATA_DIR": str(tmp_path / "scratch"),
        "DAGSTER_HOME": str(dagster_home),
        **dagster_metadata_db,
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    yield env
    Warehouse(warehouse_url, schema).drop_schema()


@pytest.fixture
def prod_warehouse(prod_environment) -> Warehouse:
    """The production profile's warehouse; the test skips where the server has no PostGIS."""
    warehouse = Warehouse(
        prod_environment["SAFEBEAT_WAREHOUSE_URL"], prod_environment["SAFEBEAT_WAREHOUSE_SCHEMA"]
    )
    if not warehouse.postgis:
        pytest.skip(
            "PostGIS is not installed on the test server (CI installs postgresql-15-postgis-3)"
        )
    return warehouse


@pytest.fixture
def landing_in_s3(s3_client, sample_landing) -> None:
    """The sample's landing files in the raw bucket, where the production profile reads them."""
    s3_client.create_bucket(Bucket="raw-data")  # as the compose minio-init job does
    for source in LANDING_SOURCES:
        for path in sorted((sample_landing / source).iterdir()):
            s3_client.upload_file(str(path), "raw-data", f"landing/{source}/{path.name}")
