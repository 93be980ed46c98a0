"""PostGIS features of the warehouse: geometry columns, GiST indexes, the nearby-incidents
function and views, and agreement of ST_DWithin with the Python event linkage."""

import numpy as np
import pytest

from safebeat_assets.domain import DEFAULT_LINK_RADIUS_KM
from safebeat_assets.storage.tables import FACT_911_CALLS, TABLES
from safebeat_assets.storage.warehouse import Warehouse
from safebeat_assets_tests.helpers import materialize_subset

RADIUS_KM = DEFAULT_LINK_RADIUS_KM
# Python links on a sphere (haversine, R = 6371 km), PostGIS on the WGS84 spheroid: pairs this
# close to the radius may fall on either side.
BOUNDARY_TOLERANCE_KM = 0.01


@pytest.fixture
def postgis_warehouse(warehouse) -> Warehouse:
    if not warehouse.postgis:
        pytest.skip(
            "PostGIS is not installed on the test server (CI installs postgresql-15-postgis-3)"
        )
    return warehouse


def haversine_km(lat1, lon1, lat2, lon2):
    lat1, lon1, lat2, lon2 = map(np.radians, (lat1, lon1, lat2, lon2))
    a = (
        np.sin((lat2 - lat1) / 2) ** 2
        + np.cos(lat1) * np.cos(lat2) * np.sin((lon2 - lon1) / 2) ** 2
    )
    return 2 * 6371.0 * np.arcsin(np.sqrt(a))


def test_geometry_columns_and_gist_indexes(postgis_warehouse):
    wh = postgis_warehouse
    wh.ensure_schema_objects()
    rows = wh.query(
        "SELECT f_table_name, f_geometry_column, type, srid FROM geometry_columns "
        "WHERE f_table_schema = %s",
        (wh.schema,),
    )
    found = {(t, c): (kind, srid) for t, c, kind, srid in rows}
    expected = {
        (spec.name, g.name): g.geometry_type.upper()
        for spec in TABLES.values()
        for g in spec.geometry
    }
    assert set(found) == set(expected)
    assert all(found[key] == (kind, 4326) for key, kind in expected.items())
    indexes = {
        name: definition
        for name, definition in wh.query(
            "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = %s", (wh.schema,)
        )
    }
    assert "USING gist (geom)" in indexes["fact_911_calls_geom_gist"]
    assert "geography" in indexes["fact_911_calls_geom_geog_gist"]
    assert "USING gist (boundary)" in indexes["dim_geo_boundary_gist"]


def test_spatial_sql_agrees_with_python_linkage(postgis_warehouse, local_settings):
    result = materialize_subset(local_settings, "*fact_event_incidents")
    assert result.success
    wh = postgis_warehouse
    python_links = {
        tuple(r)
        for r in wh.query(
            "SELECT incident_number, response_datetime, event_id FROM "
            + f'"{wh.schema}".fact_event_incidents'
        )
    }
    sql_links = wh.query(
        f"""SELECT f.incident_number, f.response_datetime, e.event_id,
                   ST_Y(f.geom), ST_X(f.geom), ST_Y(e.geom), ST_X(e.geom)
            FROM "{wh.schema}".fact_911_calls f
            JOIN "{wh.schema}".dim_event e
              ON f.response_date BETWEEN e.start_date AND e.end_date
             AND ST_DWithin(f.geom::geography, e.geom::geography, %s)""",
        (RADIUS_KM * 1000,),
    )
    sql_pairs = {r[:3] for r in sql_links}
    assert len(python_links) > 50
    only_sql = sql_pairs - python_links
    only_python = python_links - sql_pairs
    assert len(only_sql) + len(only_python) <= 0.01 * len(python_links)
    for row in sql_links:
        if row[:3] in only_sql:
            assert abs(haversine_km(*row[3:]) - RADIUS_KM) < BOUNDARY_TOLERANCE_KM
    if only_python:
        distances = dict(
            ((r[0], r[1], r[2]), r[3])
            for r in wh.query(
                f'SELECT incident_number, response_datetime, event_id, distance_km FROM "{wh.schema}".fact_event_incidents'
            )
        )
        assert all(abs(distances[k] - RADIUS_KM) < BOUNDARY_TOLERANCE_KM for k in only_python)


def test_nearby_incidents_function_and_views(postgis_warehouse, local_settings):
    result = materialize_subset(local_settings, "*fact_event_incidents")
    assert result.success
    wh = postgis_warehouse
    fact = wh.read_table(
        FACT_911_CALLS, ["incident_number", "latitude_centroid", "longitude_centroid"]
    )
    lat, lon, radius = 30.2672, -97.7431, 1.0
    found = wh.query(
        f'SELECT incident_number, distance_m FROM "{wh.schema}".get_nearby_incidents(%s, %s, %s)',
        (lat, lon, radius),
    )
    distances = haversine_km(fact["latitude_centroid"], fact["longitude_centroid"], lat, lon)
    clear_inside = fact[distances < radius - BOUNDARY_TOLERANCE_KM]
    clear_outside = set(fact.loc[distances > radius + BOUNDARY_TOLERANCE_KM, "incident_number"])
    returned = [r[0] for r in found]
    assert len(found) >= len(clear_inside) > 0
    assert set(clear_inside["incident_number"]) <= set(returned)
    assert not set(returned) & clear_outside
    assert [r[1] for r in found] == sorted(r[1] for r in found)  # nearest first

    heat_rows, window_end = wh.fetch_one(
        "SELECT count(*), max(window_end) FROM {v}", v="v_risk_heatmap"
    )
    latest = wh.fetch_one("SELECT max(response_date) FROM {f}", f="fact_911_calls")[0]
    assert heat_rows > 0 and window_end == latest
    summary, events = wh.fetch_one(
        "SELECT (SELECT count(*) FROM {s}), (SELECT count(*) FROM {e})",
        s="v_event_incident_summary",
        e="dim_event",
    )
    assert summary == events
