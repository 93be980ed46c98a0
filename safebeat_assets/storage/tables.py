"""Warehouse table definitions, declared once; DDL and COPY formats are derived from them."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

import pyarrow as pa

from safebeat_assets import asset_names as names
from safebeat_assets.contracts import BLOCK_GROUP_DESCRIPTIONS as BLOCK_GROUP
from safebeat_assets.contracts import CALL_DESCRIPTIONS as CALL
from safebeat_assets.contracts import ENRICHMENT_DESCRIPTIONS as ENRICHED
from safebeat_assets.contracts import EVENT_DESCRIPTIONS as EVENT
from safebeat_assets.contracts import ZONE_DESCRIPTIONS as ZONE
from safebeat_assets.domain import EARTH_RADIUS_KM

# Postgres type -> the Arrow type a column is cast to before COPY and parsed as after reading.
ARROW_TYPES: dict[str, pa.DataType] = {
    "bigint": pa.int64(),
    "integer": pa.int32(),
    "smallint": pa.int16(),
    "double precision": pa.float64(),
    "boolean": pa.bool_(),
    "date": pa.date32(),
    "timestamptz": pa.timestamp("us", tz="UTC"),
    "text": pa.string(),
}


# Block-group GEOIDs are digit codes: byte order ("C") sorts them exactly like the locale does,
# and makes their index builds and comparisons several times cheaper.
GEOID = 'varchar(12) COLLATE "C"'
DOUBLE = "double precision"


# Column types, referential actions and geometry types reach DDL as SQL text (they cannot be
# quoted as identifiers), so only these spellings are accepted.
PG_TYPE_PATTERN = re.compile(
    r"(bigint|integer|smallint|double precision|boolean|date|timestamptz|text"
    r'|varchar\(\d+\)( COLLATE "C")?)'
)
ON_DELETE_ACTIONS = frozenset({"CASCADE", "SET NULL", "RESTRICT", "NO ACTION"})
GEOMETRY_TYPES = frozenset({"Point", "MultiPolygon", "Polygon", "LineString", "MultiPoint"})


@dataclass(frozen=True)
class Column:
    name: str
    pg_type: str
    nullable: bool = True
    description: str = ""

    def __post_init__(self) -> None:
        if not PG_TYPE_PATTERN.fullmatch(self.pg_type):
            raise ValueError(f"column {self.name}: type {self.pg_type!r} is not allowed")

    @property
    def arrow_type(self) -> pa.DataType:
        base = self.pg_type.split("(")[0].strip()
        if base == "varchar":
            return pa.string()
        return ARROW_TYPES[base]


@dataclass(frozen=True)
class ForeignKey:
    columns: tuple[str, ...]
    ref_table: str
    ref_columns: tuple[str, ...]
    # Derived rows follow their parent (CASCADE); a call whose block group vanished becomes
    # unmatched (SET NULL). Re-runs upsert by key, so only vanished parents trigger these.
    on_delete: str = "CASCADE"

    def __post_init__(self) -> None:
        if self.on_delete not in ON_DELETE_ACTIONS:
            raise ValueError(f"ON DELETE {self.on_delete!r} is not allowed")


@dataclass(frozen=True)
class Audit:
    """A rule every row of a new load must satisfy, checked over the staged rows before they
    replace the table's contents (the load is refused and nothing is written otherwise).

    `violation` is a SQL condition over the row's own columns, true for a violating row; all of
    a table's audits are counted in one scan of the staged rows. Besides these, every load is
    audited for NULLs in NOT NULL columns (key columns included) and for duplicate keys."""

    name: str
    violation: str


@dataclass(frozen=True)
class GeometryColumn:
    """A PostGIS column generated from plain columns, present only where PostGIS is installed."""

    name: str
    geometry_type: str  # e.g. Point, MultiPolygon
    expression: str  # SQL over the table's own columns, written here; must be immutable
    description: str = ""

    def __post_init__(self) -> None:
        if self.geometry_type not in GEOMETRY_TYPES:
            raise ValueError(f"geometry type {self.geometry_type!r} is not allowed")


def point_from(lon: str, lat: str) -> str:
    return f"ST_SetSRID(ST_MakePoint({lon}, {lat}), 4326)"


@dataclass(frozen=True)
class TableSpec:
    name: str
    description: str
    columns: tuple[Column, ...]
    primary_key: tuple[str, ...]
    foreign_keys: tuple[ForeignKey, ...] = ()
    indexes: tuple[tuple[str, ...], ...] = ()
    geometry: tuple[GeometryColumn, ...] = ()
    # Date column that places a row in a monthly partition; partitioned writes replace only the
    # slice of the run's months.
    partition_column: str | None = None
    audits: tuple[Audit, ...] = ()
    # Every run recomputes every row (scores over the whole history shift with one new day):
    # a full replace empties the table and bulk-loads it in one transaction, instead of a diff
    # that would update nearly every row.
    replaced_wholesale: bool = False

    def __post_init__(self) -> None:
        names = set(self.column_names)
        used = [*self.primary_key, *(c for fk in self.foreign_keys for c in fk.columns)]
        used += [c for cols in self.indexes for c in cols]
        if self.partition_column:
            used.append(self.partition_column)
        unknown = sorted(set(used) - names)
        if unknown:
            raise ValueError(f"table {self.name} refers to unknown columns {unknown}")
        if len({a.name for a in self.audits}) != len(self.audits):
            raise ValueError(f"table {self.name} has two audits of the same name")

    @property
    def required_columns(self) -> list[str]:
        """NOT NULL columns (the key's included)."""
        keys = set(self.primary_key)
        return [c.name for c in self.columns if not c.nullable or c.name in keys]

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    def column(self, name: str) -> Column:
        for col in self.columns:
            if col.name == name:
                return col
        raise KeyError(f"table {self.name} has no column {name!r}")


def _cols(*specs: tuple, texts: Mapping[str, str] | None = None) -> tuple[Column, ...]:
    """Columns from (name, type, nullable[, description]) tuples; a column without its own
    description takes the shared text of the same name from `texts`."""
    columns = []
    for name, pg_type, nullable, *own in specs:
        description = own[0] if own else (texts or {})[name]
        columns.append(Column(name, pg_type, nullable, description))
    return tuple(columns)


DIM_GEO = TableSpec(
    name=names.DIM_GEO,
    description="Census block groups (TIGER/Line) of the APD counties with internal points.",
    columns=_cols(
        ("geo_id", GEOID, False, BLOCK_GROUP["GEOID"]),
        ("state_fp", "varchar(2)", False, BLOCK_GROUP["STATEFP"]),
        ("county_fp", "varchar(3)", False, BLOCK_GROUP["COUNTYFP"]),
        ("county_name", "text", True, "County name (Travis, Hays, Williamson, Bastrop); else NULL"),
        ("tract_ce", "varchar(6)", True, BLOCK_GROUP["TRACTCE"]),
        ("block_group_ce", "varchar(1)", True, BLOCK_GROUP["BLKGRPCE"]),
        ("name", "text", True, BLOCK_GROUP["NAMELSAD"]),
        (
            "latitude_centroid",
            DOUBLE,
            False,
            "Census internal point latitude (INTPTLAT), degrees",
        ),
        (
            "longitude_centroid",
            DOUBLE,
            False,
            "Census internal point longitude (INTPTLON), degrees",
        ),
        ("area_sq_km", DOUBLE, False, "Land area (ALAND), km²"),
        ("water_sq_km", DOUBLE, True, "Water area (AWATER), km²"),
        ("boundary_wkt", "text", True, "Block-group polygon in EPSG:4326 as WKT (7 decimals)"),
    ),
    primary_key=("geo_id",),
    indexes=(("county_fp",),),
    audits=(
        Audit("areas are not negative", "area_sq_km < 0 OR water_sq_km < 0"),
        Audit(
            "internal point is a coordinate",
            "latitude_centroid NOT BETWEEN -90 AND 90 OR longitude_centroid NOT BETWEEN -180 AND 180",
        ),
    ),
    geometry=(
        GeometryColumn(
            "boundary",
            "MultiPolygon",
            "ST_Multi(ST_GeomFromText(boundary_wkt, 4326))",
            "Block-group polygon (from boundary_wkt)",
        ),
        GeometryColumn(
            "centroid",
            "Point",
            point_from("longitude_centroid", "latitude_centroid"),
            "Census internal point (from latitude/longitude_centroid)",
        ),
    ),
)

DIM_EVENT = TableSpec(
    name=names.DIM_EVENT,
    description="ACE special-event permits aggregated to one row per permit (FOLDERRSN).",
    columns=_cols(
        ("event_id", "bigint", False),
        ("event_name", "text", True),
        ("event_type", "text", True),
        ("status", "text", True),
        ("tier", "smallint", True),
        ("organizer", "text", True),
        ("start_date", "date", True),
        ("end_date", "date", True),
        ("event_length_days", "integer", True),
        ("event_year", "integer", True),
        ("event_month", "integer", True),
        ("has_alcohol", "boolean", False),
        ("alcohol_unknown", "boolean", False),
        ("has_amplified_sound", "boolean", False),
        ("amplified_sound_unknown", "boolean", False),
        ("has_road_closure", "boolean", False),
        ("has_full_road_closure", "boolean", False),
        ("closure_segments", "integer", False),
        ("event_lat", DOUBLE, True),
        ("event_lon", DOUBLE, True),
        ("has_valid_location", "boolean", False),
        ("expected_attendance", "integer", True),
        texts=EVENT,
    ),
    primary_key=("event_id",),
    indexes=(("start_date", "end_date"),),
    # A permit that ends before it starts would link no call and skew every event average.
    audits=(Audit("event does not end before it starts", "end_date < start_date"),),
    geometry=(
        GeometryColumn(
            "geom",
            "Point",
            point_from("event_lon", "event_lat"),
            "Event point (event_lon, event_lat)",
        ),
    ),
)

FACT_911_CALLS = TableSpec(
    name=names.FACT_CALLS,
    description=(
        "One row per dispatched APD 911 call, keyed on (incident_number, response_datetime)."
    ),
    columns=_cols(
        ("incident_number", "bigint", False),
        ("response_datetime", "timestamptz", False),
        ("response_date", "date", False),
        ("response_year", "smallint", False),
        ("response_month", "smallint", False),
        ("response_hour", "smallint", False),
        ("response_day_of_week", "varchar(3)", False, CALL["response_day_of_week"]),
        ("day_of_week_index", "smallint", False),
        ("is_weekend", "boolean", False),
        ("time_of_day", "varchar(10)", False, CALL["time_of_day"]),
        ("geo_id", GEOID, True, ENRICHED["dim_geo_id"]),
        ("reported_geo_id", GEOID, True, CALL["geo_id"]),
        ("latitude_centroid", DOUBLE, True, ENRICHED["latitude_centroid"]),
        ("longitude_centroid", DOUBLE, True, ENRICHED["longitude_centroid"]),
        ("priority_level", "text", True),
        ("priority_numeric", "smallint", True),
        ("initial_problem_category", "text", True),
        ("final_problem_category", "text", True),
        ("final_problem_description", "text", True),
        ("call_disposition_description", "text", True),
        ("sector", "text", True),
        ("council_district", "smallint", True),
        ("response_time", "integer", True),
        ("unit_time_on_scene", "integer", True),
        ("number_of_units_arrived", "integer", True),
        ("is_mental_health", "boolean", True),
        ("report_written", "boolean", True),
        ("is_duplicate_incident_number", "boolean", False),
        texts=CALL,
    ),
    primary_key=("incident_number", "response_datetime"),
    partition_column="response_date",
    foreign_keys=(ForeignKey(("geo_id",), names.DIM_GEO, ("geo_id",), on_delete="SET NULL"),),
    audits=(
        Audit(
            "hour, weekday and month are on the clock",
            "response_hour NOT BETWEEN 0 AND 23 OR day_of_week_index NOT BETWEEN 0 AND 6 "
            "OR response_month NOT BETWEEN 1 AND 12",
        ),
        # response_date places the row in its monthly slice; the other calendar fields must
        # agree with it or month filters and slices disagree.
        Audit(
            "year and month match response_date",
            # date_part (double precision) is cheaper per row than extract (numeric).
            "response_year <> date_part('year', response_date) "
            "OR response_month <> date_part('month', response_date)",
        ),
    ),
    # Date filters (views, monthly slices) use response_date; key lookups use the primary key.
    # The GEOID check walks reported_geo_id's index from one distinct value to the next (about a
    # thousand index probes at ten times Austin) instead of reading every call.
    indexes=(("response_date",), ("geo_id",), ("reported_geo_id",)),
    geometry=(
        GeometryColumn(
            "geom",
            "Point",
            point_from("longitude_centroid", "latitude_centroid"),
            "Call location (its block group's internal point)",
        ),
    ),
)

FACT_EVENT_INCIDENTS = TableSpec(
    name=names.FACT_EVENT_INCIDENTS,
    description="Calls within the link radius of a permitted event during its (inclusive) dates.",
    columns=_cols(
        ("incident_number", "bigint", False, CALL["incident_number"]),
        ("response_datetime", "timestamptz", False, CALL["response_datetime"]),
        ("event_id", "bigint", False, EVENT["event_id"]),
        ("call_date", "date", False, CALL["response_date"]),
        ("geo_id", GEOID, True, "The call's block group (in dim_geo: only matched calls link)"),
        (
            "distance_km",
            DOUBLE,
            False,
            f"Haversine km (R = {EARTH_RADIUS_KM:g}) from the block group's internal point to the "
            "event point",
        ),
        ("event_name", "text", True, EVENT["event_name"]),
        ("event_has_alcohol", "boolean", True, EVENT["has_alcohol"]),
        ("priority_numeric", "smallint", True, CALL["priority_numeric"]),
        ("response_time", "integer", True, CALL["response_time"]),
        ("final_problem_category", "text", True, CALL["final_problem_category"]),
    ),
    primary_key=("incident_number", "response_datetime", "event_id"),
    partition_column="call_date",
    audits=(
        Audit(
            "distance is a non-negative number",
            "NOT (distance_km >= 0 AND distance_km < 'Infinity')",
        ),
    ),
    foreign_keys=(
        ForeignKey(
            ("incident_number", "response_datetime"),
            names.FACT_CALLS,
            ("incident_number", "response_datetime"),
        ),
        ForeignKey(("event_id",), names.DIM_EVENT, ("event_id",)),
    ),
    indexes=(("event_id",), ("incident_number",)),
)

_EVENT_RISK_TEXTS = {
    "incident_count": "Calls linked to the event (its rows in fact_event_incidents)",
    "avg_priority": (
        "Mean priority (0..3) of the linked calls with a known one; NULL when none is known"
    ),
    "min_priority": "Most urgent known priority of the linked calls; NULL when none is known",
    "avg_response_time": "Mean response_time of the linked calls, seconds; NULL when none is known",
    "avg_distance_km": "Mean distance_km of the linked calls, km",
    "p0_count": "Linked calls of priority 0",
    "p1_count": "Linked calls of priority 1",
    "p2_count": "Linked calls of priority 2",
    "p3_count": "Linked calls of priority 3",
    "incident_score": "100 · incident_count / the highest incident_count of all events",
    "priority_score": (
        "100 · priority points / the highest of all events (a P0 call weighs most, P3 least)"
    ),
    "distance_score": "100 · (1 − avg_distance_km / link radius), clipped to 0..100",
    "risk_score": (
        "Formula A: weighted incident, priority and distance scores plus an alcohol bonus, "
        "capped at 100 (weights in the asset description)"
    ),
    "risk_category": "`HIGH`, `MEDIUM` or `LOW` by the risk_score cut-offs in the asset description",
    "top_final_category": (
        "Most frequent final_problem_category of the linked calls (ties: alphabetically first)"
    ),
}

EVENT_RISK_SCORES = TableSpec(
    name=names.EVENT_RISK_SCORES,
    description="Formula A risk per event with at least one linked call.",
    columns=_cols(
        ("event_id", "bigint", False, EVENT["event_id"]),
        ("event_name", "text", True, EVENT["event_name"]),
        ("incident_count", "integer", False),
        ("avg_priority", DOUBLE, True),
        ("min_priority", "smallint", True),
        ("avg_response_time", DOUBLE, True),
        ("avg_distance_km", DOUBLE, True),
        ("p0_count", "integer", False),
        ("p1_count", "integer", False),
        ("p2_count", "integer", False),
        ("p3_count", "integer", False),
        ("incident_score", DOUBLE, False),
        ("priority_score", DOUBLE, False),
        ("distance_score", DOUBLE, False),
        ("risk_score", DOUBLE, False),
        ("risk_category", "varchar(10)", False),
        ("has_alcohol", "boolean", True, EVENT["has_alcohol"]),
        ("has_amplified_sound", "boolean", True, EVENT["has_amplified_sound"]),
        ("top_final_category", "text", True),
        texts=_EVENT_RISK_TEXTS,
    ),
    primary_key=("event_id",),
    foreign_keys=(ForeignKey(("event_id",), names.DIM_EVENT, ("event_id",)),),
    audits=(
        Audit("scored event has linked calls", "incident_count < 1"),
        Audit(
            "priority counts do not exceed the linked calls",
            "p0_count + p1_count + p2_count + p3_count > incident_count",
        ),
    ),
    indexes=(("risk_category",),),
)

ZONE_RISK_SCORES = TableSpec(
    name=names.ZONE_RISK_SCORES,
    description="Risk zone of every block group with calls (KMeans cluster tertiles).",
    columns=_cols(
        ("geo_id", GEOID, False),
        ("cluster_id", "integer", False),
        ("risk_zone", "varchar(12)", False, ZONE["risk_zone"]),
        ("location_risk", DOUBLE, False),
        ("incident_count", "integer", False),
        ("avg_priority", DOUBLE, True),
        ("avg_response_time", DOUBLE, True),
        ("latitude", DOUBLE, False),
        ("longitude", DOUBLE, False),
        texts=ZONE,
    ),
    primary_key=("geo_id",),
    foreign_keys=(ForeignKey(("geo_id",), names.DIM_GEO, ("geo_id",)),),
    audits=(Audit("incident count is not negative", "incident_count < 0"),),
    indexes=(("risk_zone",),),
    geometry=(
        GeometryColumn(
            "geom",
            "Point",
            point_from("longitude", "latitude"),
            "Block-group internal point (longitude, latitude)",
        ),
    ),
)

_HOT_SPOT_TEXTS = {
    "time_window": (
        "`All day`, `Night 00-06`, `Morning 06-12`, `Afternoon 12-18`, `Evening 18-24` (local "
        "response_hour bands) or `Weekdays` / `Weekends` (all hours)"
    ),
    "category": "final_problem_category of the calls mapped, or `All calls` for every call",
    "geo_id": "Block group (dim_geo GEOID); every block group of dim_geo is in every map",
    "calls": "Located calls of the window and category in the block group (0 when none)",
    "gi_z": (
        "Getis-Ord Gi* z-score: binary Queen contiguity weights with the block group itself "
        "included, islands linked to their nearest block group; above 0: the block group and "
        "its neighbours hold more calls than the map's mean predicts"
    ),
    "p_value": "Two-sided p-value of gi_z under the normal approximation, 2·(1 − Φ(|gi_z|))",
    "confidence": (
        "99, 95 or 90 when |gi_z| ≥ 2.576, 1.960 or 1.645 (p < 0.01, 0.05, 0.10); else 0"
    ),
    "hot_spot": (
        "`Hot spot 99%`, `Hot spot 95%`, `Hot spot 90%`, `Not significant`, `Cold spot 90%`, "
        "`Cold spot 95%` or `Cold spot 99%`: confidence and the sign of gi_z"
    ),
}

CALL_HOT_SPOTS = TableSpec(
    name=names.CALL_HOT_SPOTS,
    description=(
        "Getis-Ord Gi* hot and cold spots of calls per block group, one map per (time window, "
        "call category) with enough calls."
    ),
    columns=_cols(
        ("time_window", "text", False),
        ("category", "text", False),
        ("geo_id", GEOID, False),
        ("calls", "integer", False),
        ("gi_z", DOUBLE, False),
        ("p_value", DOUBLE, False),
        ("confidence", "smallint", False),
        ("hot_spot", "text", False),
        texts=_HOT_SPOT_TEXTS,
    ),
    # The key's index serves the dashboard's (time_window, category) lookups; geo_id has its
    # own for one block group's maps and for the cascade from dim_geo.
    primary_key=("time_window", "category", "geo_id"),
    foreign_keys=(ForeignKey(("geo_id",), names.DIM_GEO, ("geo_id",)),),
    indexes=(("geo_id",),),
    replaced_wholesale=True,
    audits=(
        Audit("calls are not negative", "calls < 0"),
        # NaN compares above every number in PostgreSQL, so these also catch NaN.
        Audit("z-score is finite", "NOT (gi_z > '-Infinity' AND gi_z < 'Infinity')"),
        Audit("p-value lies in [0, 1]", "NOT (p_value >= 0 AND p_value <= 1)"),
        Audit("confidence is 0, 90, 95 or 99", "confidence NOT IN (0, 90, 95, 99)"),
        # chr(37) is '%': a literal one would be read as a placeholder by the query that
        # lists a failing audit's example rows (it runs with parameters).
        Audit(
            "class matches confidence and the sign of the z-score",
            "hot_spot <> CASE WHEN confidence = 0 THEN 'Not significant' "
            "WHEN gi_z > 0 THEN 'Hot spot ' || confidence || chr(37) "
            "ELSE 'Cold spot ' || confidence || chr(37) END",
        ),
    ),
)

CALL_BASELINE_RATES = TableSpec(
    name=names.CALL_BASELINE_RATES,
    description=(
        "Calls per comparable day without an event, per block group, weekday and hour: the "
        "baseline of the event impact model and the event planner."
    ),
    columns=_cols(
        ("geo_id", GEOID, False, "Block group (dim_geo GEOID) of the calls"),
        ("day_of_week_index", "smallint", False, CALL["day_of_week_index"]),
        ("hour", "smallint", False, "Local hour 0..23 of the calls' response_datetime"),
        (
            "calls_per_day",
            DOUBLE,
            False,
            "Calls at the block group in that weekday and hour on days that were not event days "
            "there, divided by comparable_days (a mean per day; a combination without such calls "
            "has no row and means 0)",
        ),
        (
            "comparable_days",
            "integer",
            False,
            "Days of that weekday between the first and last call date of the history that were "
            "not event days at the block group (an event within the link radius ran that date)",
        ),
    ),
    primary_key=("geo_id", "day_of_week_index", "hour"),
    foreign_keys=(ForeignKey(("geo_id",), names.DIM_GEO, ("geo_id",)),),
    audits=(
        Audit(
            "weekday and hour are on the clock",
            "day_of_week_index NOT BETWEEN 0 AND 6 OR hour NOT BETWEEN 0 AND 23",
        ),
        # NaN compares above every number in PostgreSQL, so this also catches NaN.
        Audit(
            "rate is a positive number", "NOT (calls_per_day > 0 AND calls_per_day < 'Infinity')"
        ),
        Audit("rate is a mean over at least one day", "comparable_days < 1"),
    ),
)

TABLES: dict[str, TableSpec] = {
    spec.name: spec
    for spec in (
        DIM_GEO,
        DIM_EVENT,
        FACT_911_CALLS,
        FACT_EVENT_INCIDENTS,
        EVENT_RISK_SCORES,
        ZONE_RISK_SCORES,
        CALL_HOT_SPOTS,
        CALL_BASELINE_RATES,
    )
}
