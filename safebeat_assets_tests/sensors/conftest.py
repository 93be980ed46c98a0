"""Fixtures for the sensor tests: a private landing folder, a lake folder, local servers, S3."""

import logging
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from safebeat_assets.storage.object_store import LakeStorage
from safebeat_assets.storage.reports import ReportStore

from .servers import SmtpServer, WebhookServer, free_port

S3_KEY = "testing"  # moto accepts any credentials; these are not secrets


@pytest.fixture
def landing_dir(sample_landing, tmp_path) -> Path:
    """A private copy of the session's sample landing folder (tests change files in it)."""
    target = tmp_path / "landing"
    shutil.copytree(sample_landing, target)
    return target


@pytest.fixture
def lake_dir(tmp_path) -> Path:
    return tmp_path / "lake"


@pytest.fixture
def reports(lake_dir) -> ReportStore:
    return ReportStore(storage=LakeStorage(root=str(lake_dir)))


@pytest.fixture
def webhook() -> Iterator[WebhookServer]:
    with WebhookServer() as server:
        yield server


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    with SmtpServer() as server:
        yield server


@pytest.fixture(scope="module")
def moto_endpoint() -> Iterator[str]:
    """An S3 endpoint on loopback (moto in a thread)."""
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


class LogRecords(logging.Handler):
    """Collects the records a sensor logs on `context.log`."""

    def __init__(self):
        super().__init__(level=logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def messages(self, level: int = logging.DEBUG) -> list[str]:
        return [r.getMessage() for r in self.records if r.levelno >= level]


def capture_log(context) -> LogRecords:
    handler = LogRecords()
    context.log.addHandler(handler)
    return handler
