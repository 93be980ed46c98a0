"""assign_block_groups: calls located by coordinates, joined to block-group polygons."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import shapely

from safebeat_assets.sample.geography import generate_block_groups
from safebeat_assets.transform.geo import build_geo_table
from safebeat_assets.transform.point_in_polygon import (
    LOCATION_STATUSES,
    MATCHED,
    MISSING_COORDINATES,
    OUTSIDE_BOX,
    OUTSIDE_POLYGONS,
    BlockGroupBoundaries,
    ValidityBox,
    assign_block_groups,
)

WEST, EAST, RING = "484530001001", "484530001002", "484530002001"
# Two unit squares sharing the edge lon = 1, and a square with a square hole, further east.
# Given in an order that is not GEOID order, so the tie rule cannot come from the input order.
SQUARES = {
    EAST: shapely.box(1, 0, 2, 1),
    WEST: shapely.box(0, 0, 1, 1),
    RING: shapely.Polygon(
        [(3, 0), (4, 0), (4, 1), (3, 1)], holes=[[(3.4, 0.4), (3.6, 0.4), (3.6, 0.6), (3.4, 0.6)]]
    ),
}
BOX = ValidityBox(min_latitude=-1, max_latitude=2, min_longitude=-1, max_longitude=5)


def squares() -> BlockGroupBoundaries:
    return BlockGroupBoundaries(list(SQUARES), list(SQUARES.values()))


# (longitude, latitude) -> (geo_id, status)
KNOWN_POINTS = [
    ((0.5, 0.5), WEST, MATCHED),
    ((1.5, 0.5), EAST, MATCHED),
    ((1.0, 0.5), WEST, MATCHED),  # on the shared edge: the smaller GEOID
    ((1.0, 1.0), WEST, MATCHED),  # on the shared corner
    ((0.0, 0.5), WEST, MATCHED),  # on an outer edge: inside
    ((2.0, 0.0), EAST, MATCHED),  # on an outer corner
    ((3.5, 0.5), None, OUTSIDE_POLYGONS),  # in the hole
    ((3.4, 0.5), RING, MATCHED),  # on the hole's edge
    ((2.5, 0.5), None, OUTSIDE_POLYGONS),  # between the polygons, inside the box
    ((4.5, 1.5), None, OUTSIDE_POLYGONS),
    ((5.5, 0.5), None, OUTSIDE_BOX),
    ((0.5, -1.5), None, OUTSIDE_BOX),
    ((0.0, 0.0), WEST, MATCHED),  # 0/0 is a real point when the box holds it
]


def test_known_points_inside_on_the_boundary_and_outside():
    lon = [p[0][0] for p in KNOWN_POINTS]
    lat = [p[0][1] for p in KNOWN_POINTS]
    result = assign_block_groups(lat, lon, squares(), BOX)
    assert list(result.geo_id) == [p[1] for p in KNOWN_POINTS]
    assert list(result.status) == [p[2] for p in KNOWN_POINTS]


def test_missing_and_unparseable_coordinates_are_counted_not_dropped():
    lat = [0.5, None, "not a number", np.nan, 0.5, ""]
    lon = [0.5, 0.5, 0.5, 0.5, np.inf, 0.5]
    result = assign_block_groups(lat, lon, squares(), BOX)
    assert list(result.status) == [MATCHED] + [MISSING_COORDINATES] * 5
    assert result.counts() == {
        MATCHED: 1,
        MISSING_COORDINATES: 5,
        OUTSIDE_BOX: 0,
        OUTSIDE_POLYGONS: 0,
    }
    assert sum(result.counts().values()) == len(lat)
    assert result.match_rate == pytest.approx(1 / 6)


def test_no_points():
    result = assign_block_groups([], [], squares(), BOX)
    assert len(result.geo_id) == 0
    assert result.counts() == dict.fromkeys(LOCATION_STATUSES, 0)
    assert result.match_rate == 0.0


def test_agrees_with_geopandas_sjoin_on_generated_block_groups():
    """Random points over the generated Travis-area block groups: the same block group as
    geopandas' own spatial join (points on boundaries have probability zero here)."""
    block_groups = generate_block_groups(seed=7).to_crs("EPSG:4326")
    dim_geo = build_geo_table(block_groups)
    boundaries = BlockGroupBoundaries.from_wkt(dim_geo["geo_id"], dim_geo["boundary_wkt"])
    west, south, east, north = block_groups.total_bounds
    rng = np.random.default_rng(3)
    n = 20_000
    lon = rng.uniform(west - 0.05, east + 0.05, n)
    lat = rng.uniform(south - 0.05, north + 0.05, n)
    box = ValidityBox(south - 0.02, north + 0.02, west - 0.02, east + 0.02)

    result = assign_block_groups(lat, lon, boundaries, box)

    points = gpd.GeoDataFrame(geometry=gpd.points_from_xy(lon, lat), crs="EPSG:4326")
    polygons = gpd.GeoDataFrame(
        {"geo_id": dim_geo["geo_id"]},
        geometry=shapely.from_wkt(dim_geo["boundary_wkt"].to_numpy()),
        crs="EPSG:4326",
    )
    joined = gpd.sjoin(points, polygons, predicate="within", how="left")
    expected = joined.groupby(level=0)["geo_id"].min().reindex(range(n)).to_numpy(dtype=object)
    expected = np.where(box.contains(lat, lon), expected, None)
    expected = np.array([None if g is None or g != g else g for g in expected], dtype=object)
    assert (result.geo_id == expected).all()
    counts = result.counts()
    assert counts[MATCHED] > n // 3
    assert counts[OUTSIDE_BOX] > 0 and counts[OUTSIDE_POLYGONS] >= 0
    assert counts[MISSING_COORDINATES] == 0


def test_every_block_group_contains_its_internal_point_region():
    """A point inside each polygon maps back to that polygon's GEOID."""
    dim_geo = build_geo_table(generate_block_groups(seed=11).to_crs("EPSG:4326"))
    polygons = shapely.from_wkt(dim_geo["boundary_wkt"].to_numpy())
    inside = shapely.point_on_surface(polygons)
    boundaries = BlockGroupBoundaries(dim_geo["geo_id"], polygons)
    box = ValidityBox(25, 37, -107, -93)
    result = assign_block_groups(shapely.get_y(inside), shapely.get_x(inside), boundaries, box)
    assert list(result.geo_id) == list(dim_geo["geo_id"])


@pytest.mark.parametrize(
    ("geo_ids", "shapes", "message"),
    [
        ([WEST, WEST], [SQUARES[WEST], SQUARES[EAST]], "repeat a GEOID"),
        ([WEST], [SQUARES[WEST], SQUARES[EAST]], "1 GEOIDs for 2 boundaries"),
        ([WEST, EAST], [SQUARES[WEST], None], "without a boundary"),
        ([WEST, None], [SQUARES[WEST], SQUARES[EAST]], "has no GEOID"),
    ],
)
def test_broken_boundaries_are_refused(geo_ids, shapes, message):
    with pytest.raises(ValueError, match=message):
        BlockGroupBoundaries(geo_ids, shapes)


def test_unreadable_boundary_text_is_refused():
    with pytest.raises(shapely.errors.GEOSException):
        BlockGroupBoundaries.from_wkt([WEST], ["POLYGON ((0 0, 1"])


@pytest.mark.parametrize(
    "bounds",
    [(10, 5, -100, -90), (-95, 10, -100, -90), (10, 20, -90, -100), (10, 20, -200, -90)],
)
def test_an_inverted_or_impossible_box_is_refused(bounds):
    with pytest.raises(ValueError, match="validity box"):
        ValidityBox(*bounds)


def test_mismatched_coordinate_lengths_are_refused():
    with pytest.raises(ValueError, match="2 latitudes for 1 longitudes"):
        assign_block_groups([0.5, 0.5], [0.5], squares(), BOX)
