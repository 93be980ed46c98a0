"""Fixtures for the production profile: an S3 endpoint on loopback and a Postgres-backed
Dagster instance next to the PostGIS warehouse."""

import os
import shutil
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path

import boto3
import psycopg2
import pytest
from psycopg2 import sql

from safebeat_assets.settings import PROJECT_ROOT

S3_ENDPOINT_ENV = "SAFEBEAT_TEST_S3_ENDPOINT_URL"
S3_KEY = "testing"  # moto accepts any credentials; these are not secrets


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    """CI starts `moto_server` on loopback; otherwise an in-process moto server is started."""
    url = os.environ.get(S3_ENDPOINT_ENV)
    if url:
        yield url
        return
    from moto.server import ThreadedMotoServer

    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


@pytest.fixture
def s3_client(s3_endpoint):
    client = boto3.client(
        "s3",
        endpoint_url=s3_endpoint,
        aws_access_key_id=S3_KEY,
        aws_secret_access_key=S3_KEY,
        region_name="us-east-1",
    )
    yield client
    for bucket in client.list_buckets().get("Buckets", []):
        objects = client.list_objects_v2(Bucket=bucket["Name"]).get("Contents", [])
        for obj in objects:
            client.delete_object(Bucket=bucket["Name"], Key=obj["Key"])
        client.delete_bucket(Bucket=bucket["Name"])


@pytest.fixture
def dagster_metadata_db(warehouse_url) -> Iterator[dict[str, str]]:
    """A database of its own for the Dagster instance, on the same server as the warehouse."""
    params = psycopg2.extensions.parse_dsn(warehouse_url)
    name = f"dagster_{uuid.uuid4().hex[:10]}"
    admin = psycopg2.connect(warehouse_url)
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    yield {
        "DAGSTER_PG_HOST": params.get("host", "localhost"),
        "DAGSTER_PG_PORT": str(params.get("port", 5432)),
        "DAGSTER_PG_USER": params.get("user", ""),
        "DAGSTER_PG_PASSWORD": params.get("password", ""),
        "DAGSTER_PG_DB": name,
    }
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
