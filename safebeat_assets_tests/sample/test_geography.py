"""Synthetic TIGER block groups: counts, codes, tiling, GeoJSON format."""

import json
import re

import geopandas as gpd
import numpy as np
import pytest
import shapely
from shapely.geometry import MultiPolygon, Point, box

from safebeat_assets.sample import generate_block_groups, write_block_groups_geojson
from safebeat_assets.sample.geography import REQUIRED_TRAVIS_GEOIDS, TRAVIS_BBOX
from safebeat_assets.sample.vocabulary import BLOCK_GROUP_COLUMNS


@pytest.fixture(scope="module")
def block_groups() -> gpd.GeoDataFrame:
    return generate_block_groups(42)


@pytest.fixture(scope="module")
def travis(block_groups) -> gpd.GeoDataFrame:
    return block_groups[block_groups["COUNTYFP"] == "453"]


def test_columns_crs_and_geometry_types(block_groups):
    assert list(block_groups.columns) == [*BLOCK_GROUP_COLUMNS, "geometry"]
    assert block_groups.crs.to_epsg() == 4269
    assert all(isinstance(g, MultiPolygon) for g in block_groups.geometry)
    assert block_groups.geometry.is_valid.all()
    assert block_groups["GEOID"].is_unique


def test_counts_per_county_and_travis_tracts(block_groups, travis):
    counts = block_groups["COUNTYFP"].value_counts().to_dict()
    assert counts["453"] == 766
    assert 120 <= counts["209"] <= 180
    assert 250 <= counts["491"] <= 350
    assert travis["TRACTCE"].nunique() == 290
    blkgrp = travis["BLKGRPCE"].value_counts().to_dict()
    assert blkgrp == {"1": 290, "2": 257, "3": 158, "4": 46, "5": 14, "6": 1}


def test_codes_and_attributes(block_groups):
    bg = block_groups
    assert (bg["STATEFP"] == "48").all()
    assert bg["TRACTCE"].str.fullmatch(r"\d{6}").all()
    assert bg["BLKGRPCE"].str.fullmatch(r"[1-6]").all()
    assert bg["GEOID"].str.fullmatch(r"48(453|209|491)\d{7}").all()
    assert (bg["GEOID"] == bg["STATEFP"] + bg["COUNTYFP"] + bg["TRACTCE"] + bg["BLKGRPCE"]).all()
    assert (bg["NAMELSAD"] == "Block Group " + bg["BLKGRPCE"]).all()
    assert (bg["MTFCC"] == "G5030").all() and (bg["FUNCSTAT"] == "S").all()
    assert bg["INTPTLAT"].str.fullmatch(r"\+\d{2}\.\d{7}").all()
    assert bg["INTPTLON"].str.fullmatch(r"-0\d{2}\.\d{7}").all()
    assert bg["ALAND"].dtype.kind == "i" and (bg["ALAND"] > 0).all()
    assert (bg["AWATER"] >= 0).all()
    assert set(REQUIRED_TRAVIS_GEOIDS) <= set(bg["GEOID"])


def test_internal_point_inside_polygon(block_groups):
    points = [
        Point(float(lon), float(lat))
        for lat, lon in zip(block_groups["INTPTLAT"], block_groups["INTPTLON"], strict=True)
    ]
    assert shapely.contains(np.array(list(block_groups.geometry)), np.array(points)).all()


def test_travis_tiles_its_bbox_without_gaps_or_overlaps(travis):
    frame = box(*TRAVIS_BBOX)
    geoms = np.array(list(travis.geometry))
    union = shapely.union_all(geoms)
    total = sum(g.area for g in geoms)
    assert union.area == pytest.approx(frame.area, rel=1e-6)
    assert total == pytest.approx(union.area, rel=1e-6)  # no overlaps
    assert union.bounds == pytest.approx(TRAVIS_BBOX, abs=1e-6)


def test_travis_land_and_water_totals(travis):
    assert travis["ALAND"].sum() / 1e6 == pytest.approx(2575.2, rel=0.01)
    assert travis["AWATER"].sum() / 1e6 == pytest.approx(79.6, rel=0.05)


def test_denser_downtown(travis):
    lat = travis["INTPTLAT"].astype(float)
    lon = travis["INTPTLON"].astype(float)
    near = ((lat - 30.267).abs() < 0.03) & ((lon + 97.743).abs() < 0.035)
    share_of_area = (0.06 * 0.07) / (
        (TRAVIS_BBOX[2] - TRAVIS_BBOX[0]) * (TRAVIS_BBOX[3] - TRAVIS_BBOX[1])
    )
    assert near.mean() > 4 * share_of_area


def test_deterministic_and_seed_dependent():
    a, b, c = generate_block_groups(3), generate_block_groups(3), generate_block_groups(4)
    assert a.drop(columns="geometry").equals(b.drop(columns="geometry"))
    assert all(x.equals(y) for x, y in zip(a.geometry, b.geometry, strict=True))
    assert not a["INTPTLAT"].equals(c["INTPTLAT"])


def test_geojson_file_format(block_groups, tmp_path):
    path = write_block_groups_geojson(block_groups, tmp_path / "bg.geojson")
    text = path.read_text(encoding="utf-8")
    doc = json.loads(text)
    assert doc["type"] == "FeatureCollection"
    assert doc["crs"] == {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::4269"}}
    feature = doc["features"][0]
    assert list(feature["properties"]) == list(BLOCK_GROUP_COLUMNS)
    assert isinstance(feature["properties"]["ALAND"], int)
    assert {f["geometry"]["type"] for f in doc["features"]} == {"MultiPolygon"}
    decimals = re.findall(r"-?\d+\.(\d+)\]", text)
    assert decimals and max(len(d) for d in decimals) <= 6
    back = gpd.read_file(path)
    assert back.crs.to_epsg() == 4269
    assert len(back) == len(block_groups)
    assert (back["GEOID"] == block_groups["GEOID"]).all()
    assert (back["INTPTLON"] == block_groups["INTPTLON"]).all()
