"""Blocking integrity checks on the warehouse tables.

They run SQL against the stored table (not the in-memory frame), so they verify what readers
actually see. ERROR severity: a failure stops the downstream steps of the run, and automation
waits until the check passes again.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import dagster as dg

from ... import alerting
from ...analytics.risk import HIGH_THRESHOLD, MAX_RISK, MEDIUM_THRESHOLD, RISK_CATEGORIES
from ...analytics.zones import ZONE_LABELS
from ...asset_names import (
    DIM_EVENT,
    DIM_GEO,
    EVENT_RISK_SCORES,
    FACT_CALLS,
    FACT_EVENT_INCIDENTS,
    ZONE_RISK_SCORES,
)
from ...resources import PipelineSettings
from ...retries import TRANSIENT_RETRY, fail_fast_unless_transient_fn
from ...sources.tiger_block_groups import ANYWHERE, STATE_EXTENTS
from ...storage.warehouse_io import WarehouseResource
from ...transform.validation import EARLIEST_PLAUSIBLE_CALL
from .alert_rules import no_events_source_metadata

# The same bound as cleaning's: a call the cleaning keeps never fails this check.
EARLIEST_PLAUSIBLE_DATE = EARLIEST_PLAUSIBLE_CALL.date()


def geoid_pattern(pipeline: PipelineSettings) -> dict[str, Any]:
    """A 12-digit block-group GEOID of the configured counties' states (Austin: `^48...`): the
    pattern (shown in the check's metadata) and the two-digit state codes (what
    `MALFORMED_GEOID` tests)."""
    states = sorted({code[:2] for code in pipeline.county_fips})
    return {"pattern": f"^({'|'.join(states)})[0-9]{{10}}$", "states": states}


# True where the GEOID `g` does not match `geoid_pattern`'s pattern (NULL where it is NULL,
# like `!~`): not 12 bytes, another state, or a character other than 0-9. Written without a
# regex: PostgreSQL's regex engine made the fact table's check a 5 s scan at ten times Austin
# (8.3 million calls); these three functions take half of that.
MALFORMED_GEOID = (
    "NOT (octet_length(g) = 12 AND left(g, 2) = ANY(%(states)s) AND ltrim(g, '0123456789') = '')"
)


# Rows of the fact table whose reported GEOID is malformed, counted from its distinct values:
# the recursive part walks reported_geo_id's index from each value to the next (a loose index
# scan: one probe per distinct GEOID, about a thousand), and only a malformed value's rows are
# counted. Scanning every row instead grows with history: 1.6 s per run at ten times Austin.
MALFORMED_REPORTED_GEO_IDS = (
    "WITH RECURSIVE ids(g) AS ("
    "(SELECT reported_geo_id FROM {t} WHERE reported_geo_id IS NOT NULL "
    "ORDER BY reported_geo_id LIMIT 1) "
    "UNION ALL SELECT (SELECT reported_geo_id FROM {t} WHERE reported_geo_id > ids.g "
    "ORDER BY reported_geo_id LIMIT 1) FROM ids WHERE ids.g IS NOT NULL) "
    "SELECT coalesce(sum((SELECT count(*) FROM {t} WHERE reported_geo_id = ids.g)), 0) "
    "FROM ids WHERE ids.g IS NOT NULL AND " + MALFORMED_GEOID
)


def state_extent(pipeline: PipelineSettings) -> dict[str, float]:
    """The configured counties' states' extent: block-group internal points outside it are not
    plausible (Austin: Texas's)."""
    extents = [STATE_EXTENTS.get(code[:2], ANYWHERE) for code in pipeline.county_fips]
    return {
        "min_lat": min(lat[0] for lat, _ in extents),
        "max_lat": max(lat[1] for lat, _ in extents),
        "min_lon": min(lon[0] for _, lon in extents),
        "max_lon": max(lon[1] for _, lon in extents),
    }


Judge = Callable[[tuple, PipelineSettings], tuple[bool, dict]]


@dataclass(frozen=True)
class SqlCheck:
    """A check computed from one SQL row; `judge` turns it into (passed, metadata)."""

    asset: str
    name: str
    description: str
    query: str  # {t} is the asset's table, {events} the dim_event table
    judge: Judge
    params: Mapping[str, Any] = field(default_factory=dict)
    # Parameters that depend on the configuration (the city's states, say).
    params_of: Callable[[PipelineSettings], Mapping[str, Any]] | None = None
    # For uniqueness checks: the key. A validated primary-key or unique constraint on (a subset
    # of) it proves the assertion without scanning the table.
    unique_key: tuple[str, ...] = ()
    # How a failure is reported by the check-failure alert sensor (None: the generic way).
    alert: alerting.CheckRule | None = None


def _build_sql_check(spec: SqlCheck) -> dg.AssetChecksDefinition:
    @dg.asset_check(
        asset=spec.asset,
        name=spec.name,
        description=spec.description,
        blocking=True,
        retry_policy=TRANSIENT_RETRY,
    )
    @fail_fast_unless_transient_fn
    def _check(warehouse: WarehouseResource, pipeline: PipelineSettings) -> dg.AssetCheckResult:
        client = warehouse.client()
        constraint = client.unique_constraint_within(spec.asset, spec.unique_key)
        if constraint:
            passed, metadata = spec.judge((0,), pipeline)
            metadata["enforced_by"] = f"constraint {constraint} (validated by PostgreSQL)"
        else:
            params = {**spec.params, **(spec.params_of(pipeline) if spec.params_of else {})}
            row = client.fetch_one(
                spec.query, params=params or None, t=spec.asset, events=DIM_EVENT
            )
            passed, metadata = spec.judge(row, pipeline)
            if spec.params_of:
                metadata.update(
                    {f"checked_{k}": str(v) for k, v in spec.params_of(pipeline).items()}
                )
        return dg.AssetCheckResult(
            passed=bool(passed), severity=dg.AssetCheckSeverity.ERROR, metadata=metadata
        )

    return _check


def at_least(threshold_of: Callable[[PipelineSettings], int], label: str) -> Judge:
    def judge(row: tuple, pipeline: PipelineSettings) -> tuple[bool, dict]:
        value, threshold = row[0], threshold_of(pipeline)
        return value >= threshold, {label: int(value), "threshold": threshold}

    return judge


def none_found(label: str) -> Judge:
    def judge(row: tuple, _: PipelineSettings) -> tuple[bool, dict]:
        return row[0] == 0, {label: int(row[0]), "threshold": 0}

    return judge


def events_present(row: tuple, pipeline: PipelineSettings) -> tuple[bool, dict]:
    """At least one permit; a city without a permit feed has none, and rows there would come
    from somewhere other than its (absent) feed."""
    if pipeline.events_source:
        return at_least(lambda _: 1, "rows")(row, pipeline)
    return row[0] == 0, {"rows": int(row[0]), "threshold": 0, **no_events_source_metadata()}


def dates_in_plausible_range(row: tuple, _: PipelineSettings) -> tuple[bool, dict]:
    first, last = row
    latest_allowed = date.today() + timedelta(days=1)
    # An empty table has no implausible date (a backfill's first run may hold only months
    # without calls); the data-volume check reports the empty warehouse.
    passed = first is None or (first >= EARLIEST_PLAUSIBLE_DATE and last <= latest_allowed)
    return passed, {
        "first_response_date": str(first),
        "last_response_date": str(last),
        "allowed_range": f"{EARLIEST_PLAUSIBLE_DATE} .. {latest_allowed}",
    }


def duplicates_of(*key: str) -> str:
    return f"SELECT count(*) - count(DISTINCT ({', '.join(key)})) FROM {{t}}"


def unique_check(asset: str, name: str, description: str, label: str, *key: str) -> SqlCheck:
    return SqlCheck(
        asset, name, description, duplicates_of(*key), none_found(label), unique_key=key
    )


def row_count_check(asset: str, name: str, description: str) -> SqlCheck:
    return SqlCheck(
        asset, name, description, "SELECT count(*) FROM {t}", at_least(lambda _: 1, "rows")
    )


SQL_CHECKS: list[SqlCheck] = [
    row_count_check(DIM_GEO, "dim_geo_has_block_groups", "dim_geo holds at least one block group."),
    unique_check(
        DIM_GEO,
        "geo_ids_unique_in_dim_geo",
        "Every geo_id occurs once in dim_geo.",
        "duplicate_geo_ids",
        "geo_id",
    ),
    SqlCheck(
        DIM_GEO,
        "dim_geo_ids_are_12_digit_geoids",
        "Every dim_geo geo_id is a 12-digit block-group GEOID of the configured counties' "
        "states (Austin: ^48[0-9]{10}$).",
        "SELECT count(*) FROM (SELECT geo_id AS g FROM {t}) AS ids WHERE " + MALFORMED_GEOID,
        none_found("malformed_geo_ids"),
        params_of=geoid_pattern,
    ),
    SqlCheck(
        DIM_GEO,
        "dim_geo_points_and_areas_plausible",
        "Internal points lie in the configured counties' states' extent (Austin: Texas, lat "
        "25..37, lon -107..-93) and every land area is > 0.",
        "SELECT count(*) FROM {t} WHERE NOT (latitude_centroid BETWEEN %(min_lat)s AND "
        "%(max_lat)s AND longitude_centroid BETWEEN %(min_lon)s AND %(max_lon)s AND "
        "area_sq_km > 0)",
        none_found("implausible_rows"),
        params_of=state_extent,
    ),
    SqlCheck(
        DIM_EVENT,
        "dim_event_has_events",
        "dim_event holds at least one permit; none at all for a city without an events source "
        "(PipelineSettings.events_source false).",
        "SELECT count(*) FROM {t}",
        events_present,
    ),
    unique_check(
        DIM_EVENT,
        "event_ids_unique",
        "Every event_id (FOLDERRSN) occurs once.",
        "duplicate_event_ids",
        "event_id",
    ),
    SqlCheck(
        DIM_EVENT,
        "event_end_not_before_start",
        "No event ends before it starts.",
        "SELECT count(*) FROM {t} WHERE end_date < start_date",
        none_found("events_ending_before_start"),
    ),
    unique_check(
        FACT_CALLS,
        "no_duplicate_calls",
        "No two rows share (incident_number, response_datetime).",
        "duplicate_keys",
        "incident_number",
        "response_datetime",
    ),
    SqlCheck(
        FACT_CALLS,
        "geo_ids_well_formed",
        "Every delivered Geo ID that survived cleaning is a 12-digit GEOID of the configured "
        "counties' states (Austin: Texas's).",
        MALFORMED_REPORTED_GEO_IDS,
        none_found("malformed_geo_ids"),
        params_of=geoid_pattern,
    ),
    SqlCheck(
        FACT_CALLS,
        "response_dates_in_plausible_range",
        f"All response dates lie between {EARLIEST_PLAUSIBLE_DATE} and tomorrow.",
        "SELECT min(response_date), max(response_date) FROM {t}",
        dates_in_plausible_range,
    ),
    unique_check(
        FACT_EVENT_INCIDENTS,
        "no_duplicate_event_links",
        "Each (call, event) pair is linked once.",
        "duplicate_links",
        "incident_number",
        "response_datetime",
        "event_id",
    ),
    SqlCheck(
        FACT_EVENT_INCIDENTS,
        "links_within_event_dates",
        "Every linked call happened between its event's start and end date (inclusive).",
        "SELECT count(*) FROM {t} l JOIN {events} e USING (event_id) "
        "WHERE l.call_date < e.start_date OR l.call_date > e.end_date",
        none_found("links_outside_dates"),
    ),
    SqlCheck(
        EVENT_RISK_SCORES,
        "risk_scores_between_0_and_100",
        f"Every event risk score lies in [0, {MAX_RISK:g}] and its category matches the cut-offs "
        f"({RISK_CATEGORIES[0]} ≥ {HIGH_THRESHOLD:g}, {RISK_CATEGORIES[1]} ≥ "
        f"{MEDIUM_THRESHOLD:g}, else {RISK_CATEGORIES[2]}).",
        "SELECT count(*) FROM {t} WHERE risk_score < 0 OR risk_score > %(max)s OR risk_category <> "
        "CASE WHEN risk_score >= %(high)s THEN %(high_label)s "
        "WHEN risk_score >= %(medium)s THEN %(medium_label)s ELSE %(low_label)s END",
        none_found("invalid_scores"),
        params={
            "max": MAX_RISK,
            "high": HIGH_THRESHOLD,
            "medium": MEDIUM_THRESHOLD,
            "high_label": RISK_CATEGORIES[0],
            "medium_label": RISK_CATEGORIES[1],
            "low_label": RISK_CATEGORIES[2],
        },
    ),
    unique_check(
        ZONE_RISK_SCORES,
        "zone_geo_ids_unique",
        "Each block group has one zone.",
        "duplicate_geo_ids",
        "geo_id",
    ),
    SqlCheck(
        ZONE_RISK_SCORES,
        "zones_use_known_labels",
        f"Every zone is {', '.join(ZONE_LABELS[:-1])} or {ZONE_LABELS[-1]}.",
        "SELECT count(*) FROM {t} WHERE NOT risk_zone = ANY(%(labels)s)",
        none_found("unknown_labels"),
        params={"labels": list(ZONE_LABELS)},
    ),
]

SQL_ASSET_CHECKS: list[dg.AssetChecksDefinition] = [_build_sql_check(spec) for spec in SQL_CHECKS]
