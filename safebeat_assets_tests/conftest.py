"""Shared fixtures: a real PostgreSQL (CI server or embedded), per-test schemas, sample data."""

import os
import uuid
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from safebeat_assets.settings import ENV_WAREHOUSE_URL, Settings, load_settings
from safebeat_assets.storage.embedded import ensure_embedded_server, stop_embedded_server
from safebeat_assets.storage.warehouse import Warehouse

TEST_DATABASE_URL_ENV = "SAFEBEAT_TEST_DATABASE_URL"
SAMPLE_CALLS = 6_000
SAMPLE_START = "2025-01-01"
SAMPLE_END = "2025-06-30"


@pytest.fixture(scope="session")
def warehouse_url(tmp_path_factory) -> Iterator[str]:
    """CI points at Debian PostgreSQL + PostGIS; elsewhere an embedded server is started."""
    url = os.environ.get(TEST_DATABASE_URL_ENV)
    if url:
        yield url
        return
    data_dir = tmp_path_factory.mktemp("embedded-warehouse")
    yield ensure_embedded_server(data_dir)
    stop_embedded_server(data_dir)


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
