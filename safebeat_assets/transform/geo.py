"""The geography dimension (dim_geo) built from TIGER block groups, and the enrichment of
cleaned calls with block-group centroids.

APD calls carry no coordinates: their only location is the Geo ID (a 2020 block group), so the
centroid used everywhere downstream is the Census internal point (INTPTLAT/INTPTLON) of that
block group. The pipeline we replace loaded Travis only and capped its match rate at 92.7 %; the table here
covers every county the reader was given (default Travis, Hays, Williamson).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from safebeat_assets.errors import DataError
from safebeat_assets.sources.columns import BLOCK_GROUP_REQUIRED_COLUMNS, SourceSchemaError
from safebeat_assets.sources.tiger_block_groups import inside_state_extent
from safebeat_assets.transform.calls import LATITUDE, LONGITUDE
from safebeat_assets.transform.point_in_polygon import (
    BlockGroupBoundaries,
    ValidityBox,
    assign_block_groups,
)

if TYPE_CHECKING:
    import geopandas as gpd

# TIGER block groups carry no county names: those of the built-in cities' counties (5-digit
# FIPS); another county's name is NULL in dim_geo.
COUNTY_NAMES: dict[str, str] = {
    "48453": "Travis",
    "48209": "Hays",
    "48491": "Williamson",
    "48021": "Bastrop",
    "42091": "Montgomery",
    "53033": "King",
}
WAREHOUSE_CRS = "EPSG:4326"
TIGER_CRS = "EPSG:4269"

DIM_GEO_COLUMNS: tuple[str, ...] = (
    "geo_id",
    "state_fp",
    "county_fp",
    "county_name",
    "tract_ce",
    "block_group_ce",
    "name",
    "latitude_centroid",
    "longitude_centroid",
    "area_sq_km",
    "water_sq_km",
    "boundary_wkt",
)
ENRICHMENT_COLUMNS: tuple[str, ...] = (
    "latitude_centroid",
    "longitude_centroid",
    "area_sq_km",
    "county_fp",
    "geo_matched",
    "dim_geo_id",
)
TOP_UNMATCHED = 10


def build_geo_table(block_groups: gpd.GeoDataFrame) -> pd.DataFrame:
    """raw_block_groups -> dim_geo (contract columns), one row per GEOID, sorted by geo_id.

    Raises DataError on duplicate GEOIDs (the warehouse PK: two files of different vintages)
    or internal points that are not numbers (the reader rejects such features); softer checks
    (coordinates outside Texas, zero land area: water-only block groups exist) are counted by
    `geo_table_checks` for the asset checks.
    """
    missing = set(BLOCK_GROUP_REQUIRED_COLUMNS) - set(block_groups.columns)
    if missing:
        raise SourceSchemaError("raw_block_groups frame", missing=missing)
    geo_id = block_groups["GEOID"].astype("string").str.strip()
    duplicated = geo_id[geo_id.duplicated()].unique()
    if len(duplicated):
        raise DataError(
            f"block groups: {len(duplicated)} GEOIDs appear more than once, e.g. "
            f"{sorted(duplicated)[:5]}; load one TIGER vintage at a time"
        )
    latitude = pd.to_numeric(block_groups["INTPTLAT"], errors="coerce")
    longitude = pd.to_numeric(block_groups["INTPTLON"], errors="coerce")
    bad_point = latitude.isna() | longitude.isna()
    if bad_point.any():
        raise DataError(
            f"block groups: INTPTLAT/INTPTLON not numeric for GEOIDs {sorted(geo_id[bad_point])[:5]}"
        )

    county_fp = block_groups["COUNTYFP"].astype("string").str.zfill(3)
    state_fp = _text(block_groups, "STATEFP", geo_id.str.slice(0, 2))
    table = pd.DataFrame(
        {
            "geo_id": geo_id.astype(object),
            "state_fp": state_fp,
            "county_fp": county_fp.astype(object),
            "county_name": _none_for_na((state_fp.astype("string") + county_fp).map(COUNTY_NAMES)),
            "tract_ce": _text(block_groups, "TRACTCE", geo_id.str.slice(5, 11)),
            "block_group_ce": _text(block_groups, "BLKGRPCE", geo_id.str.slice(11, 12)),
            "name": _text(block_groups, "NAMELSAD", None),
            "latitude_centroid": latitude.astype("float64"),
            "longitude_centroid": longitude.astype("float64"),
            "area_sq_km": pd.to_numeric(block_groups["ALAND"]).astype("float64") / 1e6,
            "water_sq_km": _water_sq_km(block_groups),
            "boundary_wkt": _boundary_wkt(block_groups),
        }
    )
    return table.sort_values("geo_id").reset_index(drop=True)[list(DIM_GEO_COLUMNS)]


def _none_for_na(values: pd.Series) -> pd.Series:
    return values.astype(object).where(values.notna(), None)


def _text(frame: pd.DataFrame, column: str, default: pd.Series | None) -> pd.Series:
    if column in frame.columns:
        values = frame[column].astype("string")
    elif default is not None:
        values = default
    else:
        values = pd.Series(pd.NA, index=frame.index, dtype="string")
    return _none_for_na(values)


def _water_sq_km(frame: pd.DataFrame) -> pd.Series:
    if "AWATER" not in frame.columns:
        return pd.Series(np.nan, index=frame.index, dtype="float64")
    return pd.to_numeric(frame["AWATER"], errors="coerce").astype("float64") / 1e6


def _boundary_wkt(block_groups: gpd.GeoDataFrame) -> pd.Series:
    """Polygons as WKT in EPSG:4326 (the warehouse SRID); NAD83 -> WGS84 moves < 2 m here."""
    # imported here: the Dagster definitions import this module, and shapely (with geopandas)
    # costs ~0.2 s at start-up; the frame given is already a GeoDataFrame.
    import shapely

    geometry = block_groups.geometry
    if geometry.crs is None:
        geometry = geometry.set_crs(TIGER_CRS)
    geometry = geometry.to_crs(WAREHOUSE_CRS)
    wkt = shapely.to_wkt(geometry.to_numpy(), rounding_precision=7, trim=True)
    return pd.Series(wkt, index=block_groups.index, dtype=object)


def geo_table_checks(geo_table: pd.DataFrame) -> dict[str, int]:
    """Counts of dim_geo rows failing the block-group plausibility checks (duplicate ids,
    internal points outside their state, non-positive land area)."""
    lat, lon = geo_table["latitude_centroid"], geo_table["longitude_centroid"]
    return {
        "rows": len(geo_table),
        "duplicate_geo_ids": int(geo_table["geo_id"].duplicated().sum()),
        "internal_point_outside_state": int(
            (~inside_state_extent(geo_table["state_fp"].to_numpy(dtype=object), lat, lon)).sum()
        ),
        "non_positive_area": int((~(geo_table["area_sq_km"] > 0)).sum()),
        "missing_boundary": int(geo_table["boundary_wkt"].isna().sum()),
    }


@dataclass
class EnrichedCalls:
    calls: pd.DataFrame
    stats: dict = field(default_factory=dict)


def enrich_calls(
    cleaned: pd.DataFrame, geo_table: pd.DataFrame, box: ValidityBox | None = None
) -> EnrichedCalls:
    """cleaned_911_calls + block-group centroid, land area, county and the warehouse FK.

    A call's block group is its delivered Geo ID; a call without one that the feed located by
    coordinates (cleaned latitude/longitude, when any call has them and a validity `box` is
    given) gets the block group its point falls in (`point_in_polygon`), and the four location
    statuses of those calls are counted (`location_<status>`). Unmatched calls (missing/invalid
    id, an id outside dim_geo, a point outside the box or every polygon) keep their row with NaN
    coordinates and `dim_geo_id` None; the match rate, over every call whatever located it, and
    the most frequent unmatched ids are published in `stats`.
    """
    for frame, name, needed in (
        (cleaned, "cleaned_911_calls", ("geo_id",)),
        (geo_table, "dim_geo", ("geo_id", "latitude_centroid", "longitude_centroid", "area_sq_km")),
    ):
        missing = set(needed) - set(frame.columns)
        if missing:
            raise SourceSchemaError(f"{name} frame", missing=missing)
    lookup = pd.Index(geo_table["geo_id"])
    if not lookup.is_unique:
        raise ValueError("dim_geo has duplicate geo_id values; enrichment would be ambiguous")

    geo_id, location_stats = _located_ids(cleaned, geo_table, box)
    # Distinct ids (~700) are looked up once, then mapped back through the factorize codes.
    codes, distinct = pd.factorize(geo_id, use_na_sentinel=True)
    position = np.append(lookup.get_indexer(distinct), -1)[codes]
    matched = position >= 0

    def column(name: str) -> np.ndarray:
        values = np.append(geo_table[name].to_numpy(dtype="float64"), np.nan)
        return values[position]  # position -1 picks the appended NaN

    county = np.append(
        pd.Series(distinct, dtype=object).str.slice(2, 5).to_numpy(dtype=object), None
    )
    added = {
        "latitude_centroid": column("latitude_centroid"),
        "longitude_centroid": column("longitude_centroid"),
        "area_sq_km": column("area_sq_km"),
        "county_fp": county[codes],
        "geo_matched": matched,
        "dim_geo_id": np.where(matched, geo_id.to_numpy(dtype=object), None),
    }
    kept = [cleaned[c] for c in cleaned.columns if c not in added]  # re-enrichment replaces
    new = [pd.Series(v, index=cleaned.index, name=k) for k, v in added.items()]
    # A concat of Series neither copies nor consolidates; `assign` (or a DataFrame concat)
    # would copy all ~40 cleaned columns of every call.
    enriched = pd.concat(kept + new, axis=1, copy=False)
    return EnrichedCalls(enriched, {**_match_stats(cleaned, matched), **location_stats})


def _located_ids(
    cleaned: pd.DataFrame, geo_table: pd.DataFrame, box: ValidityBox | None
) -> tuple[pd.Series, dict[str, int]]:
    """Each call's block-group id: the delivered Geo ID, else (for a feed located by
    coordinates) the one its point falls in; plus the point statuses' counts."""
    geo_id = cleaned["geo_id"]
    if box is None or LATITUDE not in cleaned.columns or LONGITUDE not in cleaned.columns:
        return geo_id, {}
    latitude = cleaned[LATITUDE].to_numpy(dtype="float64", na_value=np.nan)
    longitude = cleaned[LONGITUDE].to_numpy(dtype="float64", na_value=np.nan)
    if not (np.isfinite(latitude) | np.isfinite(longitude)).any():
        return geo_id, {}  # located by Geo ID (Austin): no point to place
    rows = np.flatnonzero(geo_id.isna().to_numpy())
    boundaries = BlockGroupBoundaries.from_wkt(geo_table["geo_id"], geo_table["boundary_wkt"])
    assigned = assign_block_groups(latitude[rows], longitude[rows], boundaries, box)
    ids = geo_id.to_numpy(dtype=object).copy()
    ids[rows] = assigned.geo_id
    counts = {f"location_{status}": count for status, count in assigned.counts().items()}
    return pd.Series(ids, index=cleaned.index, dtype=object), counts


def _match_stats(cleaned: pd.DataFrame, matched: np.ndarray) -> dict:
    rows = len(cleaned)
    geo_id = cleaned["geo_id"]
    has_id = geo_id.notna().to_numpy()
    unmatched_ids = geo_id[has_id & ~matched]
    counts = unmatched_ids.value_counts()
    # Deterministic top list: by count, then id.
    top = sorted(counts.items(), key=lambda item: (-item[1], item[0]))[:TOP_UNMATCHED]
    stats = {
        "rows": rows,
        "geo_matched": int(matched.sum()),
        "geo_unmatched": int(rows - matched.sum()),
        "geo_match_rate": float(matched.sum() / rows) if rows else 0.0,
        # Rows with no delivered id and no point placed in a block group.
        "geo_unmatched_without_id": int((~has_id & ~matched).sum()),
        "geo_unmatched_not_in_dim_geo": int(len(unmatched_ids)),
        "top_unmatched_geo_ids": [(str(i), int(n)) for i, n in top],
    }
    if "geo_id_status" in cleaned.columns:
        status = cleaned["geo_id_status"].value_counts()
        stats["geo_unmatched_missing_id"] = int(status.get("missing", 0))
        stats["geo_unmatched_invalid_id"] = int(status.get("invalid", 0))
    return stats
