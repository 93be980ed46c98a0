"""Reader of US Census TIGER/Line block groups (GeoJSON, GeoPackage or the zipped shapefile
`tl_YYYY_48_bg.zip`), filtered to the configured counties (5-digit state+county FIPS; 3-digit
codes are Texas's, as APD's).

Output: the raw_block_groups GeoDataFrame in EPSG:4269 (the TIGER CRS), text attributes as str,
ALAND/AWATER as int64, valid MultiPolygon geometries, plus source_file and source_sha256.

A file that cannot be read at all raises SourceFormatError (or SourceSchemaError for missing
attributes). A single bad feature of a configured county is rejected with a reason instead
(`load_block_groups` returns them with their 1-based position in the layer): without a GEOID,
with a GEOID that is malformed or disagrees with STATEFP/COUNTYFP/TRACTCE/BLKGRPCE, sharing its
GEOID with another feature (all copies: which one is right cannot be known), without a usable
internal point inside its state, without a non-negative integer land/water area, or without
polygonal area. An invalid polygon (self-intersection, ...) is repaired with `make_valid` and
counted. Calls in a rejected block group stay unmatched, and are counted as such downstream.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from safebeat_assets.domain import DEFAULT_COUNTY_FIPS, full_county_fips
from safebeat_assets.errors import SourceFormatError
from safebeat_assets.sources.columns import (
    BLOCK_GROUP_COLUMNS,
    BLOCK_GROUP_REQUIRED_COLUMNS,
    SOURCE_FILE,
    SOURCE_SHA256,
    SourceSchemaError,
    check_columns,
)
from safebeat_assets.sources.files import file_sha256

# geopandas and shapely are imported in the functions that use them: the Dagster definitions
# import this module, and geopandas (with shapely and pyproj) costs ~0.2 s at start-up.
if TYPE_CHECKING:
    import geopandas as gpd

TIGER_CRS = "EPSG:4269"
# States' extents with a small margin (degrees; (south, north), (west, east)): an internal point
# outside its state's is not that state's block group's, whatever its GEOID says. A state not
# listed is checked only for holding coordinates at all.
STATE_EXTENTS: dict[str, tuple[tuple[float, float], tuple[float, float]]] = {
    "48": ((25.0, 37.0), (-107.0, -93.0)),  # Texas
    "42": ((39.5, 42.5), (-81.0, -74.5)),  # Pennsylvania
    "53": ((45.3, 49.2), (-125.0, -116.7)),  # Washington
}
ANYWHERE = ((-90.0, 90.0), (-180.0, 180.0))

REJECT_MISSING_GEOID = "missing_geoid"
REJECT_INVALID_GEOID = "invalid_geoid"
REJECT_DUPLICATE_GEOID = "duplicate_geoid"
REJECT_INVALID_INTERNAL_POINT = "invalid_internal_point"
REJECT_INVALID_AREA = "invalid_area"
REJECT_EMPTY_GEOMETRY = "empty_geometry"
REJECT_INVALID_GEOMETRY = "invalid_geometry"
REJECT_REASONS: tuple[str, ...] = (
    REJECT_MISSING_GEOID,
    REJECT_INVALID_GEOID,
    REJECT_DUPLICATE_GEOID,
    REJECT_INVALID_INTERNAL_POINT,
    REJECT_INVALID_AREA,
    REJECT_EMPTY_GEOMETRY,
    REJECT_INVALID_GEOMETRY,
)
REJECTED_COLUMNS: tuple[str, ...] = (SOURCE_FILE, "feature", "GEOID", "reject_reason")

# FIPS code columns and their fixed widths: a driver that typed them as numbers dropped the
# leading zeros, so they are re-padded.
_CODE_WIDTHS = {"STATEFP": 2, "COUNTYFP": 3, "TRACTCE": 6, "BLKGRPCE": 1, "GEOID": 12}
_TEXT_COLUMNS = ("NAMELSAD", "MTFCC", "FUNCSTAT", "INTPTLAT", "INTPTLON")
_NUMBER_TEXT = re.compile(r"^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$")
_DIGITS = re.compile(r"^\d+$")
# Areas are m² stored as int64; a value beyond 2^53 cannot have come through a double intact.
_MAX_AREA = 2**53


@dataclass
class BlockGroupsRead:
    """The block groups kept, the features rejected (file, 1-based feature, GEOID as read,
    reason) and counts."""

    block_groups: gpd.GeoDataFrame
    rejected: pd.DataFrame
    stats: dict[str, int] = field(default_factory=dict)


def read_block_groups(
    path: Path, county_fps: Sequence[str] = DEFAULT_COUNTY_FIPS
) -> gpd.GeoDataFrame:
    """Read block groups, keep the given counties (5-digit FIPS; bad features are
    left out; `load_block_groups` also returns them).

    Raises SourceSchemaError when a required attribute (GEOID, STATEFP, COUNTYFP, INTPTLAT,
    INTPTLON, ALAND, geometry) is missing. Attribute names are matched case-insensitively.
    """
    return load_block_groups(path, county_fps).block_groups


def load_block_groups(
    path: Path, county_fps: Sequence[str] = DEFAULT_COUNTY_FIPS
) -> BlockGroupsRead:
    """`read_block_groups` with the rejected features and the counts."""
    import geopandas as gpd  # imported here: see the module imports

    path = Path(path)
    frame, unreadable = _read_layer(path)
    stats: dict[str, int] = {"features_read": len(frame)}
    feature = np.arange(1, len(frame) + 1, dtype="int64")
    frame = frame.reset_index(drop=True)

    codes = {
        column: _as_code(frame[column], width)
        for column, width in _CODE_WIDTHS.items()
        if column in frame.columns
    }
    geoid = codes["GEOID"]
    # A feature whose state/county codes are blank is placed by its GEOID, so a damaged
    # attribute does not silently drop it from the county filter.
    state = codes["STATEFP"].where(codes["STATEFP"].notna(), geoid.str.slice(0, 2))
    county = codes["COUNTYFP"].where(codes["COUNTYFP"].notna(), geoid.str.slice(2, 5))
    wanted = set(full_county_fips(county_fps))
    inside = (state + county).isin(wanted).to_numpy(dtype=bool)
    stats["features_outside_counties"] = int((~inside).sum())

    frame = frame.loc[inside].reset_index(drop=True)
    # The GEOID as the file holds it (unpadded), for the rejected-features list.
    raw_geoid = pd.Series([_code_text(v) for v in frame["GEOID"]], dtype=object)
    feature, unreadable = feature[inside], unreadable[inside]
    for column, values in codes.items():
        frame[column] = values[inside].reset_index(drop=True)
    frame["STATEFP"], frame["COUNTYFP"] = (
        state[inside].reset_index(drop=True),
        county[inside].reset_index(drop=True),
    )

    _fill_optional_attributes(frame)
    for column in _TEXT_COLUMNS:
        frame[column] = _as_text(frame[column])
    frame = _to_tiger_crs(path, frame)

    reason = np.full(len(frame), "", dtype=object)

    def reject(mask: np.ndarray, why: str) -> None:
        reason[(reason == "") & mask] = why

    reject(frame["GEOID"].isna().to_numpy(dtype=bool), REJECT_MISSING_GEOID)
    reject(~_consistent_geoids(frame), REJECT_INVALID_GEOID)
    candidate = pd.Series(np.where(reason == "", frame["GEOID"], None), dtype=object)
    reject(
        candidate.notna().to_numpy() & candidate.duplicated(keep=False).to_numpy(),
        REJECT_DUPLICATE_GEOID,
    )
    reject(~_internal_point_in_state(frame), REJECT_INVALID_INTERNAL_POINT)
    aland, aland_ok = _areas(frame["ALAND"], missing_ok=False)
    awater, awater_ok = _areas(frame["AWATER"], missing_ok=True)
    reject(~(aland_ok & awater_ok), REJECT_INVALID_AREA)
    geometry, empty, unusable, repaired = _polygonal(frame.geometry.to_numpy())
    reject(unreadable, REJECT_INVALID_GEOMETRY)
    reject(empty, REJECT_EMPTY_GEOMETRY)
    reject(unusable, REJECT_INVALID_GEOMETRY)

    kept = reason == ""
    stats["geometries_repaired"] = int((repaired & kept).sum())
    stats["features_rejected"] = int((~kept).sum())
    for why in REJECT_REASONS:
        stats[f"rejected_{why}"] = int((reason == why).sum())
    rejected = pd.DataFrame(
        {
            SOURCE_FILE: path.name,
            "feature": feature[~kept],
            "GEOID": raw_geoid[~kept].astype(object).to_numpy(),
            "reject_reason": reason[~kept],
        },
        columns=list(REJECTED_COLUMNS),
    )

    frame["ALAND"], frame["AWATER"] = aland, awater
    frame = frame.set_geometry(gpd.GeoSeries(geometry, index=frame.index, crs=frame.crs))
    frame = frame.loc[kept, list(BLOCK_GROUP_COLUMNS)].copy()
    frame["ALAND"] = frame["ALAND"].astype("int64")
    frame["AWATER"] = frame["AWATER"].astype("int64")
    frame[SOURCE_FILE] = path.name
    frame[SOURCE_SHA256] = file_sha256(path)
    stats["block_groups"] = len(frame)
    block_groups = gpd.GeoDataFrame(
        frame.sort_values("GEOID").reset_index(drop=True), geometry="geometry", crs=TIGER_CRS
    )
    return BlockGroupsRead(block_groups, rejected, stats)


def _read_layer(path: Path) -> tuple[gpd.GeoDataFrame, np.ndarray]:
    """The file's first layer, attribute names upper-cased, geometry column `geometry`; and
    where a feature's geometry could not be built at all (e.g. a two-point ring)."""
    if not path.exists():
        raise FileNotFoundError(path)
    if path.stat().st_size == 0:
        raise SourceFormatError(
            path, "empty file (0 bytes): expected GeoJSON, GeoPackage or a zipped shapefile"
        )
    import geopandas as gpd  # imported here: see the module imports
    import pyogrio.errors
    import shapely

    try:
        try:
            frame = gpd.read_file(path)  # pyogrio reads `.zip` shapefiles through /vsizip/
            unreadable = np.zeros(len(frame), dtype=bool)
        except shapely.errors.GEOSException:
            # One feature's geometry GEOS cannot build fails the whole read: build them one by
            # one instead, so that feature alone is rejected.
            frame, unreadable = _read_layer_leniently(path)
    except (
        pyogrio.errors.DataSourceError,
        pyogrio.errors.DataLayerError,
        pyogrio.errors.FieldError,
        pyogrio.errors.FeatureError,
        pyogrio.errors.GeometryError,
        pyogrio.errors.CRSError,
        ValueError,
    ) as exc:
        # GDAL repeats the full path; the file name leads the message already.
        detail = str(exc).replace(str(path), path.name).split(";")[0]
        raise SourceFormatError(
            path, f"cannot read as GeoJSON, GeoPackage or a zipped shapefile: {detail}"
        ) from exc
    # A layer without geometry comes back as a plain DataFrame; the check below then reports
    # `geometry` as missing.
    geometry_name = getattr(frame, "active_geometry_name", None)
    upper = {c: c.upper() for c in frame.columns if c != geometry_name}
    repeated = {name for name in upper.values() if list(upper.values()).count(name) > 1}
    if repeated:
        raise SourceSchemaError(path, duplicated=repeated)
    frame = frame.rename(columns=upper)
    if geometry_name not in (None, "geometry"):
        frame = frame.rename_geometry("geometry")
    check_columns(frame.columns, required=BLOCK_GROUP_REQUIRED_COLUMNS, source=path)
    return frame, unreadable


def _read_layer_leniently(path: Path) -> tuple[gpd.GeoDataFrame, np.ndarray]:
    import geopandas as gpd  # imported here: see the module imports
    import pyogrio
    import shapely
    from pyogrio.raw import read

    attributes = pyogrio.read_dataframe(path, read_geometry=False)
    meta, _, wkb, _ = read(path, columns=[])
    # "fix" closes unclosed rings; what it cannot fix comes back as None.
    geometry = shapely.from_wkb(wkb, on_invalid="fix")
    unreadable = np.array([w is not None for w in wkb], dtype=bool) & pd.isna(geometry)
    frame = gpd.GeoDataFrame(attributes, geometry=geometry, crs=meta.get("crs"))
    return frame, unreadable


def _is_blank(value: object) -> bool:
    if value is None or value is pd.NA:
        return True
    if isinstance(value, float | np.floating):
        return math.isnan(value)
    return isinstance(value, str) and not value.strip()


def _code_text(value: object) -> str | None:
    """One FIPS code as digits text: numbers (a driver typed the field) lose `.0`; None when
    blank or not representable (NaN, a fraction, a float too large to be exact)."""
    if _is_blank(value):
        return None
    if isinstance(value, bool | np.bool_):
        return str(value)
    if isinstance(value, int | np.integer):
        return str(int(value))
    if isinstance(value, float | np.floating):
        number = float(value)
        if not math.isfinite(number):
            return None
        if number.is_integer() and abs(number) < 2**53:
            return str(int(number))
        return repr(number)
    text = str(value).strip()
    return re.sub(r"\.0+$", "", text) or None


def _as_code(series: pd.Series, width: int) -> pd.Series:
    """FIPS codes as zero-padded text (a numeric `453.0` or `48` becomes `453` / `48`)."""
    values = series.to_numpy(dtype=object)
    distinct: dict[tuple[str, str], str | None] = {}
    out = np.empty(len(values), dtype=object)
    for i, value in enumerate(values):
        key = (type(value).__name__, str(value))
        if key not in distinct:
            text = _code_text(value)
            distinct[key] = text.zfill(width) if text is not None and _DIGITS.match(text) else text
        out[i] = distinct[key]
    return pd.Series(out, index=series.index, dtype=object)


def _as_text(series: pd.Series) -> pd.Series:
    text = series.astype("string").str.replace("\x00", "", regex=False)
    return text.astype(object).where(text.notna(), None)


def _consistent_geoids(frame: pd.DataFrame) -> np.ndarray:
    """GEOID is 12 digits and agrees with the state, county, tract and block-group codes (the
    dimension's varchar widths rely on it)."""
    geoid = frame["GEOID"].astype("string")
    ok = geoid.str.fullmatch(r"\d{12}").fillna(False).astype(bool)
    parts = {"STATEFP": (0, 2), "COUNTYFP": (2, 5), "TRACTCE": (5, 11), "BLKGRPCE": (11, 12)}
    for column, (start, end) in parts.items():
        code = frame[column].astype("string")
        agrees = (code == geoid.str.slice(start, end)).fillna(False).astype(bool)
        ok &= agrees | code.isna()
    return ok.to_numpy(dtype=bool)


def _number(value: object) -> float:
    if _is_blank(value) or isinstance(value, bool | np.bool_):
        return math.nan
    if isinstance(value, int | float | np.integer | np.floating):
        return float(value)
    text = str(value).strip()
    return float(text) if _NUMBER_TEXT.match(text) else math.nan


def inside_state_extent(
    state_fp: np.ndarray, latitude: np.ndarray, longitude: np.ndarray
) -> np.ndarray:
    """Where each point lies strictly inside its state's extent (STATE_EXTENTS); False for NaN."""
    states = np.asarray(state_fp, dtype=object)
    latitude = np.asarray(latitude, dtype="float64")
    longitude = np.asarray(longitude, dtype="float64")
    inside = np.zeros(len(states), dtype=bool)
    for state in pd.unique(states):
        rows = states == state
        (south, north), (west, east) = STATE_EXTENTS.get(state, ANYWHERE)
        with np.errstate(invalid="ignore"):
            inside[rows] = (
                (latitude[rows] > south)
                & (latitude[rows] < north)
                & (longitude[rows] > west)
                & (longitude[rows] < east)
            )
    return inside


def _internal_point_in_state(frame: pd.DataFrame) -> np.ndarray:
    latitude = np.array([_number(v) for v in frame["INTPTLAT"]], dtype="float64")
    longitude = np.array([_number(v) for v in frame["INTPTLON"]], dtype="float64")
    return inside_state_extent(frame["STATEFP"].to_numpy(dtype=object), latitude, longitude)


def _areas(series: pd.Series, missing_ok: bool) -> tuple[np.ndarray, np.ndarray]:
    """Areas (m²) as int64 and where they are usable: non-negative integers below 2^53.
    `missing_ok`: a blank value is 0 (AWATER: unknown water counts as none)."""
    values = np.zeros(len(series), dtype="int64")
    ok = np.zeros(len(series), dtype=bool)
    for i, value in enumerate(series.to_numpy(dtype=object)):
        if missing_ok and _is_blank(value):
            ok[i] = True
            continue
        number = _number(value)
        if math.isfinite(number) and number.is_integer() and 0 <= number < _MAX_AREA:
            values[i], ok[i] = int(number), True
    return values, ok


def _polygonal(values: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """MultiPolygons of the features, and masks: empty (no geometry), unusable (no polygonal
    area even after repair, or non-finite coordinates), repaired (was invalid, made valid)."""
    import shapely  # imported here: see the module imports

    n = len(values)
    out = np.empty(n, dtype=object)
    empty = np.zeros(n, dtype=bool)
    unusable = np.zeros(n, dtype=bool)
    repaired = np.zeros(n, dtype=bool)
    for i, geometry in enumerate(values):
        if geometry is None or shapely.is_empty(geometry):
            empty[i] = True
            continue
        coordinates = shapely.get_coordinates(geometry)
        if not np.isfinite(coordinates).all():
            unusable[i] = True
            continue
        if not shapely.is_valid(geometry):
            geometry = shapely.make_valid(geometry)
            repaired[i] = True
        polygons = _polygons_of(geometry)
        if not polygons:
            unusable[i] = True
            continue
        multi = shapely.MultiPolygon(polygons)
        if not shapely.is_valid(multi):  # touching parts of a repaired shape
            multi = shapely.MultiPolygon(
                _polygons_of(shapely.make_valid(shapely.union_all(polygons)))
            )
        if multi.is_empty or multi.area <= 0:
            unusable[i] = True
            continue
        out[i] = multi
    return out, empty, unusable, repaired


def _polygons_of(geometry) -> list:
    import shapely  # imported here: see the module imports

    kind = shapely.get_type_id(geometry)
    if kind == shapely.GeometryType.POLYGON:
        return [] if geometry.is_empty or geometry.area <= 0 else [geometry]
    if kind in (shapely.GeometryType.MULTIPOLYGON, shapely.GeometryType.GEOMETRYCOLLECTION):
        return [p for part in shapely.get_parts(geometry) for p in _polygons_of(part)]
    return []


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


def _to_tiger_crs(path: Path, frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    if frame.crs is None:
        # TIGER files without a .prj are NAD83 geographic.
        return frame.set_crs(TIGER_CRS)
    if frame.crs.to_epsg() == 4269:
        return frame
    from pyproj.exceptions import CRSError, ProjError

    try:
        return frame.to_crs(TIGER_CRS)
    except (CRSError, ProjError) as exc:
        raise SourceFormatError(
            path, f"cannot reproject from {frame.crs} to {TIGER_CRS}: {exc}"
        ) from exc
