"""Fixtures for the production profile: a Postgres-backed Dagster instance next to the PostGIS
warehouse (the S3 endpoint is a fixture of the whole suite)."""

import selectors
import shutil
import socket
import socketserver
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg2
import pytest
from psycopg2 import sql

from safebeat_assets.settings import PROJECT_ROOT


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


@pytest.fixture
def dagster_metadata_db(warehouse_url, dagster_pg_server) -> Iterator[dict[str, str]]:
    """A database of its own for the Dagster instance, on the same server as the warehouse."""
    name = f"dagster_{uuid.uuid4().hex[:10]}"
    admin = psycopg2.connect(warehouse_url)
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    yield {**dagster_pg_server, "DAGSTER_PG_DB": name}
    with admin.cursor() as cur:
        cur.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (name,)
        )
        cur.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name)))
    admin.close()


@pytest.fixture
def dagster_home(tmp_path) -> Path:
    """A DAGSTER_HOME holding the repository's production dagster.yaml."""
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(PROJECT_ROOT / "dagster.yaml", home / "dagster.yaml")
    return home
