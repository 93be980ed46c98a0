"""SafeBeat's error vocabulary, and which failures are worth retrying.

Two families decide how a failing step is treated:
- `DataError`: deterministic. The input, the configuration or the requested change is wrong;
  running again gives the same answer, so the step fails at once (never retried).
- transient failures: the warehouse, the object store or the landing zone did not answer
  (connection refused or reset, server restarting, serialization failure, S3 5xx/throttling).
  They are retried with the profile's delay and backoff (`is_transient`).

This module never imports Dagster; the wiring turns a non-transient failure into a Dagster
`Failure(allow_retries=False)`.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path


class DataError(ValueError):
    """Deterministic: bad input, configuration or a refused change. Never retried."""


class SourceFormatError(DataError):
    """A source file cannot be read; the message names the file and, where known, the column
    and the 1-based data row (header excluded)."""

    def __init__(
        self,
        source: str | Path,
        reason: str,
        column: str | None = None,
        row: int | None = None,
    ) -> None:
        self.source = str(source)
        self.reason = reason
        self.column = column
        self.row = row
        where = [self.source]
        if column is not None:
            where.append(f"column {column!r}")
        if row is not None:
            where.append(f"row {row}")
        super().__init__(f"{', '.join(where)}: {reason}")


class DestructiveChangeError(DataError):
    """A write would remove more rows than the configured bound allows (an empty or sharply
    shrunken export): refused, nothing deleted, unless the run carries the explicit override."""


class MissingPartitionError(DataError):
    """An upstream partition that must exist is absent: an error, never an empty month."""


class WarehouseUnavailableError(RuntimeError):
    """The warehouse did not answer in time or went away; names the server. Transient."""


TRANSIENT_PG_CODES = frozenset(
    {
        "40001",  # serialization_failure
        "40P01",  # deadlock_detected
        "57P01",  # admin_shutdown (server stopping or killed)
        "57P02",  # crash_shutdown
        "57P03",  # cannot_connect_now (server starting up or in recovery)
        "08000",  # connection_exception
        "08001",  # sqlclient_unable_to_establish_sqlconnection
        "08003",  # connection_does_not_exist
        "08004",  # sqlserver_rejected_establishment_of_sqlconnection
        "08006",  # connection_failure
        "53300",  # too_many_connections
    }
)
TRANSIENT_S3_CODES = frozenset(
    {
        "SlowDown",
        "Throttling",
        "ThrottlingException",
        "RequestTimeout",
        "RequestTimeTooSkewed",
        "ServiceUnavailable",
        "InternalError",
        "503",
        "500",
        "502",
        "504",
    }
)
_TRANSIENT_PG_MESSAGES = (
    "could not connect to server",
    "connection refused",
    "server closed the connection unexpectedly",
    "connection already closed",
    "terminating connection",
    "the database system is starting up",
    "the database system is shutting down",
    "the database system is in recovery mode",
    "ssl syscall error",
    "no connection to the server",
    "timeout expired",  # libpq's connect_timeout
)


def causes(exc: BaseException) -> Iterator[BaseException]:
    """The exception and everything it was raised from or while handling, innermost last."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def is_transient(exc: BaseException) -> bool:
    """True when retrying later can succeed: the failure is the service's, not the data's."""
    for error in causes(exc):
        if isinstance(error, DataError):
            return False
        if isinstance(error, WarehouseUnavailableError):
            return True
        if _is_transient_postgres(error) or _is_transient_s3(error):
            return True
        if isinstance(error, (ConnectionError, TimeoutError)):
            return True
    return False


def _is_transient_postgres(error: BaseException) -> bool:
    try:
        import psycopg2
    except ImportError:  # pragma: no cover - psycopg2 is a dependency
        return False
    if not isinstance(error, psycopg2.Error):
        return False
    if error.pgcode in TRANSIENT_PG_CODES or isinstance(error, _transient_pg_classes()):
        return True
    if isinstance(error, (psycopg2.OperationalError, psycopg2.InterfaceError)) and not error.pgcode:
        message = str(error).lower()
        return any(fragment in message for fragment in _TRANSIENT_PG_MESSAGES)
    return False


def _transient_pg_classes() -> tuple[type, ...]:
    from psycopg2 import errors

    classes = []
    for code in TRANSIENT_PG_CODES:
        try:
            classes.append(errors.lookup(code))
        except KeyError:  # a code this psycopg2 has no class for
            continue
    return tuple(classes)


def _is_transient_s3(error: BaseException) -> bool:
    module = type(error).__module__ or ""
    if not module.startswith(("botocore", "urllib3", "aiobotocore", "s3fs")):
        return False
    response = getattr(error, "response", None)
    if isinstance(response, dict):
        code = str(response.get("Error", {}).get("Code", ""))
        status = int(response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)
        return code in TRANSIENT_S3_CODES or status >= 500 or status == 429
    # EndpointConnectionError, ConnectTimeoutError, ReadTimeoutError, ConnectionClosedError...
    name = type(error).__name__
    return any(part in name for part in ("Connection", "Timeout", "Endpoint"))
