"""Block groups for calls located by coordinates instead of a block-group id: a vectorised
point-in-polygon join against dim_geo's boundaries.

Austin's export names each call's block group; other cities publish latitude/longitude (or
text only). Those calls are assigned here with one STRtree query for all points, not a Python
loop over calls. Every call ends with one status, so nothing is lost silently:

- `matched`: inside (or on the boundary of) a block group;
- `missing_coordinates`: no latitude or longitude, or not a number;
- `outside_box`: outside the city's validity box (a geocoder's 0/0, a point in another state);
- `outside_polygons`: inside the box but in no block group (outside the counties loaded,
  in a polygon's hole).

A point on an edge or vertex shared by several block groups touches all of them; it is
assigned to the smallest GEOID among them, so the result never depends on the order of the
polygons. Coordinates are taken in the polygons' coordinate system (dim_geo's boundaries are
WGS84; NAD83 and WGS84 differ by about a metre in the United States).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

MATCHED = "matched"
MISSING_COORDINATES = "missing_coordinates"
OUTSIDE_BOX = "outside_box"
OUTSIDE_POLYGONS = "outside_polygons"
LOCATION_STATUSES: tuple[str, ...] = (MATCHED, MISSING_COORDINATES, OUTSIDE_BOX, OUTSIDE_POLYGONS)


@dataclass(frozen=True)
class ValidityBox:
    """The rectangle (inclusive, degrees) a city's coordinates must fall in to be trusted."""

    min_latitude: float
    max_latitude: float
    min_longitude: float
    max_longitude: float

    def __post_init__(self) -> None:
        if not -90 <= self.min_latitude < self.max_latitude <= 90:
            raise ValueError(
                f"validity box latitudes must satisfy -90 <= min < max <= 90, got "
                f"{self.min_latitude}..{self.max_latitude}"
            )
        if not -180 <= self.min_longitude < self.max_longitude <= 180:
            raise ValueError(
                f"validity box longitudes must satisfy -180 <= min < max <= 180, got "
                f"{self.min_longitude}..{self.max_longitude}"
            )

    def contains(self, latitude: np.ndarray, longitude: np.ndarray) -> np.ndarray:
        """True where the point lies in the box; NaN coordinates are never inside."""
        with np.errstate(invalid="ignore"):
            return (
                (latitude >= self.min_latitude)
                & (latitude <= self.max_latitude)
                & (longitude >= self.min_longitude)
                & (longitude <= self.max_longitude)
            )


class BlockGroupBoundaries:
    """dim_geo's polygons in GEOID order, with the spatial index the join queries."""

    def __init__(self, geo_ids: Sequence[str], geometries: Sequence[object]):
        import shapely  # imported where used: see docs/performance.md, "Start-up"

        ids = np.asarray(geo_ids, dtype=object)
        shapes = np.asarray(geometries, dtype=object)
        if len(ids) != len(shapes):
            raise ValueError(f"{len(ids)} GEOIDs for {len(shapes)} boundaries")
        if pd.isna(pd.Series(ids, dtype=object)).any():
            raise ValueError("a block-group boundary has no GEOID")
        if len(set(ids)) != len(ids):
            raise ValueError("block-group boundaries repeat a GEOID; assignment would be ambiguous")
        missing = shapely.is_missing(shapes) | shapely.is_empty(shapes)
        if missing.any():
            raise ValueError(f"block group(s) without a boundary: {sorted(ids[missing])[:5]}")
        order = np.argsort(ids.astype(str), kind="stable")
        self.geo_ids = ids[order]
        self.geometries = shapes[order]
        self.tree = shapely.STRtree(self.geometries)

    @classmethod
    def from_wkt(cls, geo_ids: Sequence[str], wkt: Sequence[str | None]) -> BlockGroupBoundaries:
        """From dim_geo's `geo_id` and `boundary_wkt` columns."""
        import shapely

        return cls(geo_ids, shapely.from_wkt(np.asarray(wkt, dtype=object), on_invalid="raise"))

    def __len__(self) -> int:
        return len(self.geo_ids)


@dataclass(frozen=True)
class PointAssignment:
    """Per call: its block group (None unless matched) and its location status."""

    geo_id: np.ndarray  # object: GEOID text or None
    status: np.ndarray  # object: one of LOCATION_STATUSES

    def counts(self) -> dict[str, int]:
        """Calls per status, every status present (0 when none)."""
        found = pd.Series(self.status, dtype=object).value_counts()
        return {status: int(found.get(status, 0)) for status in LOCATION_STATUSES}

    @property
    def match_rate(self) -> float:
        """Share of calls assigned to a block group (0.0 for no calls)."""
        return float(np.mean(self.status == MATCHED)) if len(self.status) else 0.0


def assign_block_groups(
    latitude: Sequence[float] | np.ndarray | pd.Series,
    longitude: Sequence[float] | np.ndarray | pd.Series,
    boundaries: BlockGroupBoundaries,
    box: ValidityBox,
) -> PointAssignment:
    """The block group of each point (see the module's docstring for the statuses)."""
    import shapely

    lat = pd.to_numeric(pd.Series(latitude), errors="coerce").to_numpy(dtype="float64")
    lon = pd.to_numeric(pd.Series(longitude), errors="coerce").to_numpy(dtype="float64")
    if len(lat) != len(lon):
        raise ValueError(f"{len(lat)} latitudes for {len(lon)} longitudes")
    located = np.isfinite(lat) & np.isfinite(lon)
    in_box = located & box.contains(lat, lon)
    status = np.full(len(lat), OUTSIDE_POLYGONS, dtype=object)
    status[~located] = MISSING_COORDINATES
    status[located & ~in_box] = OUTSIDE_BOX

    candidates = np.flatnonzero(in_box)
    points = shapely.points(lon[candidates], lat[candidates])
    # "intersects" includes the boundary: a point on an edge is inside, not lost between two
    # block groups.
    point_at, polygon_at = boundaries.tree.query(points, predicate="intersects")
    # Polygons are in GEOID order, so the lowest position among a point's hits is its smallest
    # GEOID.
    best = np.full(len(candidates), len(boundaries), dtype=np.int64)
    np.minimum.at(best, point_at, polygon_at)
    hit = best < len(boundaries)

    geo_id = np.full(len(lat), None, dtype=object)
    geo_id[candidates[hit]] = boundaries.geo_ids[best[hit]]
    status[candidates[hit]] = MATCHED
    return PointAssignment(geo_id=geo_id, status=status)
