"""Fixtures for the sensor tests: a private landing folder, a lake folder, local servers."""

import logging
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from safebeat_assets.storage.object_store import LakeStorage
from safebeat_assets.storage.reports import ReportStore

from .servers import SmtpServer, WebhookServer


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
