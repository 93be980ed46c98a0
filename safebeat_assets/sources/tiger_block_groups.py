"""Reader of US Census TIGER/Line block groups (GeoJSON, GeoPackage or the zipped shapefile
`tl_YYYY_48_bg.zip`), filtered to Texas and the configured APD counties.

Output: the raw_block_groups GeoDataFrame in EPSG:4269 (the TIGER CRS), text attributes as str,
ALAND/AWATER as int64, MultiPolygon geometries, plus source_file and source_sha256.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import geopandas as gpd
import pandas as pd
import shapely

from safebeat_assets.domain import DEFAULT_COUNTY_FPS
from safebeat_assets.sources.columns import (
    BLOCK_GROUP_COLUMNS,
    BLOCK_GROUP_REQUIRED_COLUMNS,
    SOURCE_FILE,
    SOURCE_SHA256,
    check_columns,
)
from safebeat_assets.sources.files import file_sha256

TEXAS_STATE_FP = "48"
TIGER_CRS = "EPSG:4269"

# FIPS code columns and their fixed widths: a driver that typed them as numbers dropped the
# leading zeros, so they are re-padded.
_CODE_WIDTHS = {"STATEFP": 2, "COUNTYFP": 3, "TRACTCE": 6, "BLKGRPCE": 1, "GEOID": 12}
_TEXT_COLUMNS = ("NAMELSAD", "MTFCC", "FUNCSTAT", "INTPTLAT", "INTPTLON")


def read_block_groups(
    path: Path, county_fps: Sequence[str] = DEFAULT_COUNTY_FPS
) -> gpd.GeoDataFrame:
    """Read block groups, keep STATEFP 48 and the given county FIPS codes.

    Raises SourceSchemaError when a required attribute (GEOID, STATEFP, COUNTYFP, INTPTLAT,
    INTPTLON, ALAND, geometry) is missing. Attribute names are matched case-insensitively.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(path)
    frame = gpd.read_file(path)  # pyogrio reads `.zip` shapefiles through /vsizip/ itself
    # A layer without geometry comes back as a plain DataFrame; the check below then reports
    # `geometry` as missing.
    geometry_name = getattr(frame, "active_geometry_name", None)
    frame = frame.rename(columns={c: c.upper() for c in frame.columns if c != geometry_name})
    if geometry_name not in (None, "geometry"):
        frame = frame.rename_geometry("geometry")
    check_columns(frame.columns, required=BLOCK_GROUP_REQUIRED_COLUMNS, source=path)

    for column, width in _CODE_WIDTHS.items():
        if column in frame.columns:
            frame[column] = _as_code(frame[column], width)
    wanted = {str(c).zfill(3) for c in county_fps}
    frame = frame[(frame["STATEFP"] == TEXAS_STATE_FP) & frame["COUNTYFP"].isin(wanted)].copy()

    _fill_optional_attributes(frame)
    for column in _TEXT_COLUMNS:
        frame[column] = _as_text(frame[column])
    for column in ("ALAND", "AWATER"):
        frame[column] = pd.to_numeric(frame[column], errors="raise").astype("int64")

    frame = _to_tiger_crs(frame)
    frame["geometry"] = _as_multipolygons(frame.geometry)
    frame = frame[list(BLOCK_GROUP_COLUMNS)]
    frame[SOURCE_FILE] = path.name
    frame[SOURCE_SHA256] = file_sha256(path)
    return gpd.GeoDataFrame(
        frame.sort_values("GEOID").reset_index(drop=True), geometry="geometry", crs=TIGER_CRS
    )


def _as_code(series: pd.Series, width: int) -> pd.Series:
    """FIPS codes as zero-padded text (a numeric `453.0` or `48` becomes `453` / `48`)."""
    if pd.api.types.is_numeric_dtype(series):
        series = series.astype("Int64").astype("string")
    text = series.astype("string").str.strip().str.replace(r"\.0$", "", regex=True)
    return text.str.zfill(width).astype(object).where(text.notna(), None)


def _as_text(series: pd.Series) -> pd.Series:
    text = series.astype("string")
    return text.astype(object).where(text.notna(), None)


def _fill_optional_attributes(frame: gpd.GeoDataFrame) -> None:
    """Derive what the GEOID encodes when a slimmed-down export left it out; AWATER absent ->
    0 (unknown water area counts as none, ALAND is what areas are computed from)."""
    geoid = frame["GEOID"].astype("string")
    if "TRACTCE" not in frame.columns:
        frame["TRACTCE"] = geoid.str.slice(5, 11).astype(object)
    if "BLKGRPCE" not in frame.columns:
        frame["BLKGRPCE"] = geoid.str.slice(11, 12).astype(object)
    if "NAMELSAD" not in frame.columns:
        frame["NAMELSAD"] = ("Block Group " + frame["BLKGRPCE"].astype("string")).astype(object)
    for column in ("MTFCC", "FUNCSTAT"):
        if column not in frame.columns:
            frame[column] = None
    if "AWATER" not in frame.columns:
        frame["AWATER"] = 0


def _to_tiger_crs(frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    if frame.crs is None:
        # TIGER files without a .prj are NAD83 geographic.
        return frame.set_crs(TIGER_CRS)
    if frame.crs.to_epsg() != 4269:
        return frame.to_crs(TIGER_CRS)
    return frame


def _as_multipolygons(geometry: gpd.GeoSeries) -> gpd.GeoSeries:
    """Shapefiles store single-part block groups as Polygon; the contract says MultiPolygon."""
    values = geometry.to_numpy()  # object array of shapely geometries
    is_polygon = shapely.get_type_id(values) == shapely.GeometryType.POLYGON
    if is_polygon.any():
        values = values.copy()
        values[is_polygon] = [shapely.MultiPolygon([g]) for g in values[is_polygon]]
    return gpd.GeoSeries(values, index=geometry.index, crs=geometry.crs)
