"""Synthetic TIGER/Line 2020 block groups for Travis, Hays and Williamson counties (and, through
`CountySpec`, for any other county: the other cities' samples use it).

Each county is a box tiled without gaps or overlaps by the Voronoi cells of seeded points that
are denser where people live (downtown Austin, the suburbs). Block groups are grouped into
tracts along a Hilbert curve so that a tract's block groups are neighbours. Travis matches the
real counts: 766 block groups in 290 tracts (BLKGRPCE 1:290, 2:257, 3:158, 4:46, 5:14, 6:1).
"""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely.geometry import MultiPolygon, Polygon, box

from .sampling import STREAM_GEOGRAPHY, rng_for
from .vocabulary import BLOCK_GROUP_COLUMNS, DOWNTOWN

CRS = "EPSG:4269"
EQUAL_AREA_CRS = "EPSG:5070"
STATE_FP = "48"

TRAVIS_BBOX: tuple[float, float, float, float] = (-98.172977, 30.023451, -97.369539, 30.628249)
HAYS_BBOX: tuple[float, float, float, float] = (-98.200000, 29.760000, -97.620000, 30.023451)
WILLIAMSON_BBOX: tuple[float, float, float, float] = (-98.050000, 30.628249, -97.280000, 30.910000)

# Tract sizes (number of block groups -> number of tracts) giving the real Travis BLKGRPCE counts.
TRAVIS_TRACT_SIZES: dict[int, int] = {1: 33, 2: 99, 3: 112, 4: 32, 5: 13, 6: 1}
REQUIRED_TRAVIS_GEOIDS: tuple[str, ...] = ("484530412002", "484530440002", "484530412001")
_REQUIRED_TRACTS: tuple[int, ...] = (412, 440)  # tract bases (041200, 044000) needing >= 2 BGs


@dataclass(frozen=True)
class CountySpec:
    county_fp: str
    name: str
    bbox: tuple[float, float, float, float]
    n_block_groups: int
    # population centres: (lat, lon, sd_km, weight); the remaining weight is uniform
    centres: tuple[tuple[float, float, float, float], ...]
    uniform_weight: float
    land_km2: float
    water_km2: float
    tract_base_start: int
    state_fp: str = STATE_FP
    # tract numbers grow outwards from here
    downtown: tuple[float, float] = DOWNTOWN


COUNTIES: tuple[CountySpec, ...] = (
    CountySpec(
        county_fp="453",
        name="Travis",
        bbox=TRAVIS_BBOX,
        n_block_groups=766,
        centres=(
            (DOWNTOWN[0], DOWNTOWN[1], 2.5, 0.20),
            (30.330, -97.720, 5.0, 0.18),
            (30.410, -97.700, 6.0, 0.13),
            (30.205, -97.780, 6.0, 0.16),
            (30.280, -97.670, 5.0, 0.08),
            (30.450, -97.620, 4.5, 0.05),
            (30.360, -97.970, 4.5, 0.04),
        ),
        uniform_weight=0.16,
        land_km2=2575.2,
        water_km2=79.6,
        tract_base_start=1,
    ),
    CountySpec(
        county_fp="209",
        name="Hays",
        bbox=HAYS_BBOX,
        n_block_groups=150,
        centres=(
            (29.990, -97.875, 5.0, 0.30),
            (29.880, -97.940, 5.0, 0.33),
            (30.000, -98.090, 5.0, 0.10),
        ),
        uniform_weight=0.27,
        land_km2=1751.1,
        water_km2=12.4,
        tract_base_start=101,
    ),
    CountySpec(
        county_fp="491",
        name="Williamson",
        bbox=WILLIAMSON_BBOX,
        n_block_groups=300,
        centres=(
            (30.660, -97.680, 5.0, 0.30),
            (30.665, -97.820, 5.0, 0.25),
            (30.780, -97.700, 5.0, 0.18),
            (30.700, -97.540, 4.0, 0.08),
        ),
        uniform_weight=0.19,
        land_km2=2910.4,
        water_km2=40.9,
        tract_base_start=201,
    ),
)
COUNTY_NAMES: dict[str, str] = {c.county_fp: c.name for c in COUNTIES}

KM_PER_DEG_LAT = 110.95


def km_per_deg_lon(lat: float | np.ndarray) -> float | np.ndarray:
    return 111.32 * np.cos(np.radians(lat))


def _seed_points(rng: np.random.Generator, spec: CountySpec) -> np.ndarray:
    """n distinct (lon, lat) points inside the county box, denser around its centres."""
    w, s, e, n = spec.bbox
    weights = np.array([c[3] for c in spec.centres] + [spec.uniform_weight])
    weights = weights / weights.sum()
    draw = spec.n_block_groups * 6
    comp = rng.choice(weights.shape[0], size=draw, p=weights)
    lat = np.empty(draw)
    lon = np.empty(draw)
    uni = comp == len(spec.centres)
    lat[uni] = rng.uniform(s, n, uni.sum())
    lon[uni] = rng.uniform(w, e, uni.sum())
    for i, (clat, clon, sd_km, _) in enumerate(spec.centres):
        m = comp == i
        lat[m] = clat + rng.normal(0, sd_km / KM_PER_DEG_LAT, m.sum())
        lon[m] = clon + rng.normal(0, sd_km / km_per_deg_lon(clat), m.sum())
    # keep points safely inside the box and at least ~200 m apart (grid de-duplication)
    margin = 0.002
    inside = (lon > w + margin) & (lon < e - margin) & (lat > s + margin) & (lat < n - margin)
    lon, lat = lon[inside], lat[inside]
    cells = np.stack([np.round(lon / 0.002), np.round(lat / 0.002)], axis=1)
    _, first = np.unique(cells, axis=0, return_index=True)
    keep = np.sort(first)[: spec.n_block_groups]
    if keep.shape[0] < spec.n_block_groups:  # pragma: no cover - only with absurd specs
        raise RuntimeError(f"could not place {spec.n_block_groups} points in {spec.name}")
    return np.stack([lon[keep], lat[keep]], axis=1)


def _hilbert_index(x: np.ndarray, y: np.ndarray, order: int = 16) -> np.ndarray:
    """Hilbert-curve distance of integer grid coordinates in [0, 2**order)."""
    n = 1 << order
    x = x.astype(np.int64).copy()
    y = y.astype(np.int64).copy()
    d = np.zeros(x.shape[0], dtype=np.int64)
    s = n >> 1
    while s > 0:
        rx = ((x & s) > 0).astype(np.int64)
        ry = ((y & s) > 0).astype(np.int64)
        d += s * s * ((3 * rx) ^ ry)
        flip = (ry == 0) & (rx == 1)
        x = np.where(flip, n - 1 - x, x)
        y = np.where(flip, n - 1 - y, y)
        swap = ry == 0
        x, y = np.where(swap, y, x), np.where(swap, x, y)
        s >>= 1
    return d


def _hilbert_order(points: np.ndarray, bbox: tuple[float, float, float, float]) -> np.ndarray:
    w, s, e, n = bbox
    scale = (1 << 16) - 1
    gx = np.clip((points[:, 0] - w) / (e - w), 0, 1) * scale
    gy = np.clip((points[:, 1] - s) / (n - s), 0, 1) * scale
    return np.argsort(_hilbert_index(gx, gy), kind="stable")


def _as_multipolygon(geom) -> MultiPolygon:
    if isinstance(geom, MultiPolygon):
        return geom
    if isinstance(geom, Polygon):
        return MultiPolygon([geom])
    parts = [p for p in shapely.get_parts(geom) if isinstance(p, Polygon) and not p.is_empty]
    return MultiPolygon(parts)


def _tile(points: np.ndarray, bbox: tuple[float, float, float, float]) -> np.ndarray:
    """Voronoi cells of the points clipped to the box, snapped to a 1e-6 degree grid."""
    frame = box(*bbox)
    cells = shapely.voronoi_polygons(shapely.MultiPoint(points), extend_to=frame, ordered=True)
    parts = shapely.get_parts(cells)
    clipped = shapely.intersection(parts, frame)
    snapped = shapely.set_precision(clipped, grid_size=1e-6)
    # exact 6-decimal doubles, so that the GeoJSON text carries at most 6 decimals
    rounded = shapely.transform(snapped, lambda c: np.round(c, 6))
    return np.array([_as_multipolygon(g) for g in rounded], dtype=object)


def _tract_sizes(rng: np.random.Generator, spec: CountySpec) -> np.ndarray:
    if _is_travis(spec):
        sizes = np.repeat(list(TRAVIS_TRACT_SIZES), list(TRAVIS_TRACT_SIZES.values()))
    else:
        probs = np.array([33, 99, 112, 32, 13, 1], dtype=float)
        draws = rng.choice(np.arange(1, 7), size=spec.n_block_groups, p=probs / probs.sum())
        cum = np.cumsum(draws)
        k = int(np.searchsorted(cum, spec.n_block_groups))
        sizes = draws[: k + 1].copy()
        sizes[-1] -= cum[k] - spec.n_block_groups
        sizes = sizes[sizes > 0]
    return rng.permutation(sizes)


def _travis_tract_codes(rng: np.random.Generator, n_tracts: int) -> list[str]:
    """Sorted 6-digit tract codes like real Travis ones (000204, 001100, 041200, ...)."""
    n_split = 35
    n_bases = n_tracts - n_split
    pool = np.setdiff1d(np.arange(1, 471), np.array(_REQUIRED_TRACTS))
    bases = np.sort(
        np.concatenate([rng.choice(pool, size=n_bases - 2, replace=False), _REQUIRED_TRACTS])
    )
    split = set(rng.choice(np.setdiff1d(bases, _REQUIRED_TRACTS), size=n_split, replace=False))
    codes: list[str] = []
    for b in bases.tolist():
        if b in split:
            first = int(rng.choice([1, 3, 5]))
            codes += [f"{b:04d}{first:02d}", f"{b:04d}{first + 1:02d}"]
        elif b in _REQUIRED_TRACTS or rng.random() < 0.85:
            codes.append(f"{b:04d}00")
        else:
            codes.append(f"{b:04d}{int(rng.integers(1, 10)):02d}")
    return codes


def _other_tract_codes(spec: CountySpec, n_tracts: int) -> list[str]:
    per_base = 8
    return [
        f"{spec.tract_base_start + k // per_base:04d}{k % per_base + 1:02d}"
        for k in range(n_tracts)
    ]


def _format_lat(lat: np.ndarray) -> np.ndarray:
    return np.array([f"{v:+011.7f}" for v in lat], dtype=object)


def _format_lon(lon: np.ndarray) -> np.ndarray:
    return np.array([f"{v:+012.7f}" for v in lon], dtype=object)


def _county_block_groups(seed: int, spec: CountySpec, index: int) -> gpd.GeoDataFrame:
    rng = rng_for(seed, STREAM_GEOGRAPHY, index)
    points = _seed_points(rng, spec)
    geoms = _tile(points, spec.bbox)

    # --- tracts: consecutive runs along the Hilbert curve -------------------------------------
    order = _hilbert_order(points, spec.bbox)
    sizes = _tract_sizes(rng, spec)
    tract_of_rank = np.repeat(np.arange(sizes.shape[0]), sizes)
    tract = np.empty(points.shape[0], dtype=np.int64)
    tract[order] = tract_of_rank
    rank = np.empty(points.shape[0], dtype=np.int64)
    rank[order] = np.arange(points.shape[0])
    n_tracts = sizes.shape[0]

    # tract numbers grow outwards from downtown (ring of 3 km, then angle), as in Travis
    cx = np.bincount(tract, weights=points[:, 0], minlength=n_tracts) / sizes_by(tract, n_tracts)
    cy = np.bincount(tract, weights=points[:, 1], minlength=n_tracts) / sizes_by(tract, n_tracts)
    dx = (cx - spec.downtown[1]) * km_per_deg_lon(spec.downtown[0])
    dy = (cy - spec.downtown[0]) * KM_PER_DEG_LAT
    ring = np.floor(np.hypot(dx, dy) / 3.0)
    angle = np.arctan2(dy, dx)
    tract_rank = np.lexsort((angle, ring))  # tract ids in numbering order
    if _is_travis(spec):
        codes = _travis_tract_codes(rng, n_tracts)
    else:
        codes = _other_tract_codes(spec, n_tracts)
    code_of_tract = np.empty(n_tracts, dtype=object)
    code_of_tract[tract_rank] = codes
    tract_size = np.bincount(tract, minlength=n_tracts)
    if _is_travis(spec):
        for base in _REQUIRED_TRACTS:
            _ensure_multi_bg(code_of_tract, tract_size, tract_rank, f"{base:04d}00")

    # block group number inside its tract, in Hilbert order
    by_tract = np.lexsort((rank, tract))
    first_of_tract = np.concatenate([[0], np.cumsum(tract_size)[:-1]])
    bg_num = np.empty(points.shape[0], dtype=np.int64)
    bg_num[by_tract] = np.arange(points.shape[0]) - first_of_tract[tract[by_tract]] + 1

    tractce = code_of_tract[tract].astype(str)
    blkgrpce = bg_num.astype(str)
    geoid = np.char.add(np.char.add(spec.state_fp + spec.county_fp, tractce), blkgrpce)

    # --- areas and internal points -------------------------------------------------------------
    gs = gpd.GeoSeries(geoms, crs=CRS)
    area = gs.to_crs(EQUAL_AREA_CRS).area.to_numpy()
    scale = (spec.land_km2 + spec.water_km2) * 1e6 / area.sum()
    water_frac = np.where(rng.random(area.shape[0]) < 0.3, rng.beta(0.6, 12, area.shape[0]), 0.0)
    k = spec.water_km2 * 1e6 / max((area * scale * water_frac).sum(), 1.0)
    water_frac = np.minimum(water_frac * k, 0.9)
    awater = np.round(area * scale * water_frac).astype(np.int64)
    aland = np.round(area * scale).astype(np.int64) - awater
    reps = shapely.point_on_surface(geoms)
    rep_xy = shapely.get_coordinates(reps)

    frame = pd.DataFrame(
        {
            "STATEFP": spec.state_fp,
            "COUNTYFP": spec.county_fp,
            "TRACTCE": tractce.astype(object),
            "BLKGRPCE": blkgrpce.astype(object),
            "GEOID": geoid.astype(object),
            "NAMELSAD": np.char.add("Block Group ", blkgrpce).astype(object),
            "MTFCC": "G5030",
            "FUNCSTAT": "S",
            "ALAND": aland,
            "AWATER": awater,
            "INTPTLAT": _format_lat(rep_xy[:, 1]),
            "INTPTLON": _format_lon(rep_xy[:, 0]),
        }
    )
    return gpd.GeoDataFrame(frame, geometry=list(geoms), crs=CRS)


def _is_travis(spec: CountySpec) -> bool:
    return (spec.state_fp, spec.county_fp) == ("48", "453")


def sizes_by(tract: np.ndarray, n_tracts: int) -> np.ndarray:
    return np.maximum(np.bincount(tract, minlength=n_tracts), 1)


def _ensure_multi_bg(
    code_of_tract: np.ndarray, tract_size: np.ndarray, tract_rank: np.ndarray, code: str
) -> None:
    """Move ``code`` to the nearest-numbered tract with at least 2 block groups if needed."""
    (holder,) = np.nonzero(code_of_tract == code)[0]
    if tract_size[holder] >= 2:
        return
    position = {int(t): i for i, t in enumerate(tract_rank)}
    pos = position[int(holder)]
    candidates = [int(t) for t in tract_rank if tract_size[t] >= 2]
    other = min(candidates, key=lambda t: (abs(position[t] - pos), position[t]))
    code_of_tract[holder], code_of_tract[other] = code_of_tract[other], code_of_tract[holder]


def generate_block_groups(
    seed: int = 42, counties: tuple[CountySpec, ...] = COUNTIES
) -> gpd.GeoDataFrame:
    """Block groups of `counties` (default Travis 766, Hays ~150, Williamson ~300), sorted by
    GEOID.

    Columns: the TIGER attributes in file order (``vocabulary.BLOCK_GROUP_COLUMNS``) and a
    MultiPolygon ``geometry``, CRS EPSG:4269.
    """
    frames = [_county_block_groups(seed, spec, i) for i, spec in enumerate(counties)]
    gdf = pd.concat(frames, ignore_index=True)
    gdf = gdf.sort_values("GEOID", kind="stable").reset_index(drop=True)
    gdf = gpd.GeoDataFrame(gdf[[*BLOCK_GROUP_COLUMNS, "geometry"]], geometry="geometry", crs=CRS)
    return gdf


def internal_points(block_groups: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """(lat, lon) float arrays parsed from INTPTLAT / INTPTLON."""
    lat = pd.to_numeric(block_groups["INTPTLAT"], errors="coerce").to_numpy(dtype=float)
    lon = pd.to_numeric(block_groups["INTPTLON"], errors="coerce").to_numpy(dtype=float)
    return lat, lon


def haversine_km(lat1, lon1, lat2, lon2) -> np.ndarray:
    lat1, lon1, lat2, lon2 = (
        np.radians(np.asarray(v, dtype=float)) for v in (lat1, lon1, lat2, lon2)
    )
    a = (
        np.sin((lat2 - lat1) / 2) ** 2
        + np.cos(lat1) * np.cos(lat2) * np.sin((lon2 - lon1) / 2) ** 2
    )
    return 2 * 6371.0 * np.arcsin(np.sqrt(np.clip(a, 0, 1)))
