"""Warehouse views and the nearby-incidents function (SQL templates over the schema's tables).

`{schema}` becomes the quoted warehouse schema and `{days}` a literal, composed by psycopg2 (no
identifier or value is pasted into the text). The heatmap is relative to the latest call date in
the warehouse, not to today's date, so it shows data on historical exports too.
"""

from psycopg2 import sql

HEATMAP_DAYS = 30

RISK_HEATMAP_VIEW = """
CREATE OR REPLACE VIEW {schema}.v_risk_heatmap AS
WITH latest AS (SELECT max(response_date) AS latest_date FROM {schema}.fact_911_calls)
SELECT f.geo_id,
       g.latitude_centroid AS latitude,
       g.longitude_centroid AS longitude,
       count(*) AS incident_count,
       avg(f.priority_numeric) AS avg_priority,
       CASE WHEN count(*) > 100 THEN 'HIGH' WHEN count(*) > 50 THEN 'MEDIUM' ELSE 'LOW' END
           AS heat_level,
       min(l.latest_date) - {days} + 1 AS window_start,
       min(l.latest_date) AS window_end
FROM {schema}.fact_911_calls f
JOIN {schema}.dim_geo g USING (geo_id)
CROSS JOIN latest l
WHERE f.response_date > l.latest_date - {days}
GROUP BY f.geo_id, g.latitude_centroid, g.longitude_centroid
"""

EVENT_SUMMARY_VIEW = """
CREATE OR REPLACE VIEW {schema}.v_event_incident_summary AS
SELECT e.event_id,
       e.event_name,
       e.start_date,
       e.end_date,
       e.has_alcohol,
       count(l.incident_number) AS linked_incidents,
       avg(l.priority_numeric) AS avg_priority,
       avg(l.distance_km) AS avg_distance_km
FROM {schema}.dim_event e
LEFT JOIN {schema}.fact_event_incidents l USING (event_id)
GROUP BY e.event_id, e.event_name, e.start_date, e.end_date, e.has_alcohol
"""

NEARBY_INCIDENTS_FUNCTION = """
CREATE OR REPLACE FUNCTION {schema}.get_nearby_incidents(
    lat double precision, lon double precision, radius_km double precision
)
RETURNS TABLE (
    incident_number bigint,
    response_datetime timestamptz,
    distance_m double precision,
    priority_level text,
    geo_id varchar
)
LANGUAGE sql STABLE AS $$
    SELECT f.incident_number,
           f.response_datetime,
           ST_Distance(f.geom::geography, ST_SetSRID(ST_MakePoint(lon, lat), 4326)::geography),
           f.priority_level,
           f.geo_id
    FROM {schema}.fact_911_calls f
    WHERE ST_DWithin(
        f.geom::geography, ST_SetSRID(ST_MakePoint(lon, lat), 4326)::geography, radius_km * 1000
    )
    ORDER BY 3, f.response_datetime, f.incident_number
$$
"""


def views_sql(schema: str) -> list[sql.Composed]:
    quoted = sql.Identifier(schema)
    return [
        sql.SQL(RISK_HEATMAP_VIEW).format(schema=quoted, days=sql.Literal(HEATMAP_DAYS)),
        sql.SQL(EVENT_SUMMARY_VIEW).format(schema=quoted),
    ]


def nearby_incidents_function_sql(schema: str) -> sql.Composed:
    return sql.SQL(NEARBY_INCIDENTS_FUNCTION).format(schema=sql.Identifier(schema))
