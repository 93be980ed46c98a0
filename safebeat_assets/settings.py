"""The one place that reads SafeBeat's environment variables and decides the profile.

Profiles:
- ``local`` (default): embedded everything. Lake = folders under ``SAFEBEAT_DATA_DIR/lake``
  named like the buckets; warehouse = an embedded PostgreSQL under ``SAFEBEAT_DATA_DIR/warehouse``
  unless ``SAFEBEAT_WAREHOUSE_URL`` points at a server.
- ``prod`` (docker compose): object storage and a PostGIS server, configured only through the
  environment; each step of a run in a process of its own.
- ``k8s`` (Dagster's Helm chart, ``deploy/k8s/``): as ``prod``, each step in a Kubernetes job.

The city (``SAFEBEAT_CITY``, default ``austin``) is a built-in adapter's name: its ``[city]``
block decides the time zone, the counties, the validity box and the first partition month, and
whether it publishes event permits. ``SAFEBEAT_COUNTY_FIPS`` and ``SAFEBEAT_PARTITION_START``
override the city's counties and first month.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from .domain import DEFAULT_LINK_RADIUS_KM, full_county_fips
from .errors import DataError

PROJECT_ROOT = Path(__file__).resolve().parent.parent
PROFILES = ("local", "prod", "k8s")
# Profiles whose lake is object storage and whose warehouse is a PostGIS server.
SERVER_PROFILES = ("prod", "k8s")
RAW_BUCKET = "raw-data"
CLEANED_BUCKET = "cleaned-data"
MODELS_BUCKET = "models"
REPORTS_BUCKET = "reports"
LAKE_BUCKETS = (RAW_BUCKET, CLEANED_BUCKET, MODELS_BUCKET, REPORTS_BUCKET)

ENV_PROFILE = "SAFEBEAT_ENV"
ENV_CITY = "SAFEBEAT_CITY"
DEFAULT_CITY = "austin"
ENV_DATA_DIR = "SAFEBEAT_DATA_DIR"
ENV_LANDING_DIR = "SAFEBEAT_LANDING_DIR"
ENV_WAREHOUSE_URL = "SAFEBEAT_WAREHOUSE_URL"
ENV_WAREHOUSE_SCHEMA = "SAFEBEAT_WAREHOUSE_SCHEMA"
ENV_LINK_RADIUS_KM = "SAFEBEAT_LINK_RADIUS_KM"
ENV_COUNTIES = "SAFEBEAT_COUNTY_FIPS"
ENV_S3_ENDPOINT_URL = "SAFEBEAT_S3_ENDPOINT_URL"
ENV_S3_REGION = "SAFEBEAT_S3_REGION"
ENV_S3_ACCESS_KEY_ID = "AWS_ACCESS_KEY_ID"
ENV_S3_SECRET_ACCESS_KEY = "AWS_SECRET_ACCESS_KEY"
ENV_LANDING_PREFIX = "SAFEBEAT_LANDING_PREFIX"
ENV_ALERT_SMTP_HOST = "SAFEBEAT_ALERT_SMTP_HOST"
ENV_ALERT_SMTP_PORT = "SAFEBEAT_ALERT_SMTP_PORT"
ENV_ALERT_SMTP_USER = "SAFEBEAT_ALERT_SMTP_USER"
ENV_ALERT_SMTP_PASSWORD = "SAFEBEAT_ALERT_SMTP_PASSWORD"
ENV_ALERT_SMTP_STARTTLS = "SAFEBEAT_ALERT_SMTP_STARTTLS"
ENV_ALERT_FROM = "SAFEBEAT_ALERT_FROM"
ENV_ALERT_TO = "SAFEBEAT_ALERT_TO"
ENV_ALERT_WEBHOOK_URL = "SAFEBEAT_ALERT_WEBHOOK_URL"
ALERT_ENV = (
    ENV_ALERT_SMTP_HOST,
    ENV_ALERT_SMTP_PORT,
    ENV_ALERT_SMTP_USER,
    ENV_ALERT_SMTP_PASSWORD,
    ENV_ALERT_FROM,
    ENV_ALERT_TO,
    ENV_ALERT_WEBHOOK_URL,
)
ENV_PARTITION_START = "SAFEBEAT_PARTITION_START"
# How many steps of one run execute at once (per-step processes or Kubernetes jobs). The local
# profile runs its steps one after another in one process.
ENV_MAX_CONCURRENT_STEPS = "SAFEBEAT_MAX_CONCURRENT_STEPS"
DEFAULT_MAX_CONCURRENT_STEPS = {"local": 1, "prod": 2, "k8s": 8}
# Overrides of the city's counties and first month: empty means the city's own.
CITY_OVERRIDE_ENV = (ENV_COUNTIES, ENV_PARTITION_START)
# Reliability (see README "Reliability"): retry delay of transient failures, warehouse timeouts,
# and the bounds on rows a new export may remove compared with the last good load.
ENV_RETRY_DELAY_SECONDS = "SAFEBEAT_RETRY_DELAY_SECONDS"
ENV_WAREHOUSE_CONNECT_TIMEOUT = "SAFEBEAT_WAREHOUSE_CONNECT_TIMEOUT_SECONDS"
ENV_WAREHOUSE_STATEMENT_TIMEOUT = "SAFEBEAT_WAREHOUSE_STATEMENT_TIMEOUT_SECONDS"
ENV_WAREHOUSE_LOCK_TIMEOUT = "SAFEBEAT_WAREHOUSE_LOCK_TIMEOUT_SECONDS"
ENV_MAX_REMOVED_PER_MONTH = "SAFEBEAT_MAX_REMOVED_FRACTION_PER_MONTH"
ENV_MAX_REMOVED_OVERALL = "SAFEBEAT_MAX_REMOVED_FRACTION_OVERALL"
# How often the automation and raw-month sensors tick. Production: every 30 s; the end-to-end
# tests and the benchmark shorten it. The daemon's loops run every 5 s, so less gains nothing.
ENV_AUTOMATION_TICK_SECONDS = "SAFEBEAT_AUTOMATION_TICK_SECONDS"
DEFAULT_AUTOMATION_TICK_SECONDS = 30
MIN_AUTOMATION_TICK_SECONDS = 5
# When the daily run starts (UTC, HH:MM); the report is due two hours later. The daemon-driven
# benchmark and end-to-end test move it away from the minutes they run in (`benchmark/daemon.py`).
ENV_DAILY_RUN_UTC = "SAFEBEAT_DAILY_RUN_UTC"
DEFAULT_DAILY_RUN_UTC = "03:00"
RELIABILITY_ENV = (
    ENV_RETRY_DELAY_SECONDS,
    ENV_WAREHOUSE_CONNECT_TIMEOUT,
    ENV_WAREHOUSE_STATEMENT_TIMEOUT,
    ENV_WAREHOUSE_LOCK_TIMEOUT,
    ENV_MAX_REMOVED_PER_MONTH,
    ENV_MAX_REMOVED_OVERALL,
)
RETRY_ATTEMPTS = 3
# Production waits 5 minutes before the first retry (then backs off); the local profile and the
# tests would only wait for nothing, so they retry after a couple of seconds.
RETRY_DELAY_SECONDS = {"prod": 300.0, "k8s": 300.0, "local": 2.0}
RUN_TIMEOUT_SECONDS = 2 * 60 * 60

# What the production profile reads (the Dagster instance's DAGSTER_PG_* variables are read by
# dagster.yaml). Required ones must be set; the others have defaults.
PROD_REQUIRED_ENV = (
    ENV_PROFILE,
    ENV_WAREHOUSE_URL,
    ENV_S3_ACCESS_KEY_ID,
    ENV_S3_SECRET_ACCESS_KEY,
)
PROD_OPTIONAL_ENV = (
    ENV_S3_ENDPOINT_URL,
    ENV_S3_REGION,
    ENV_LANDING_PREFIX,
    ENV_WAREHOUSE_SCHEMA,
    ENV_DATA_DIR,
    ENV_LINK_RADIUS_KM,
    ENV_CITY,
    ENV_COUNTIES,
    *ALERT_ENV,
    ENV_ALERT_SMTP_STARTTLS,
    ENV_PARTITION_START,
    ENV_MAX_CONCURRENT_STEPS,
    ENV_DAILY_RUN_UTC,
    *RELIABILITY_ENV,
)


class SettingsError(DataError):
    """An environment variable holds a value SafeBeat cannot use."""


@dataclass(frozen=True)
class CityProfile:
    """What SAFEBEAT_CITY selects, from the city's adapter file."""

    name: str  # the adapter's name, e.g. `austin`
    title: str  # for people: `Austin, Texas`
    time_zone: str  # IANA zone the export's wall-clock times are in
    county_fips: tuple[str, ...]  # 5-digit state+county codes
    # The validity box of coordinates: (min_latitude, max_latitude, min_longitude, max_longitude).
    box: tuple[float, float, float, float]
    partition_start: str  # YYYY-MM-01: the first month of history
    event_permits: bool  # the city publishes special-event permits (ACE's layout)

    @property
    def state_fp(self) -> str:
        return self.county_fips[0][:2]


def load_city(name: str) -> CityProfile:
    """The profile of the built-in adapter `name`; SettingsError listing the known ones."""
    # Imported here: pydantic and the adapter files are read only when settings are loaded.
    from .sources.adapters import AdapterSpecError, builtin_adapter

    try:
        adapter = builtin_adapter(name)
    except AdapterSpecError as exc:
        raise SettingsError(f"{ENV_CITY}={name!r}: {exc}") from exc
    city, box = adapter.city, adapter.city.box
    return CityProfile(
        name=adapter.name,
        title=city.title,
        time_zone=city.time_zone,
        county_fips=tuple(city.county_fips),
        box=(box.min_latitude, box.max_latitude, box.min_longitude, box.max_longitude),
        partition_start=city.partition_start.isoformat(),
        event_permits=city.event_permits,
    )


@dataclass(frozen=True)
class Settings:
    profile: str
    data_dir: Path
    landing_dir: Path
    warehouse_url_env: str | None  # name of the env var holding the DSN, never the DSN itself
    warehouse_schema: str
    link_radius_km: float
    county_fips: tuple[str, ...]  # 5-digit state+county FIPS codes
    city: CityProfile
    s3_endpoint_url: str | None = None  # not a secret: where the object store listens
    s3_region: str = "us-east-1"
    landing_prefix: str = "landing"
    # Names of the alert-channel variables that are set: only those become EnvVar references,
    # so an unconfigured deployment loads with e-mail and webhook off.
    alert_env_set: frozenset[str] = frozenset()
    alert_smtp_starttls: bool = True
    partition_start: str = "2023-01-01"  # first monthly partition of the call-level assets
    retry_delay_seconds: float = RETRY_DELAY_SECONDS["local"]
    warehouse_connect_timeout_seconds: float = 10.0
    # A statement running longer than this is cancelled by the server; a frozen server that
    # cannot cancel is cut off by the client shortly after the same deadline.
    warehouse_statement_timeout_seconds: float = 30 * 60.0
    warehouse_lock_timeout_seconds: float = 60.0
    # A new export may remove at most this share of a month's rows, and of all rows, compared
    # with the last good load (corrections delete a few rows; a broken export deletes many).
    max_removed_fraction_per_month: float = 0.2
    max_removed_fraction_overall: float = 0.05
    max_concurrent_steps: int = 1

    @property
    def uses_object_storage(self) -> bool:
        return self.profile in SERVER_PROFILES

    @property
    def lake_dir(self) -> Path:
        return self.data_dir / "lake"

    @property
    def dagster_home(self) -> Path:
        return self.data_dir / "dagster_home"

    @property
    def uses_embedded_warehouse(self) -> bool:
        return self.warehouse_url_env is None


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    env = os.environ if environ is None else environ
    profile = env.get(ENV_PROFILE, "local").strip().lower() or "local"
    if profile not in PROFILES:
        raise SettingsError(f"{ENV_PROFILE}={profile!r}; expected one of {', '.join(PROFILES)}")
    city = load_city((env.get(ENV_CITY) or DEFAULT_CITY).strip().lower())
    # Another city's default data stays apart from Austin's: one lake and warehouse per city.
    default_data = PROJECT_ROOT / "data"
    if city.name != DEFAULT_CITY:
        default_data = default_data / "cities" / city.name
    data_dir = Path(env.get(ENV_DATA_DIR) or default_data).resolve()
    landing_dir = Path(env.get(ENV_LANDING_DIR) or data_dir / "landing").resolve()
    url_env = ENV_WAREHOUSE_URL if env.get(ENV_WAREHOUSE_URL) else None
    if profile in SERVER_PROFILES:
        missing = [name for name in PROD_REQUIRED_ENV if not env.get(name)]
        if missing:
            raise SettingsError(f"the {profile} profile needs {', '.join(missing)}")
    radius = _positive_float(env, ENV_LINK_RADIUS_KM, DEFAULT_LINK_RADIUS_KM)
    counties = _counties(env.get(ENV_COUNTIES), city)
    return Settings(
        profile=profile,
        data_dir=data_dir,
        landing_dir=landing_dir,
        warehouse_url_env=url_env,
        warehouse_schema=env.get(ENV_WAREHOUSE_SCHEMA) or "safebeat",
        link_radius_km=radius,
        county_fips=counties,
        city=city,
        s3_endpoint_url=env.get(ENV_S3_ENDPOINT_URL) or None,
        s3_region=env.get(ENV_S3_REGION) or "us-east-1",
        landing_prefix=(env.get(ENV_LANDING_PREFIX) or "landing").strip("/"),
        alert_env_set=frozenset(name for name in ALERT_ENV if env.get(name)),
        alert_smtp_starttls=(env.get(ENV_ALERT_SMTP_STARTTLS) or "true").strip().lower()
        not in {"0", "false", "no", "off"},
        partition_start=_month_start(env.get(ENV_PARTITION_START) or city.partition_start),
        retry_delay_seconds=_non_negative_float(
            env, ENV_RETRY_DELAY_SECONDS, RETRY_DELAY_SECONDS[profile]
        ),
        warehouse_connect_timeout_seconds=_positive_float(env, ENV_WAREHOUSE_CONNECT_TIMEOUT, 10.0),
        warehouse_statement_timeout_seconds=_positive_float(
            env, ENV_WAREHOUSE_STATEMENT_TIMEOUT, 30 * 60.0
        ),
        warehouse_lock_timeout_seconds=_positive_float(env, ENV_WAREHOUSE_LOCK_TIMEOUT, 60.0),
        max_removed_fraction_per_month=_fraction(env, ENV_MAX_REMOVED_PER_MONTH, 0.2),
        max_removed_fraction_overall=_fraction(env, ENV_MAX_REMOVED_OVERALL, 0.05),
        max_concurrent_steps=_whole_number_at_least(
            env, ENV_MAX_CONCURRENT_STEPS, DEFAULT_MAX_CONCURRENT_STEPS[profile], minimum=1
        ),
    )


def _counties(value: str | None, city: CityProfile) -> tuple[str, ...]:
    """SAFEBEAT_COUNTY_FIPS (5-digit codes, or 3-digit ones of the city's state) or the city's."""
    if value is None or not value.strip():
        return city.county_fips
    codes = [c.strip() for c in value.split(",") if c.strip()]
    try:
        counties = full_county_fips(codes, state_fp=city.state_fp)
    except ValueError as exc:
        raise SettingsError(
            f"{ENV_COUNTIES} must be comma-separated county FIPS codes (5 digits, or 3 digits "
            f"of {city.title}'s state {city.state_fp}): {exc}"
        ) from exc
    if not counties:
        raise SettingsError(f"{ENV_COUNTIES} names no county")
    return counties


def _month_start(value: str) -> str:
    """`2023-01` or `2023-01-15` -> `2023-01-01`; anything else is a clear error."""
    import re

    match = re.fullmatch(r"(\d{4})-(\d{2})(?:-\d{2})?", value.strip())
    if not match or not 1 <= int(match.group(2)) <= 12:
        raise SettingsError(f"{ENV_PARTITION_START}={value!r}; expected YYYY-MM")
    return f"{match.group(1)}-{match.group(2)}-01"


def _env_number(env: Mapping[str, str], name: str, convert: type, what: str) -> float | None:
    """`name`'s value converted, None when unset or empty; SettingsError when it is not one."""
    raw = (env.get(name) or "").strip()
    if not raw:
        return None
    try:
        return convert(raw)
    except ValueError as exc:
        raise SettingsError(f"{name}={raw!r} is not {what}") from exc


def _non_negative_float(env: Mapping[str, str], name: str, default: float) -> float:
    value = _env_number(env, name, float, "a number")
    if value is None:
        return default
    if value < 0:
        raise SettingsError(f"{name} must not be negative, got {value}")
    return value


def _fraction(env: Mapping[str, str], name: str, default: float) -> float:
    value = _non_negative_float(env, name, default)
    if value > 1:
        raise SettingsError(f"{name} is a fraction between 0 and 1, got {value}")
    return value


def _positive_float(env: Mapping[str, str], name: str, default: float) -> float:
    value = _env_number(env, name, float, "a number")
    if value is None:
        return default
    if value <= 0:
        raise SettingsError(f"{name} must be positive, got {value}")
    return value


def _whole_number_at_least(env: Mapping[str, str], name: str, default: int, minimum: int) -> int:
    value = _env_number(env, name, int, "a whole number")
    if value is None:
        return default
    if value < minimum:
        raise SettingsError(f"{name} must be at least {minimum}, got {value}")
    return value


def automation_tick_seconds(environ: Mapping[str, str] | None = None) -> int:
    """The sensors' minimum interval (`SAFEBEAT_AUTOMATION_TICK_SECONDS`, at least 5 s)."""
    env = os.environ if environ is None else environ
    return _whole_number_at_least(
        env,
        ENV_AUTOMATION_TICK_SECONDS,
        DEFAULT_AUTOMATION_TICK_SECONDS,
        MIN_AUTOMATION_TICK_SECONDS,
    )


def daily_run_utc(environ: Mapping[str, str] | None = None) -> tuple[int, int]:
    """(hour, minute) in UTC of the daily schedule (`SAFEBEAT_DAILY_RUN_UTC`, `HH:MM`)."""
    env = os.environ if environ is None else environ
    raw = (env.get(ENV_DAILY_RUN_UTC) or DEFAULT_DAILY_RUN_UTC).strip()
    match = re.fullmatch(r"(\d{1,2}):(\d{2})", raw)
    if match is None or int(match[1]) > 23 or int(match[2]) > 59:
        raise SettingsError(f"{ENV_DAILY_RUN_UTC}={raw!r} is not a time of day as HH:MM (UTC)")
    return int(match[1]), int(match[2])
