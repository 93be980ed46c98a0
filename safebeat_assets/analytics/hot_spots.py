"""Getis-Ord Gi* hot and cold spots of 911 calls per census block group.

One map per (time window, call category): every block group of dim_geo with its call count
(zero where it has none), its Gi* z-score, the two-sided p-value and a significance class. The
maps are what ArcGIS "Hot Spot Analysis" computes with contiguity (edges and corners) and no
false-discovery-rate correction, and what `esda.G_Local(y, w, transform="B", star=True,
permutations=0)` computes; a test checks the second equality.

**Weights.** Queen contiguity, built once and reused by every map: two block groups are
neighbours when their polygons (dim_geo `boundary_wkt`, EPSG:4326) have at least one point in
common (a shapely STRtree queried with predicate `intersects`: libpysal's
`Graph.build_fuzzy_contiguity` without buffer, tested equal). On a clean
coverage this is exactly Queen contiguity; unlike vertex matching (libpysal's default) it also
finds borders where one polygon's vertex lies on the other's edge (126 of 7,162 shared borders
of the generated sample) and tolerates the sliver overlaps that rounding the WKT to 7 decimals
can leave.

**Islands.** A block group without a contiguous neighbour (an island, or no usable polygon) is
linked to its nearest block group by internal point (distance in km, equirectangular at the
mean latitude), in both directions, as `libpysal.weights.attach_islands` does with k = 1
nearest-neighbour weights: only islands get such links, everything else is pure contiguity.
Ties go to the lowest geo_id, so the result is deterministic.

**Binary weights.** Each neighbour and the block group itself weigh 1 (Gi*: the focal value is
in its own sum), as ArcGIS does. esda's normal-approximation moments are exact for binary
weights; with row-standardised weights ('R', its default) its variance formula still treats the
row as binary, and the true Gi* z-score is unchanged by scaling a row anyway. So binary weights
give the textbook z-score (Getis & Ord 1992; Ord & Getis 1995):

    z_i = (sum_j w_ij x_j - x_bar W_i) / (S sqrt((n W_i - W_i^2) / (n - 1))),  W_i = sum_j w_ij

with x_bar and S the mean and population standard deviation of the n counts. A map whose counts
are all equal has no spatial pattern: every z is 0.

**Inference.** p-values come from the normal approximation, two-sided: p = 2 (1 - Phi(|z|)). No
permutations: the maps are deterministic and cheap (one sparse product for all of them). Classes
at 90/95/99 % confidence use the two-sided critical values |z| >= 1.645 / 1.960 / 2.576 (so
p < 0.10 / 0.05 / 0.01), hot for z > 0 and cold for z < 0. With no correction for testing ~1,000
block groups at once, about 10 % of them land in a 90 % class under pure chance.

**Windows and categories.** The time windows are fixed (`TIME_WINDOWS`): the whole day, four
6-hour bands of the local `response_hour`, and weekdays / weekends (all hours). Categories are
`final_problem_category`, plus `ALL_CALLS` for every call. A (window, category) combination with
fewer than `MIN_CALLS` located calls says nothing and is skipped; skipped combinations are listed
in the stats, never dropped silently. Calls without a block group of dim_geo are not placed on
any map and are counted.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ..domain import EARTH_RADIUS_KM

# scipy and shapely are imported in the functions that use them: importing them here cost
# ~0.5 s every time the Dagster definitions load (code server, sensors, each run).
if TYPE_CHECKING:
    import pyarrow as pa
    from scipy import sparse

ALL_CALLS = "All calls"
ALL_DAY = "All day"
UNKNOWN_CATEGORY = "Unknown"  # what cleaning puts in a blank category


@dataclass(frozen=True)
class TimeWindow:
    """Calls whose local response_hour is in `hours` and, unless `weekend` is None, that fall
    on a weekend (True) or a weekday (False)."""

    name: str
    hours: tuple[int, ...]
    weekend: bool | None = None


ALL_HOURS = tuple(range(24))
WINDOW_DEFINITIONS: tuple[TimeWindow, ...] = (
    TimeWindow(ALL_DAY, ALL_HOURS),
    TimeWindow("Night 00-06", tuple(range(0, 6))),
    TimeWindow("Morning 06-12", tuple(range(6, 12))),
    TimeWindow("Afternoon 12-18", tuple(range(12, 18))),
    TimeWindow("Evening 18-24", tuple(range(18, 24))),
    TimeWindow("Weekdays", ALL_HOURS, weekend=False),
    TimeWindow("Weekends", ALL_HOURS, weekend=True),
)
TIME_WINDOWS: tuple[str, ...] = tuple(window.name for window in WINDOW_DEFINITIONS)
HOURS = ALL_HOURS


def _hour_bands() -> tuple[int, ...]:
    """The first hours of the coarsest hour bands every window is a union of: hours in the same
    windows belong to the same band (0, 6, 12, 18 for the windows above)."""
    firsts: dict[tuple[bool, ...], int] = {}
    for hour in ALL_HOURS:
        firsts.setdefault(tuple(hour in w.hours for w in WINDOW_DEFINITIONS), hour)
    return tuple(sorted(firsts.values()))


# The aggregates count calls per band of hours, not per hour: enough for every window.
HOUR_BANDS: tuple[int, ...] = _hour_bands()

# A map needs at least this many located calls in its (window, category).
MIN_CALLS = 30

# Two-sided critical values of the standard normal, strictest first: |z| >= value <=> p < 1 - c.
Z_THRESHOLDS: tuple[tuple[int, float], ...] = ((99, 2.576), (95, 1.960), (90, 1.645))
CONFIDENCE_LEVELS: tuple[int, ...] = (99, 95, 90, 0)
NOT_SIGNIFICANT = "Not significant"
HOT_SPOT_CLASSES: tuple[str, ...] = (
    "Hot spot 99%",
    "Hot spot 95%",
    "Hot spot 90%",
    NOT_SIGNIFICANT,
    "Cold spot 90%",
    "Cold spot 95%",
    "Cold spot 99%",
)

HOT_SPOT_COLUMNS = [
    "time_window",
    "category",
    "geo_id",
    "calls",
    "gi_z",
    "p_value",
    "confidence",
    "hot_spot",
]
GEO_COLUMNS = ("geo_id", "boundary_wkt", "latitude_centroid", "longitude_centroid")
CALL_COLUMNS = ("geo_id", "final_problem_category", "response_hour", "is_weekend")


@dataclass(frozen=True)
class ContiguityWeights:
    """Binary, symmetric neighbour relation of the block groups (no self-links): Queen
    contiguity plus one nearest-neighbour link per island."""

    geo_ids: tuple[str, ...]  # row and column order: sorted geo_id
    matrix: sparse.csr_array  # n x n, 1.0 where two block groups are neighbours
    islands: tuple[str, ...]  # had no contiguous neighbour; linked to their nearest
    without_boundary: tuple[str, ...]  # no usable polygon (NULL, empty or unreadable WKT)

    @property
    def n(self) -> int:
        return len(self.geo_ids)

    @property
    def neighbours(self) -> np.ndarray:
        """Neighbours per block group (self not counted)."""
        return np.asarray(self.matrix.sum(axis=1)).ravel().astype("int64")

    @property
    def components(self) -> int:
        """Connected groups of block groups (e.g. counties that do not touch)."""
        if self.n == 0:
            return 0
        # imported here: see the module imports
        from scipy.sparse.csgraph import connected_components

        return int(connected_components(self.matrix, directed=False)[0])


@dataclass
class HotSpotResult:
    table: pd.DataFrame
    stats: dict = field(default_factory=dict)


def _require(frame: pd.DataFrame, columns: tuple[str, ...], what: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(f"{what} lacks the columns {missing}")


def _km_coordinates(geo: pd.DataFrame) -> np.ndarray:
    """Internal points in km on a plane (equirectangular at the mean latitude)."""
    lat = geo["latitude_centroid"].to_numpy(dtype="float64")
    lon = geo["longitude_centroid"].to_numpy(dtype="float64")
    km_per_degree = np.pi * EARTH_RADIUS_KM / 180.0
    x = lon * km_per_degree * np.cos(np.radians(lat.mean() if len(lat) else 0.0))
    return np.column_stack([x, lat * km_per_degree])


def _contiguity_edges(geometries: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(i, j) position pairs, i != j, of polygons that share at least one point."""
    import shapely  # imported here: see the module imports

    usable = np.flatnonzero(~(shapely.is_missing(geometries) | shapely.is_empty(geometries)))
    if len(usable) < 2:
        return np.empty(0, "int64"), np.empty(0, "int64")
    # What libpysal's `Graph.build_fuzzy_contiguity(predicate="intersects")` does (a spatial
    # index queried with every polygon, self hits removed; a test checks the equality), without
    # importing libpysal, which costs ~0.5 s (it imports requests) on every run that maps.
    polygons = geometries[usable]
    tree = shapely.STRtree(polygons)
    head, tail = tree.query(polygons, predicate="intersects")
    other = head != tail
    return usable[head[other]].astype("int64"), usable[tail[other]].astype("int64")


def _nearest_other(points: np.ndarray, islands: np.ndarray) -> np.ndarray:
    """For each island position, the position of its nearest other block group (ties: the
    lowest position, i.e. geo_id)."""
    from scipy.spatial import cKDTree  # imported here: see the module imports

    tree = cKDTree(points)
    nearest = np.empty(len(islands), dtype="int64")
    for slot, i in enumerate(islands):
        distances, found = tree.query(points[i], k=2)
        best = distances[1] if found[0] == i else distances[0]
        tied = tree.query_ball_point(points[i], r=best * (1 + 1e-9) + 1e-12)
        nearest[slot] = min(j for j in tied if j != i)
    return nearest


def build_contiguity_weights(geo_frame: pd.DataFrame) -> ContiguityWeights:
    """Queen contiguity of dim_geo's block groups (see the module docstring), islands linked to
    their nearest block group. `geo_frame` needs geo_id, boundary_wkt, latitude_centroid and
    longitude_centroid; rows are ordered by geo_id."""
    import shapely  # imported here: see the module imports
    from scipy import sparse

    _require(geo_frame, GEO_COLUMNS, "the block-group frame")
    geo = geo_frame.sort_values("geo_id", kind="stable").reset_index(drop=True)
    geo_ids = geo["geo_id"].astype(str)
    if geo_ids.duplicated().any():
        raise ValueError(
            f"duplicate geo_id in the block groups: {sorted(geo_ids[geo_ids.duplicated()])[:5]}"
        )
    n = len(geo)
    wkt = geo["boundary_wkt"].astype(object).where(geo["boundary_wkt"].notna(), None)
    geometries = shapely.from_wkt(wkt.to_numpy(), on_invalid="ignore")
    no_polygon = shapely.is_missing(geometries) | shapely.is_empty(geometries)
    heads, tails = _contiguity_edges(geometries)

    degree = np.bincount(heads, minlength=n)
    islands = np.flatnonzero(degree == 0)
    if n > 1 and len(islands):
        nearest = _nearest_other(_km_coordinates(geo), islands)
        heads = np.concatenate([heads, islands, nearest])
        tails = np.concatenate([tails, nearest, islands])
    matrix = sparse.csr_array((np.ones(len(heads)), (heads, tails)), shape=(n, n), dtype="float64")
    matrix.sum_duplicates()
    matrix.data[:] = 1.0  # an edge found twice (two islands nearest to each other) stays 1
    return ContiguityWeights(
        geo_ids=tuple(geo_ids),
        matrix=matrix,
        islands=tuple(geo_ids.iloc[islands]),
        without_boundary=tuple(geo_ids[no_polygon]),
    )


def gi_star(weights: ContiguityWeights, counts: np.ndarray) -> np.ndarray:
    """Gi* z-scores (binary weights, self included) of every column of `counts` (n x m) at once;
    0 where a column has no variance."""
    from scipy import sparse  # imported here: see the module imports

    n = weights.n
    values = np.asarray(counts, dtype="float64").reshape(n, -1)
    with_self = weights.matrix + sparse.eye_array(n, format="csr")
    w_sum = np.asarray(with_self.sum(axis=1)).ravel()  # W_i = neighbours + 1
    lag = with_self @ values
    mean = values.mean(axis=0)
    std = np.sqrt(((values - mean) ** 2).mean(axis=0))  # population S, as esda and ArcGIS
    spread = np.sqrt(np.maximum(w_sum * (n - w_sum), 0.0) / max(n - 1, 1))
    denominator = spread[:, None] * std[None, :]
    numerator = lag - w_sum[:, None] * mean[None, :]
    z = np.zeros_like(numerator)
    np.divide(numerator, denominator, out=z, where=denominator > 0)
    return z


def two_sided_p(z: np.ndarray) -> np.ndarray:
    """p = 2 (1 - Phi(|z|)) under the normal approximation."""
    from scipy.special import ndtr  # imported here: see the module imports

    return np.minimum(2.0 * ndtr(-np.abs(z)), 1.0)


def significance(z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(confidence 99/95/90/0, class label) for each z-score."""
    magnitude = np.abs(z)
    confidence = np.select(
        [magnitude >= threshold for _, threshold in Z_THRESHOLDS],
        [level for level, _ in Z_THRESHOLDS],
        default=0,
    ).astype("int64")
    labels = np.full(z.shape, NOT_SIGNIFICANT, dtype=object)
    for level, _ in Z_THRESHOLDS:
        labels[(confidence == level) & (z > 0)] = f"Hot spot {level}%"
        labels[(confidence == level) & (z < 0)] = f"Cold spot {level}%"
    return confidence, labels


def _count_cube(
    calls: pd.DataFrame, geo_ids: tuple[str, ...]
) -> tuple[np.ndarray, list[str], dict]:
    """Calls per (block group, category, hour, weekend) as a dense array, the sorted category
    names, and how many calls could not be placed."""
    position = pd.Categorical(calls["geo_id"], categories=list(geo_ids)).codes.astype("int64")
    hour = pd.to_numeric(calls["response_hour"], errors="coerce")
    weekend = calls["is_weekend"].astype("boolean")
    located = position >= 0
    timed = (hour.between(0, 23) & weekend.notna()).to_numpy()
    usable = located & timed
    category = (
        calls["final_problem_category"]
        .astype(object)
        .where(calls["final_problem_category"].notna(), UNKNOWN_CATEGORY)
    )
    codes, names = pd.factorize(category[usable], sort=True)
    n, c = len(geo_ids), len(names)
    flat = ((position[usable] * c + codes) * 24 + hour[usable].to_numpy("int64")) * 2 + weekend[
        usable
    ].to_numpy(dtype="int64")
    cube = np.bincount(flat, minlength=n * c * 48).reshape(n, c, 24, 2)
    dropped = {
        "calls_without_block_group": int((~located).sum()),
        "calls_without_hour_or_weekday": int((located & ~timed).sum()),
    }
    return cube, [str(name) for name in names], dropped


def _window_counts(
    cube: np.ndarray, window: TimeWindow, hour_slots: tuple[int, ...] = ALL_HOURS
) -> np.ndarray:
    """Calls per (block group, category) in the window; the cube's hour axis holds the slots
    starting at `hour_slots` (single hours, or the `HOUR_BANDS` of the aggregates)."""
    days = [0, 1] if window.weekend is None else [int(window.weekend)]
    slots = [slot for slot, first in enumerate(hour_slots) if first in window.hours]
    return cube[:, :, slots, :][:, :, :, days].sum(axis=(2, 3))


def empty_hot_spot_frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "time_window": pd.Series(dtype=object),
            "category": pd.Series(dtype=object),
            "geo_id": pd.Series(dtype=object),
            "calls": pd.Series(dtype="int64"),
            "gi_z": pd.Series(dtype="float64"),
            "p_value": pd.Series(dtype="float64"),
            "confidence": pd.Series(dtype="int64"),
            "hot_spot": pd.Series(dtype=object),
        }
    )


def hot_spots(
    calls: pd.DataFrame,
    geo: pd.DataFrame,
    *,
    weights: ContiguityWeights | None = None,
    min_calls: int = MIN_CALLS,
) -> HotSpotResult:
    """Contract call_hot_spots: one row per (time window, category, block group of `geo`) for
    every combination with at least `min_calls` located calls.

    `calls` needs geo_id (the matched block group, NULL when unmatched), final_problem_category,
    response_hour and is_weekend; `geo` the dim_geo columns of `build_contiguity_weights`
    (or pass `weights` built from it)."""
    _require(calls, CALL_COLUMNS, "the call frame")
    weights = weights if weights is not None else build_contiguity_weights(geo)
    cube, categories, dropped = _count_cube(calls, weights.geo_ids)
    return _maps(cube, HOURS, categories, dropped, len(calls), weights, min_calls)


def _maps(
    cube: np.ndarray,
    hour_slots: tuple[int, ...],
    categories: list[str],
    dropped: dict,
    n_calls: int,
    weights: ContiguityWeights,
    min_calls: int,
) -> HotSpotResult:
    """The maps from the calls per (block group, category, hour slot, weekend); `hour_slots`
    names the first hour of each slot of the cube's third axis."""
    n = weights.n
    # Columns of the count matrix: window by window, ALL_CALLS first, then each category.
    blocks, keys = [], []
    for window in WINDOW_DEFINITIONS:
        per_category = _window_counts(cube, window, hour_slots)
        blocks.append(per_category.sum(axis=1, keepdims=True))
        blocks.append(per_category)
        keys += [(window.name, ALL_CALLS)] + [(window.name, name) for name in categories]
    counts = np.hstack(blocks) if n else np.zeros((0, len(keys)), "int64")
    totals = counts.sum(axis=0)
    keep = totals >= min_calls
    skipped = [
        {"time_window": w, "category": c, "calls": int(t)}
        for (w, c), t, k in zip(keys, totals, keep, strict=True)
        if not k
    ]

    kept = counts[:, keep]
    kept_keys = [key for key, k in zip(keys, keep, strict=True) if k]
    if n == 0 or not kept_keys:
        table = empty_hot_spot_frame()
    else:
        z = gi_star(weights, kept)
        confidence, labels = significance(z)
        m = len(kept_keys)
        table = pd.DataFrame(
            {
                "time_window": np.repeat(np.array([w for w, _ in kept_keys], dtype=object), n),
                "category": np.repeat(np.array([c for _, c in kept_keys], dtype=object), n),
                "geo_id": np.tile(np.array(weights.geo_ids, dtype=object), m),
                "calls": kept.T.ravel().astype("int64"),
                "gi_z": z.T.ravel(),
                "p_value": two_sided_p(z).T.ravel(),
                "confidence": confidence.T.ravel(),
                "hot_spot": labels.T.ravel(),
            }
        )

    neighbours = weights.neighbours
    overall = table[(table["time_window"] == ALL_DAY) & (table["category"] == ALL_CALLS)]
    stats = {
        "block_groups": n,
        "islands": list(weights.islands),
        "block_groups_without_boundary": list(weights.without_boundary),
        "components": weights.components,
        "mean_neighbours": float(neighbours.mean()) if n else 0.0,
        "calls": int(n_calls),
        "calls_mapped": int(cube.sum()),
        **dropped,
        "categories": len(categories),
        "min_calls": min_calls,
        "maps_computed": len(kept_keys),
        "maps_skipped": len(skipped),
        "skipped": skipped,
        "overall_classes": {
            label: int((overall["hot_spot"] == label).sum()) for label in HOT_SPOT_CLASSES
        },
    }
    return HotSpotResult(table=table, stats=stats)


def top_hot_spots(table: pd.DataFrame, limit: int = 10) -> pd.DataFrame:
    """The strongest significant hot spots of the overall map (All day, All calls)."""
    overall = table[
        (table["time_window"] == ALL_DAY)
        & (table["category"] == ALL_CALLS)
        & (table["confidence"] > 0)
        & (table["gi_z"] > 0)
    ]
    top = overall.sort_values(["gi_z", "geo_id"], ascending=[False, True], kind="mergesort")
    return top.head(limit)[["geo_id", "calls", "gi_z", "p_value", "hot_spot"]].reset_index(
        drop=True
    )


# --- per-month aggregate: calls per block group, category, hour band and weekday/weekend ------

HOT_SPOT_COUNT_COLUMNS = ["geo_id", "category", "hour_band", "is_weekend", "calls"]


def band_of_hour(hour: pd.Series) -> pd.Series:
    """The first hour of the `HOUR_BANDS` band holding each hour (0..23); NA otherwise."""
    h = pd.to_numeric(hour, errors="coerce").astype("float64")
    valid = h.between(0, 23)
    bands = np.asarray(HOUR_BANDS, dtype="int64")
    slot = np.searchsorted(bands, h.where(valid, 0).to_numpy(dtype="int64"), side="right") - 1
    return pd.Series(bands[slot], index=hour.index, dtype="Int64").where(valid)


def hot_spot_counts(calls: pd.DataFrame, by: pd.Series | None = None) -> pd.DataFrame:
    """The hot-spot aggregate (asset `hot_spot_call_counts`): calls per (geo_id, category,
    hour band, weekend) (and value of `by`, e.g. the month: column `by`). Every call is
    counted: a NULL geo_id, hour band or is_weekend is a group of its own, so the maps' counts
    of calls that could not be placed are recomputed from it too. A blank category is
    `UNKNOWN_CATEGORY`, as on the maps."""
    from .counting import count_rows

    _require(calls, CALL_COLUMNS, "the call frame")
    frame = pd.DataFrame(
        {
            "geo_id": calls["geo_id"].astype(object).where(calls["geo_id"].notna(), None),
            "category": calls["final_problem_category"]
            .astype(object)
            .where(calls["final_problem_category"].notna(), UNKNOWN_CATEGORY)
            .astype(str),
            "hour_band": band_of_hour(calls["response_hour"]),
            "is_weekend": calls["is_weekend"].astype("boolean"),
        }
    )
    if by is not None:
        frame.insert(0, "by", by.to_numpy())
    return count_rows(frame)


def _count_cube_from_counts(
    counts: pd.DataFrame, geo_ids: tuple[str, ...]
) -> tuple[np.ndarray, list[str], dict]:
    """`_count_cube` from hot-spot aggregates, per hour band instead of per hour."""
    weight = counts["calls"].to_numpy(dtype="int64")
    position = pd.Categorical(counts["geo_id"], categories=list(geo_ids)).codes.astype("int64")
    band = pd.to_numeric(counts["hour_band"], errors="coerce")
    weekend = counts["is_weekend"].astype("boolean")
    located = position >= 0
    timed = (band.isin(HOUR_BANDS) & weekend.notna()).to_numpy()
    usable = located & timed & (weight > 0)
    codes, names = pd.factorize(counts["category"].astype(str)[usable], sort=True)
    n, c, b = len(geo_ids), len(names), len(HOUR_BANDS)
    slot = np.searchsorted(np.asarray(HOUR_BANDS), band[usable].to_numpy("int64"))
    flat = ((position[usable] * c + codes) * b + slot) * 2 + weekend[usable].to_numpy("int64")
    cube = np.bincount(flat, weights=weight[usable], minlength=n * c * b * 2)
    cube = np.rint(cube).astype("int64").reshape(n, c, b, 2)
    dropped = {
        "calls_without_block_group": int(weight[~located].sum()),
        "calls_without_hour_or_weekday": int(weight[located & ~timed].sum()),
    }
    return cube, [str(name) for name in names], dropped


def hot_spots_from_counts(
    counts: pd.DataFrame,
    geo: pd.DataFrame,
    *,
    weights: ContiguityWeights | None = None,
    min_calls: int = MIN_CALLS,
) -> HotSpotResult:
    """`hot_spots` from hot-spot aggregates (any number of months concatenated): the same
    counts per map, hence the same rows."""
    _require(counts, tuple(HOT_SPOT_COUNT_COLUMNS), "the hot-spot counts")
    weights = weights if weights is not None else build_contiguity_weights(geo)
    cube, categories, dropped = _count_cube_from_counts(counts, weights.geo_ids)
    n_calls = int(counts["calls"].sum())
    return _maps(cube, HOUR_BANDS, categories, dropped, n_calls, weights, min_calls)


def hot_spots_from_month_table(
    months: pa.Table,
    geo: pd.DataFrame,
    *,
    weights: ContiguityWeights | None = None,
    min_calls: int = MIN_CALLS,
) -> HotSpotResult:
    """`hot_spots_from_counts` from every month's hot-spot aggregates as one Arrow table (the
    asset's input): the months are summed per (geo_id, category, hour_band, is_weekend) in
    Arrow first, so millions of month rows (six million at ten times Austin) reach pandas as
    one row per key. The counts per map, hence the rows, are the same."""
    from .counting import summed_per_key

    totals = summed_per_key(months, HOT_SPOT_COUNT_COLUMNS[:-1], HOT_SPOT_COUNT_COLUMNS[-1])
    return hot_spots_from_counts(totals, geo, weights=weights, min_calls=min_calls)
