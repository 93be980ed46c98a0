"""Warehouse connections that cannot hang, and failures that name the server.

Every connection carries libpq's `connect_timeout` and the server-side `statement_timeout`,
`lock_timeout` and `idle_in_transaction_session_timeout`. Those cover a slow or busy server,
but not a frozen one: a stopped (SIGSTOP) or wedged server still has its kernel accept and
acknowledge bytes, so its timers never fire and a blocking libpq call (a query, COPY, COMMIT)
would wait forever. A client-side watchdog therefore gives every statement a deadline of the
statement timeout plus a grace period; when it passes, the watchdog shuts the connection's
socket down, which makes the blocked call return at once. (psycopg2's wait callbacks would
need non-blocking connections, which do not support COPY.)

Failures are translated into `WarehouseUnavailableError` (transient, retried) naming the
warehouse as host:port/database (never the password): the watchdog's cut, a server that
terminated or restarted, a statement or lock timeout. Everything else is left as it is.
"""

from __future__ import annotations

import itertools
import os
import socket
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import psycopg2
import psycopg2.extensions

from ..errors import WarehouseUnavailableError, causes, is_transient

APPLICATION_NAME = "safebeat-warehouse"
# libpq rounds connect_timeout to whole seconds and treats values below 2 as 2.
MIN_CONNECT_TIMEOUT_SECONDS = 2
_CONNECTION_LOST_CODES = frozenset({"57P01", "57P02", "57P03", "25P03"})
_QUERY_CANCELED = "57014"
_LOCK_NOT_AVAILABLE = "55P03"


@dataclass(frozen=True)
class Timeouts:
    """How long the warehouse may take; defaults match `Settings`."""

    connect_seconds: float = 10.0
    statement_seconds: float = 30 * 60.0
    lock_seconds: float = 60.0
    # None: as long as a statement may run (a session idle that long inside a transaction is
    # a stuck client holding locks).
    idle_in_transaction_seconds: float | None = None
    # Extra time the client waits past statement_timeout before it concludes that the server
    # is frozen: the server's own cancellation, which reports a clearer error, comes first.
    grace_seconds: float = 15.0

    @property
    def client_deadline_seconds(self) -> float:
        return self.statement_seconds + self.grace_seconds

    @property
    def idle_seconds(self) -> float:
        if self.idle_in_transaction_seconds is None:
            return self.statement_seconds
        return self.idle_in_transaction_seconds

    def options(self) -> str:
        """Server settings for the startup packet: no extra round trip per connection."""
        settings = {
            "TimeZone": "UTC",
            "statement_timeout": _milliseconds(self.statement_seconds),
            "lock_timeout": _milliseconds(self.lock_seconds),
            "idle_in_transaction_session_timeout": _milliseconds(self.idle_seconds),
        }
        return " ".join(f"-c {name}={value}" for name, value in settings.items())


def _milliseconds(seconds: float) -> int:
    return max(1, round(seconds * 1000))


def describe_dsn(dsn: str) -> str:
    """`host:port/database` of a DSN (a socket directory for host), without credentials."""
    try:
        params = psycopg2.extensions.parse_dsn(dsn)
    except psycopg2.ProgrammingError:
        return "the configured server"
    host = params.get("host") or params.get("hostaddr") or os.environ.get("PGHOST") or ""
    port = params.get("port") or os.environ.get("PGPORT") or "5432"
    database = (
        params.get("dbname")
        or os.environ.get("PGDATABASE")
        or params.get("user")
        or os.environ.get("PGUSER")
        or ""
    )
    if not host:
        host = "local socket"
    return f"{host}:{port}/{database}"


def connect(dsn: str, timeouts: Timeouts, where: str | None = None) -> GuardedConnection:
    """A connection whose statements have a client-side deadline and whose failures name
    `where` (default: derived from the DSN)."""
    where = where or describe_dsn(dsn)
    params = psycopg2.extensions.parse_dsn(dsn)
    options = " ".join(part for part in (params.get("options"), timeouts.options()) if part)
    extra = {
        "options": options,
        "connect_timeout": max(MIN_CONNECT_TIMEOUT_SECONDS, round(timeouts.connect_seconds)),
        # A peer that vanished without closing (host down, cable cut) is noticed by the kernel.
        "keepalives": 1,
        "keepalives_idle": 30,
        "keepalives_interval": 10,
        "keepalives_count": 3,
    }
    if "application_name" not in params:
        extra["application_name"] = APPLICATION_NAME
    try:
        conn = psycopg2.connect(
            psycopg2.extensions.make_dsn(dsn, **extra), connection_factory=GuardedConnection
        )
    except psycopg2.OperationalError as exc:
        if is_transient(exc):
            raise WarehouseUnavailableError(
                f"could not connect to the warehouse at {where} within "
                f"{timeouts.connect_seconds:g} s: {_first_lines(exc)}"
            ) from exc
        raise
    conn.guard_with(where, timeouts)
    return conn


class GuardedConnection(psycopg2.extensions.connection):
    """A psycopg2 connection whose statements, COPYs, commits and rollbacks have a deadline."""

    where = "the warehouse"
    timeouts = Timeouts()

    def guard_with(self, where: str, timeouts: Timeouts) -> None:
        self.where = where
        self.timeouts = timeouts
        self.cursor_factory = GuardedCursor

    def commit(self) -> None:
        with self.deadline():
            super().commit()

    def rollback(self) -> None:
        with self.deadline():
            super().rollback()

    def deadline(self) -> _Deadline:
        return _Deadline(self)

    def translate(self, exc: psycopg2.Error, cut: bool) -> WarehouseUnavailableError | None:
        """The error to raise instead of `exc`, or None to raise `exc` as it is."""
        where, timeouts = self.where, self.timeouts
        message = _first_lines(exc)
        if cut:
            return WarehouseUnavailableError(
                f"the warehouse at {where} did not answer within "
                f"{timeouts.client_deadline_seconds:g} s (statement_timeout "
                f"{timeouts.statement_seconds:g} s + {timeouts.grace_seconds:g} s grace): the "
                "server is frozen or unreachable, so the client closed the connection"
            )
        code = exc.pgcode
        if code == _QUERY_CANCELED and "statement timeout" in str(exc):
            return WarehouseUnavailableError(
                f"the warehouse at {where} cancelled a statement that ran longer than its "
                f"statement_timeout of {timeouts.statement_seconds:g} s: {message}"
            )
        if code == _LOCK_NOT_AVAILABLE:
            return WarehouseUnavailableError(
                f"the warehouse at {where} could not grant a lock within lock_timeout "
                f"{timeouts.lock_seconds:g} s (another session holds it): {message}"
            )
        lost = code in _CONNECTION_LOST_CODES or (
            code is None
            and isinstance(exc, psycopg2.OperationalError | psycopg2.InterfaceError)
            and (self.closed or is_transient(exc))
        )
        if lost:
            return WarehouseUnavailableError(
                f"the warehouse at {where} closed the connection (server terminated or "
                f"restarted, or this session was ended): {message}"
            )
        return None


class GuardedCursor(psycopg2.extensions.cursor):
    def execute(self, query, vars=None):
        with self.connection.deadline():
            return super().execute(query, vars)

    def executemany(self, query, vars_list):
        with self.connection.deadline():
            return super().executemany(query, vars_list)

    def callproc(self, procname, parameters=None):
        with self.connection.deadline():
            return super().callproc(procname, parameters)

    def copy_expert(self, sql, file, size=8192):
        with self.connection.deadline(), _server_errors_of_copy():
            return super().copy_expert(sql, file, size)

    def copy_from(self, *args, **kwargs):
        with self.connection.deadline(), _server_errors_of_copy():
            return super().copy_from(*args, **kwargs)

    def copy_to(self, *args, **kwargs):
        with self.connection.deadline(), _server_errors_of_copy():
            return super().copy_to(*args, **kwargs)


# psycopg2 (2.9) loses the server's error when a session ends during COPY: it raises the error,
# then, with it still set, formats the next one, fails, and prints the first via PyErr_Print
# (which calls sys.excepthook) before raising a bare "invalid socket". While a COPY runs, the
# hook below keeps what would be printed, so the COPY's failure is the server's own error.
_copy_state = threading.local()
_hook_lock = threading.Lock()
_hook_users = 0
_previous_excepthook = sys.excepthook


def _capturing_excepthook(kind, value, tb) -> None:
    swallowed = getattr(_copy_state, "swallowed", None)
    if swallowed is None:
        _previous_excepthook(kind, value, tb)
    else:
        swallowed.append(value)


@contextmanager
def _server_errors_of_copy() -> Iterator[None]:
    global _hook_users, _previous_excepthook
    with _hook_lock:
        if _hook_users == 0 and sys.excepthook is not _capturing_excepthook:
            _previous_excepthook = sys.excepthook
            sys.excepthook = _capturing_excepthook
        _hook_users += 1
    _copy_state.swallowed = swallowed = []
    try:
        yield
    except psycopg2.Error as exc:
        server_error = next(
            (
                error
                for value in swallowed
                for error in causes(value)
                if isinstance(error, psycopg2.Error) and error.pgcode
            ),
            None,
        )
        if server_error is None:
            raise
        raise server_error from exc
    finally:
        _copy_state.swallowed = None
        with _hook_lock:
            _hook_users -= 1
            if _hook_users == 0 and sys.excepthook is _capturing_excepthook:
                sys.excepthook = _previous_excepthook


class _Deadline:
    """Arms the watchdog for one blocking call and translates the call's failure."""

    __slots__ = ("_conn", "_token")

    def __init__(self, conn: GuardedConnection):
        self._conn = conn
        self._token = 0

    def __enter__(self) -> None:
        self._token = WATCHDOG.arm(self._conn, self._conn.timeouts.client_deadline_seconds)

    def __exit__(self, kind, exc, tb) -> bool:
        cut = WATCHDOG.disarm(self._token)
        if isinstance(exc, psycopg2.Error):
            error = self._conn.translate(exc, cut)
            if error is not None:
                raise error from exc
        return False


class _Watchdog:
    """One thread per process that cuts the connections whose deadline passed."""

    def __init__(self) -> None:
        self._reset()
        if hasattr(os, "register_at_fork"):
            # A forked child has no watchdog thread and may inherit a held lock.
            os.register_at_fork(after_in_child=self._reset)

    def _reset(self) -> None:
        self._cond = threading.Condition()
        self._armed: dict[int, tuple[float, GuardedConnection]] = {}
        self._cut: set[int] = set()
        self._ids = itertools.count(1)
        self._thread: threading.Thread | None = None

    def arm(self, conn: GuardedConnection, seconds: float) -> int:
        with self._cond:
            token = next(self._ids)
            self._armed[token] = (time.monotonic() + seconds, conn)
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._run, name="warehouse-watchdog", daemon=True
                )
                self._thread.start()
            self._cond.notify()
            return token

    def disarm(self, token: int) -> bool:
        """Forget `token`; True when its deadline had passed and its connection was cut."""
        with self._cond:
            self._armed.pop(token, None)
            if token in self._cut:
                self._cut.discard(token)
                return True
            return False

    def _run(self) -> None:
        with self._cond:
            while True:
                now = time.monotonic()
                for token, (due, conn) in list(self._armed.items()):
                    if due <= now:
                        del self._armed[token]
                        self._cut.add(token)
                        _shut_down(conn)
                upcoming = [due for due, _ in self._armed.values()]
                self._cond.wait(timeout=min(upcoming) - now if upcoming else None)


def _shut_down(conn: GuardedConnection) -> None:
    """Shut the connection's socket down under libpq: its blocked send or receive returns."""
    try:
        fd = conn.fileno()
    except (psycopg2.Error, ValueError):
        return
    try:
        sock = socket.fromfd(fd, socket.AF_INET, socket.SOCK_STREAM)  # a duplicate descriptor
    except OSError:
        return
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    finally:
        sock.close()


def _first_lines(exc: BaseException) -> str:
    """libpq's message on one line (it spreads hints over several)."""
    return " ".join(line.strip() for line in str(exc).strip().splitlines() if line.strip())


WATCHDOG = _Watchdog()
