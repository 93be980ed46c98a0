"""Where the dashboard reads from: the warehouse (read-only sessions) and the lake, chosen by the
same `Settings` as the pipeline.

Local profile: the embedded warehouse, read as the read-only role `safebeat_reader` (created
in the embedded server on first use); the lake is the folder `SAFEBEAT_DATA_DIR/lake`.
Production: `SAFEBEAT_WAREHOUSE_URL` is the read-only role's DSN (compose gives the dashboard
service the reader's credentials) and the lake is the S3 endpoint. Every session is also opened
with `default_transaction_read_only`, so even a misconfigured role cannot write through here.
"""

from __future__ import annotations

import datetime as dt
import io
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import psycopg2
from psycopg2 import sql

from ..domain import LOCAL_TZ
from ..settings import (
    ENV_S3_ACCESS_KEY_ID,
    ENV_S3_SECRET_ACCESS_KEY,
    MODELS_BUCKET,
    REPORTS_BUCKET,
    Settings,
)
from ..storage.roles import READER_ROLE

READ_ONLY_OPTIONS = "-c default_transaction_read_only=on -c statement_timeout=60000"
APPLICATION_NAME = "safebeat-dashboard"


class DashboardDataError(RuntimeError):
    """The dashboard cannot reach or read what the pipeline wrote; says what and where."""


def local_reader_dsn(data_dir: Path, schema: str) -> str:
    """The embedded server's DSN for the read-only role, creating the role and its grants the
    first time (as the server's superuser and the schema's owner: set-up only)."""
    from ..storage.embedded import embedded_admin_dsn, ensure_embedded_server
    from ..storage.roles import grant_read_only

    owner_dsn = ensure_embedded_server(data_dir)
    admin = psycopg2.connect(embedded_admin_dsn(data_dir))
    try:
        admin.autocommit = True
        with admin.cursor() as cur:
            cur.execute("SELECT rolcanlogin FROM pg_roles WHERE rolname = %s", (READER_ROLE,))
            found = cur.fetchone()
            if found is None:
                cur.execute(
                    sql.SQL("CREATE ROLE {} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE").format(
                        sql.Identifier(READER_ROLE)
                    )
                )
            elif not found[0]:  # made elsewhere as a NOLOGIN group role (as CI's server has it)
                cur.execute(sql.SQL("ALTER ROLE {} LOGIN").format(sql.Identifier(READER_ROLE)))
    finally:
        admin.close()
    owner = psycopg2.connect(owner_dsn)
    try:
        grant_read_only(owner, schema, READER_ROLE)
    except LookupError as exc:
        raise DashboardDataError(
            f"the warehouse holds no SafeBeat data yet ({exc}): run `make demo`, or start the "
            "dashboard with `make dashboard`, which runs it first"
        ) from exc
    finally:
        owner.close()
    params = psycopg2.extensions.parse_dsn(owner_dsn)
    params["user"] = READER_ROLE
    params.pop("password", None)
    return psycopg2.extensions.make_dsn(**params)


def _city_of(settings: Settings) -> tuple[str, str]:
    return settings.city.time_zone, settings.city.title


@dataclass
class DataSource:
    """Read-only access to one warehouse schema and one lake."""

    dsn: str
    schema: str
    lake_root: str  # a folder, or "s3://"
    s3_options: dict[str, Any] = field(default_factory=dict)
    time_zone: str = LOCAL_TZ  # the city's: local hours are read in it
    city_title: str = "Austin, Texas"

    @classmethod
    def from_settings(cls, settings: Settings) -> DataSource:
        if settings.uses_embedded_warehouse:
            dsn = local_reader_dsn(settings.data_dir, settings.warehouse_schema)
        else:
            dsn = os.environ[settings.warehouse_url_env]
        if settings.uses_object_storage:
            options: dict[str, Any] = {
                "key": os.environ.get(ENV_S3_ACCESS_KEY_ID),
                "secret": os.environ.get(ENV_S3_SECRET_ACCESS_KEY),
                "client_kwargs": {"region_name": settings.s3_region},
                "use_listings_cache": False,
            }
            if settings.s3_endpoint_url:
                options["endpoint_url"] = settings.s3_endpoint_url
            return cls(dsn, settings.warehouse_schema, "s3://", options, *_city_of(settings))
        return cls(dsn, settings.warehouse_schema, str(settings.lake_dir), {}, *_city_of(settings))

    # --- warehouse ---------------------------------------------------------------------------
    def connect(self):
        conn = psycopg2.connect(
            self.dsn, options=READ_ONLY_OPTIONS, application_name=APPLICATION_NAME
        )
        conn.set_session(readonly=True, autocommit=True)
        return conn

    def table(self, name: str) -> sql.Composed:
        return sql.SQL("{}.{}").format(sql.Identifier(self.schema), sql.Identifier(name))

    def frame(
        self, template: str, params: dict | None = None, **parts: str | sql.Composable
    ) -> pd.DataFrame:
        """Rows of a query written in code: a `{name}` placeholder given a string becomes that
        table of this schema, one given composed SQL (a filter's condition) is inserted as it
        is; values travel only as `%(name)s` parameters."""
        statement = sql.SQL(template).format(
            **{k: v if isinstance(v, sql.Composable) else self.table(v) for k, v in parts.items()}
        )
        conn = self.connect()
        try:
            with conn.cursor() as cur:
                cur.execute(statement, params or {})
                columns = [d.name for d in cur.description]
                return pd.DataFrame.from_records(cur.fetchall(), columns=columns)
        except psycopg2.OperationalError as exc:
            raise DashboardDataError(f"the warehouse did not answer: {exc}".strip()) from exc
        except (psycopg2.errors.UndefinedTable, psycopg2.errors.InvalidSchemaName) as exc:
            # A warehouse given by DSN before the pipeline's first run (the embedded default
            # says so earlier, in `local_reader_dsn`).
            raise DashboardDataError(
                f"the warehouse holds no SafeBeat data yet ({exc.diag.message_primary}): the "
                "pipeline has not finished its first run"
            ) from exc
        finally:
            conn.close()

    def has_table(self, name: str) -> bool:
        found = self.frame(
            "SELECT to_regclass(format('%%I.%%I', %(schema)s::text, %(name)s::text)) IS NOT NULL "
            "AS found",
            {"schema": self.schema, "name": name},
        )
        return bool(found["found"].iloc[0])

    # --- lake --------------------------------------------------------------------------------
    def _path(self, bucket: str, key: str):
        if self.lake_root.startswith("s3://"):
            from upath import UPath

            return UPath(f"s3://{bucket}/{key}", **self.s3_options)
        return Path(self.lake_root) / bucket / key

    def model_output(self, name: str) -> pd.DataFrame | None:
        """A model's stored output (with its summary in `.attrs`), or None before its first
        run."""
        path = self._path(MODELS_BUCKET, f"{name}.parquet")
        if not path.exists():
            return None
        return pd.read_parquet(io.BytesIO(path.read_bytes()))

    def object_stamp(self, bucket: str, key: str) -> str:
        """A token that changes when the object is replaced ("" when it does not exist)."""
        path = self._path(bucket, key)
        try:
            info = path.stat()
        except FileNotFoundError:
            return ""
        if isinstance(info, os.stat_result):
            return f"{info.st_mtime_ns}:{info.st_size}"
        return str(dict(info).get("ETag") or dict(info).get("LastModified") or "")

    def modified_at(self, bucket: str, key: str) -> dt.datetime | None:
        """When the object was last written (UTC), None when it does not exist. Local files and
        S3 objects alike (upath's stat result reads S3's LastModified as st_mtime)."""
        try:
            mtime = self._path(bucket, key).stat().st_mtime
        except FileNotFoundError:
            return None
        return dt.datetime.fromtimestamp(mtime, tz=dt.UTC)

    def report_names(self) -> list[str]:
        """The daily report files (`daily/<date>_report.html|json`), newest first."""
        folder = self._path(REPORTS_BUCKET, "daily")
        if not folder.exists():
            return []
        return sorted((p.name for p in folder.iterdir()), reverse=True)

    def report_bytes(self, name: str) -> bytes:
        if "/" in name or "\\" in name or name.startswith("."):
            raise DashboardDataError(f"not a report name: {name!r}")
        return self._path(REPORTS_BUCKET, f"daily/{name}").read_bytes()
