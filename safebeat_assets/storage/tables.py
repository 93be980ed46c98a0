"""Warehouse table definitions, declared once; DDL and COPY formats are derived from them."""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa

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


@dataclass(frozen=True)
class Column:
    name: str
    pg_type: str
    nullable: bool = True
    description: str = ""

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


@dataclass(frozen=True)
class GeometryColumn:
    """A PostGIS column generated from plain columns, present only where PostGIS is installed."""

    name: str
    geometry_type: str  # e.g. Point, MultiPolygon
    expression: str  # SQL over the table's own columns; must be immutable
    description: str = ""


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

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    def column(self, name: str) -> Column:
        for col in self.columns:
            if col.name == name:
                return col
        raise KeyError(f"table {self.name} has no column {name!r}")


def _cols(*specs: tuple) -> tuple[Column, ...]:
    return tuple(Column(*s) for s in specs)


DIM_GEO = TableSpec(
    name="dim_geo",
    description="Census block groups (TIGER/Line) of the APD counties with internal points.",
    columns=_cols(
        ("geo_id", GEOID, False, "12-digit block-group GEOID (= APD Geo ID)"),
        ("state_fp", "varchar(2)", False),
        ("county_fp", "varchar(3)", False),
        ("county_name", "text"),
        ("tract_ce", "varchar(6)"),
        ("block_group_ce", "varchar(1)"),
        ("name", "text"),
        ("latitude_centroid", "double precision", False, "Census internal point latitude"),
        ("longitude_centroid", "double precision", False, "Census internal point longitude"),
        ("area_sq_km", "double precision", False, "Land area"),
        ("water_sq_km", "double precision"),
        ("boundary_wkt", "text", True, "Polygon in EPSG:4326 as WKT"),
    ),
    primary_key=("geo_id",),
    indexes=(("county_fp",),),
    geometry=(
        GeometryColumn(
            "boundary",
            "MultiPolygon",
            "ST_Multi(ST_GeomFromText(boundary_wkt, 4326))",
            "Block-group polygon",
        ),
        GeometryColumn(
            "centroid",
            "Point",
            point_from("longitude_centroid", "latitude_centroid"),
            "Census internal point",
        ),
    ),
)

DIM_EVENT = TableSpec(
    name="dim_event",
    description="ACE special-event permits aggregated to one row per permit (FOLDERRSN).",
    columns=_cols(
        ("event_id", "bigint", False, "FOLDERRSN"),
        ("event_name", "text"),
        ("event_type", "text"),
        ("status", "text"),
        ("tier", "smallint"),
        ("organizer", "text"),
        ("start_date", "date"),
        ("end_date", "date"),
        ("event_length_days", "integer"),
        ("event_year", "integer"),
        ("event_month", "integer"),
        ("has_alcohol", "boolean", False),
        ("alcohol_unknown", "boolean", False),
        ("has_amplified_sound", "boolean", False),
        ("amplified_sound_unknown", "boolean", False),
        ("has_road_closure", "boolean", False),
        ("has_full_road_closure", "boolean", False),
        ("closure_segments", "integer", False),
        ("event_lat", "double precision"),
        ("event_lon", "double precision"),
        ("has_valid_location", "boolean", False),
        ("expected_attendance", "integer"),
    ),
    primary_key=("event_id",),
    indexes=(("start_date", "end_date"),),
    geometry=(
        GeometryColumn("geom", "Point", point_from("event_lon", "event_lat"), "Event point"),
    ),
)

FACT_911_CALLS = TableSpec(
    name="fact_911_calls",
    description="One row per dispatched APD 911 call, keyed on (incident_number, response_datetime).",
    columns=_cols(
        ("incident_number", "bigint", False),
        ("response_datetime", "timestamptz", False),
        ("response_date", "date", False, "Local (America/Chicago) calendar date"),
        ("response_year", "smallint", False),
        ("response_month", "smallint", False),
        ("response_hour", "smallint", False),
        ("response_day_of_week", "varchar(3)", False),
        ("day_of_week_index", "smallint", False),
        ("is_weekend", "boolean", False),
        ("time_of_day", "varchar(10)", False),
        ("geo_id", GEOID, True, "FK to dim_geo; NULL when the Geo ID did not match"),
        ("reported_geo_id", GEOID, True, "Normalised Geo ID as delivered"),
        ("latitude_centroid", "double precision"),
        ("longitude_centroid", "double precision"),
        ("priority_level", "text"),
        ("priority_numeric", "smallint", True, "0 (most urgent) .. 3; NULL when unknown"),
        ("initial_problem_category", "text"),
        ("final_problem_category", "text"),
        ("final_problem_description", "text"),
        ("call_disposition_description", "text"),
        ("sector", "text"),
        ("council_district", "smallint"),
        ("response_time", "integer", True, "Seconds from answer to first unit on scene"),
        ("unit_time_on_scene", "integer"),
        ("number_of_units_arrived", "integer"),
        ("is_mental_health", "boolean"),
        ("report_written", "boolean"),
        ("is_duplicate_incident_number", "boolean", False),
    ),
    primary_key=("incident_number", "response_datetime"),
    partition_column="response_date",
    foreign_keys=(ForeignKey(("geo_id",), "dim_geo", ("geo_id",), on_delete="SET NULL"),),
    # Date filters (views, monthly slices) use response_date; key lookups use the primary key.
    indexes=(("response_date",), ("geo_id",)),
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
    name="fact_event_incidents",
    description="Calls within the link radius of a permitted event during its (inclusive) dates.",
    columns=_cols(
        ("incident_number", "bigint", False),
        ("response_datetime", "timestamptz", False),
        ("event_id", "bigint", False),
        ("call_date", "date", False),
        ("geo_id", GEOID),
        ("distance_km", "double precision", False, "Block-group internal point to event point"),
        ("event_name", "text"),
        ("event_has_alcohol", "boolean"),
        ("priority_numeric", "smallint"),
        ("response_time", "integer"),
        ("final_problem_category", "text"),
    ),
    primary_key=("incident_number", "response_datetime", "event_id"),
    partition_column="call_date",
    foreign_keys=(
        ForeignKey(
            ("incident_number", "response_datetime"),
            "fact_911_calls",
            ("incident_number", "response_datetime"),
        ),
        ForeignKey(("event_id",), "dim_event", ("event_id",)),
    ),
    indexes=(("event_id",), ("incident_number",)),
)

EVENT_RISK_SCORES = TableSpec(
    name="event_risk_scores",
    description="Formula A risk per event with at least one linked call.",
    columns=_cols(
        ("event_id", "bigint", False),
        ("event_name", "text"),
        ("incident_count", "integer", False),
        ("avg_priority", "double precision"),
        ("min_priority", "smallint"),
        ("avg_response_time", "double precision"),
        ("avg_distance_km", "double precision"),
        ("p0_count", "integer", False),
        ("p1_count", "integer", False),
        ("p2_count", "integer", False),
        ("p3_count", "integer", False),
        ("incident_score", "double precision", False),
        ("priority_score", "double precision", False),
        ("distance_score", "double precision", False),
        ("risk_score", "double precision", False),
        ("risk_category", "varchar(10)", False),
        ("has_alcohol", "boolean"),
        ("has_amplified_sound", "boolean"),
        ("top_final_category", "text"),
    ),
    primary_key=("event_id",),
    foreign_keys=(ForeignKey(("event_id",), "dim_event", ("event_id",)),),
    indexes=(("risk_category",),),
)

ZONE_RISK_SCORES = TableSpec(
    name="zone_risk_scores",
    description="Risk zone of every block group with calls (KMeans cluster tertiles).",
    columns=_cols(
        ("geo_id", GEOID, False),
        ("cluster_id", "integer", False),
        ("risk_zone", "varchar(12)", False),
        ("location_risk", "double precision", False),
        ("incident_count", "integer", False),
        ("avg_priority", "double precision"),
        ("avg_response_time", "double precision"),
        ("latitude", "double precision", False),
        ("longitude", "double precision", False),
    ),
    primary_key=("geo_id",),
    foreign_keys=(ForeignKey(("geo_id",), "dim_geo", ("geo_id",)),),
    indexes=(("risk_zone",),),
    geometry=(GeometryColumn("geom", "Point", point_from("longitude", "latitude"), "Zone point"),),
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
    )
}
