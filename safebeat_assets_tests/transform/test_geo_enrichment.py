"""build_geo_table (dim_geo) and enrich_calls."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from safebeat_assets.sources import SourceSchemaError
from safebeat_assets.transform import build_geo_table, enrich_calls, geo_table_checks
from safebeat_assets.transform.geo import DIM_GEO_COLUMNS
from safebeat_assets.transform.point_in_polygon import ValidityBox


def block_groups(geoids: list[str], crs: str = "EPSG:4269") -> gpd.GeoDataFrame:
    lat = np.linspace(30.2, 30.5, len(geoids))
    lon = np.linspace(-97.9, -97.6, len(geoids))
    return gpd.GeoDataFrame(
        {
            "STATEFP": [g[:2] for g in geoids],
            "COUNTYFP": [g[2:5] for g in geoids],
            "TRACTCE": [g[5:11] for g in geoids],
            "BLKGRPCE": [g[11] for g in geoids],
            "GEOID": geoids,
            "NAMELSAD": [f"Block Group {g[11]}" for g in geoids],
            "MTFCC": "G5030",
            "FUNCSTAT": "S",
            "ALAND": np.full(len(geoids), 2_500_000, dtype="int64"),
            "AWATER": np.full(len(geoids), 100_000, dtype="int64"),
            "INTPTLAT": [f"{v:+.7f}" for v in lat],
            "INTPTLON": [f"{v:+012.7f}" for v in lon],
        },
        geometry=[
            shapely.MultiPolygon([shapely.box(x - 0.01, y - 0.01, x + 0.01, y + 0.01)])
            for x, y in zip(lon, lat, strict=True)
        ],
        crs=crs,
    )


GEOIDS = ["484530412002", "482090101001", "484910201003", "480219501001"]


def test_dim_geo_columns_and_values():
    geo = build_geo_table(block_groups(GEOIDS))
    assert list(geo.columns) == list(DIM_GEO_COLUMNS)
    assert geo["geo_id"].tolist() == sorted(GEOIDS)
    by_id = geo.set_index("geo_id")
    assert by_id.loc["484530412002", "county_name"] == "Travis"
    assert by_id.loc["482090101001", "county_name"] == "Hays"
    assert by_id.loc["484910201003", "county_name"] == "Williamson"
    assert by_id.loc["480219501001", "county_name"] == "Bastrop"
    assert by_id.loc["484530412002", "tract_ce"] == "041200"
    assert by_id.loc["484530412002", "block_group_ce"] == "2"
    assert by_id.loc["484530412002", "name"] == "Block Group 2"
    assert by_id.loc["484530412002", "latitude_centroid"] == pytest.approx(30.2)
    assert by_id.loc["484530412002", "longitude_centroid"] == pytest.approx(-97.9)
    assert by_id["area_sq_km"].tolist() == [2.5] * 4
    assert by_id["water_sq_km"].tolist() == [0.1] * 4
    for column in ("latitude_centroid", "longitude_centroid", "area_sq_km", "water_sq_km"):
        assert geo[column].dtype == "float64"
    polygon = shapely.from_wkt(by_id.loc["484530412002", "boundary_wkt"])
    assert polygon.geom_type == "MultiPolygon"
    assert polygon.centroid.x == pytest.approx(-97.9, abs=1e-4)  # lon/lat order, EPSG:4326
    assert geo_table_checks(geo) == {
        "rows": 4,
        "duplicate_geo_ids": 0,
        "internal_point_outside_state": 0,
        "non_positive_area": 0,
        "missing_boundary": 0,
    }


def test_boundary_is_reprojected_to_wgs84():
    projected = block_groups(GEOIDS[:1]).to_crs("EPSG:3857")
    geo = build_geo_table(projected)
    polygon = shapely.from_wkt(geo.loc[0, "boundary_wkt"])
    assert polygon.centroid.y == pytest.approx(30.2, abs=1e-4)


def test_duplicate_geoids_raise():
    with pytest.raises(ValueError, match="more than once"):
        build_geo_table(block_groups([GEOIDS[0], GEOIDS[0]]))


def test_missing_columns_raise():
    with pytest.raises(SourceSchemaError, match="INTPTLAT"):
        build_geo_table(block_groups(GEOIDS).drop(columns=["INTPTLAT"]))


def cleaned_calls(geo_ids: list[object]) -> pd.DataFrame:
    status = ["valid" if g else "missing" for g in geo_ids]
    return pd.DataFrame(
        {
            "incident_number": np.arange(250000001, 250000001 + len(geo_ids), dtype="int64"),
            "geo_id": pd.Series(geo_ids, dtype=object),
            "geo_id_status": status,
        }
    )


def test_enrichment_matches_and_null_foreign_keys():
    geo = build_geo_table(block_groups(GEOIDS[:2]))
    calls = cleaned_calls(
        [
            "484530412002",
            "484530412002",
            "482090101001",
            "484531111111",
            "484531111111",
            "484539999999",
            None,
        ]  # fmt: skip
    )
    result = enrich_calls(calls, geo)
    enriched = result.calls
    assert list(enriched.columns[:3]) == ["incident_number", "geo_id", "geo_id_status"]
    assert enriched["geo_matched"].tolist() == [True, True, True, False, False, False, False]
    assert enriched["dim_geo_id"].tolist() == [
        "484530412002", "484530412002", "482090101001", None, None, None, None,
    ]  # fmt: skip
    assert enriched["latitude_centroid"].iloc[:3].notna().all()
    assert enriched["latitude_centroid"].iloc[3:].isna().all()
    assert enriched["area_sq_km"].iloc[0] == pytest.approx(2.5)
    assert enriched["county_fp"].tolist() == ["453", "453", "209", "453", "453", "453", None]
    assert enriched["latitude_centroid"].dtype == "float64"
    assert enriched["geo_matched"].dtype == "bool"

    stats = result.stats
    assert stats["rows"] == 7
    assert stats["geo_matched"] == 3
    assert stats["geo_unmatched"] == 4
    assert stats["geo_match_rate"] == pytest.approx(3 / 7)
    assert stats["top_unmatched_geo_ids"] == [("484531111111", 2), ("484539999999", 1)]
    assert stats["geo_unmatched_without_id"] == 1
    # The input frame is not modified.
    assert "dim_geo_id" not in calls.columns


def test_enrichment_of_empty_frame_and_re_enrichment():
    geo = build_geo_table(block_groups(GEOIDS[:1]))
    empty = enrich_calls(cleaned_calls([]), geo)
    assert empty.stats["geo_match_rate"] == 0.0
    assert len(empty.calls) == 0
    once = enrich_calls(cleaned_calls(["484530412002"]), geo).calls
    twice = enrich_calls(once, geo).calls
    pd.testing.assert_frame_equal(once, twice)


AUSTIN_BOX = ValidityBox(29.9, 30.9, -98.3, -97.3)


def test_calls_located_by_coordinates_get_the_block_group_their_point_falls_in():
    geo = build_geo_table(block_groups(GEOIDS[:2]))  # squares around (30.2, -97.9), (30.5, -97.6)
    calls = cleaned_calls([None, None, None, None, None, "482090101001"])
    calls["latitude"] = [30.2, 30.505, 30.35, 0.0, np.nan, 30.2]
    calls["longitude"] = [-97.9, -97.605, -97.75, 0.0, np.nan, -97.9]
    result = enrich_calls(calls, geo, AUSTIN_BOX)
    enriched = result.calls
    # The delivered Geo ID wins over the point (last row: its point lies in the other square).
    assert enriched["dim_geo_id"].tolist() == [
        "484530412002", "482090101001", None, None, None, "482090101001",
    ]  # fmt: skip
    assert enriched["geo_id"].tolist() == [None] * 5 + ["482090101001"]  # as delivered
    assert enriched["county_fp"].tolist() == ["453", "209", None, None, None, "209"]
    assert enriched["latitude_centroid"].iloc[:2].notna().all()
    stats = result.stats
    assert stats["location_matched"] == 2
    assert stats["location_outside_polygons"] == 1
    assert stats["location_outside_box"] == 1
    assert stats["location_missing_coordinates"] == 1
    assert stats["geo_match_rate"] == pytest.approx(3 / 6)
    assert stats["geo_unmatched_without_id"] == 3


def test_a_feed_without_coordinates_is_enriched_as_before():
    geo = build_geo_table(block_groups(GEOIDS[:2]))
    calls = cleaned_calls(["484530412002", None, "484539999999"])
    before = enrich_calls(calls, geo)
    calls["latitude"], calls["longitude"] = np.nan, np.nan
    after = enrich_calls(calls, geo, AUSTIN_BOX)
    assert after.stats == before.stats
    assert after.calls["dim_geo_id"].tolist() == before.calls["dim_geo_id"].tolist()
