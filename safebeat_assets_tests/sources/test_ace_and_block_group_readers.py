"""read_ace_events, read_block_groups and file_sha256."""

from __future__ import annotations

import hashlib
import zipfile
from pathlib import Path

import geopandas as gpd
import openpyxl
import pytest
import shapely

from safebeat_assets.sources import (
    SourceSchemaError,
    empty_ace_events,
    file_sha256,
    list_source_files,
    read_ace_events,
    read_block_groups,
)
from safebeat_assets.sources.columns import ACE_KNOWN_COLUMNS, BLOCK_GROUP_COLUMNS


def test_file_sha256_matches_hashlib(tmp_path):
    path = tmp_path / "x.bin"
    path.write_bytes(b"safebeat" * 100_000)
    assert file_sha256(path) == hashlib.sha256(path.read_bytes()).hexdigest()


def test_list_source_files_in_name_order(tmp_path):
    for name in ("b.csv", "a.CSV", "c.xlsx", "notes.txt"):
        (tmp_path / name).write_text("x")
    names = [p.name for p in list_source_files(tmp_path, (".csv", ".xlsx"))]
    assert names == ["a.CSV", "b.csv", "c.xlsx"]


# --- ACE events ----------------------------------------------------------------------------


def test_ace_upper_case_headers_optional_columns_and_extras(tmp_path):
    path = tmp_path / "ace.csv"
    path.write_text(
        "FOLDERRSN,FOLDERNAME,START_DATE,END_DATE,GPSLATITUDE,GPSLONGITUDE,ALCOHOL_SERVED,WARD\n"
        '12345,SXSW Street Fair,"Aug 02, 2019","Aug 03, 2019",30.2672,-97.7431,Yes,7\n'
        "12345,SXSW Street Fair,,,,,,\n"
    )
    raw = read_ace_events(path)
    assert list(raw.columns) == [
        *ACE_KNOWN_COLUMNS,
        "ward",
        "source_file",
        "source_sha256",
        "source_row",
    ]
    assert raw["folderrsn"].tolist() == ["12345", "12345"]
    assert raw["start_date"].tolist() == ["Aug 02, 2019", None]
    assert raw["status"].isna().all()  # optional, absent -> null
    assert raw["ward"].tolist() == ["7", None]  # unknown extra column kept as text
    assert raw["source_row"].tolist() == [1, 2]


def test_empty_ace_events_is_a_read_without_rows(tmp_path):
    """A city without a permit feed: the columns and dtypes of a read of the known layout."""
    path = tmp_path / "ace.csv"
    header = ",".join(c.upper() for c in ACE_KNOWN_COLUMNS)
    path.write_text(header + "\n" + ",".join("1" for _ in ACE_KNOWN_COLUMNS) + "\n")
    read, empty = read_ace_events(path), empty_ace_events()
    assert empty.empty
    assert list(empty.columns) == list(read.columns)
    assert empty.dtypes.to_dict() == read.dtypes.to_dict()


def test_ace_lower_case_xlsx(tmp_path):
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(
        ["folderrsn", "foldername", "start_date", "end_date", "gpslatitude", "gpslongitude"]
    )
    sheet.append([12345, "Fest", "Aug 02, 2019", "September 27, 2025 10:00", 30.2672, -97.7431])
    path = tmp_path / "ace.xlsx"
    workbook.save(path)
    raw = read_ace_events(path)
    assert raw.loc[0, "folderrsn"] == "12345"
    assert raw.loc[0, "gpslatitude"] == "30.2672"
    assert raw.loc[0, "end_date"] == "September 27, 2025 10:00"


def test_ace_missing_required_columns(tmp_path):
    path = tmp_path / "ace.csv"
    path.write_text("FOLDERRSN,FOLDERNAME,START_DATE\n1,x,y\n")
    with pytest.raises(SourceSchemaError) as error:
        read_ace_events(path)
    assert error.value.missing == ["end_date", "gpslatitude", "gpslongitude"]
    assert "ace.csv" in str(error.value)


# --- TIGER block groups --------------------------------------------------------------------


def block_groups_frame() -> gpd.GeoDataFrame:
    rows = [
        ("48", "453", "041200", "2", 30.30, -97.74),
        ("48", "209", "010100", "1", 30.00, -97.90),
        ("48", "491", "020100", "3", 30.55, -97.70),
        ("48", "021", "950100", "1", 30.10, -97.30),  # Bastrop: not in the default counties
        ("22", "453", "000100", "1", 31.00, -92.00),  # another state's county 453
    ]
    return gpd.GeoDataFrame(
        {
            "STATEFP": [r[0] for r in rows],
            "COUNTYFP": [r[1] for r in rows],
            "TRACTCE": [r[2] for r in rows],
            "BLKGRPCE": [r[3] for r in rows],
            "GEOID": [r[0] + r[1] + r[2] + r[3] for r in rows],
            "NAMELSAD": [f"Block Group {r[3]}" for r in rows],
            "MTFCC": "G5030",
            "FUNCSTAT": "S",
            "ALAND": [1_500_000, 2_000_000, 3_000_000, 1_000_000, 1_000_000],
            "AWATER": [0, 10_000, 0, 0, 0],
            "INTPTLAT": [f"{r[4]:+.7f}" for r in rows],
            "INTPTLON": [f"{r[5]:+012.7f}" for r in rows],
        },
        geometry=[shapely.box(r[5] - 0.01, r[4] - 0.01, r[5] + 0.01, r[4] + 0.01) for r in rows],
        crs="EPSG:4269",
    )


def check_block_groups(result: gpd.GeoDataFrame, path: Path) -> None:
    assert list(result.columns) == [*BLOCK_GROUP_COLUMNS, "source_file", "source_sha256"]
    assert result["GEOID"].tolist() == ["482090101001", "484530412002", "484910201003"]
    assert result.crs.to_epsg() == 4269
    assert set(result.geom_type) == {"MultiPolygon"}
    assert result["ALAND"].dtype == "int64" and result["AWATER"].dtype == "int64"
    assert result["INTPTLON"].tolist()[1] == "-097.7400000"
    assert result["source_file"].unique().tolist() == [path.name]


def test_block_groups_from_geojson_filtered_by_county(tmp_path):
    path = tmp_path / "bg.geojson"
    block_groups_frame().to_file(path, driver="GeoJSON")
    check_block_groups(read_block_groups(path), path)
    bastrop = read_block_groups(path, county_fps=("021",))
    assert bastrop["GEOID"].tolist() == ["480219501001"]


def test_block_groups_from_zipped_shapefile(tmp_path):
    folder = tmp_path / "shp"
    folder.mkdir()
    block_groups_frame().to_file(folder / "tl_2024_48_bg.shp")
    path = tmp_path / "tl_2024_48_bg.zip"
    with zipfile.ZipFile(path, "w") as archive:
        for part in folder.iterdir():
            archive.write(part, part.name)
    check_block_groups(read_block_groups(path), path)


def test_block_groups_from_gpkg_reprojected_to_nad83(tmp_path):
    path = tmp_path / "bg.gpkg"
    block_groups_frame().to_crs("EPSG:3857").to_file(path, driver="GPKG")
    result = read_block_groups(path)
    assert result.crs.to_epsg() == 4269
    assert result.geometry.iloc[0].centroid.y == pytest.approx(30.0, abs=1e-6)


def test_block_groups_missing_required_columns(tmp_path):
    path = tmp_path / "bg.geojson"
    block_groups_frame().drop(columns=["INTPTLAT", "ALAND"]).to_file(path, driver="GeoJSON")
    with pytest.raises(SourceSchemaError) as error:
        read_block_groups(path)
    assert error.value.missing == ["ALAND", "INTPTLAT"]
