"""KMeans risk zones over block-group locations.

One location per matched block group (its centroid). K is chosen by silhouette on the same
locations the model is fitted on (the pipeline we replace chose K on a test set). Zones come from
the tertiles of each cluster's mean location_risk, the single zone-risk definition in SafeBeat.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

if TYPE_CHECKING:
    from sklearn.cluster import KMeans

ZONE_COLUMNS = [
    "geo_id",
    "latitude",
    "longitude",
    "incident_count",
    "avg_priority",
    "avg_response_time",
    "avg_hour",
    "log_incidents",
    "location_risk",
    "cluster_id",
    "risk_zone",
]
CENTROID_COLUMNS = [
    "cluster_id",
    "latitude",
    "longitude",
    "size",
    "mean_location_risk",
    "risk_zone",
]
MODEL_FEATURES = ["latitude", "longitude", "log_incidents", "avg_priority", "location_risk"]
ZONE_LABELS = ("HIGH_RISK", "MEDIUM_RISK", "LOW_RISK")

# Priorities P0..P3 map to 0..3; anything else (the old pipeline's sentinel 9) must never be averaged.
VALID_PRIORITIES = (0, 3)
# Response time enters location_risk in units of 10 minutes.
RESPONSE_TIME_UNIT_SECONDS = 600.0


@dataclass
class ZoneResult:
    zones: pd.DataFrame
    centroids: pd.DataFrame
    stats: dict = field(default_factory=dict)


def location_risk(
    log_incidents: pd.Series, avg_priority: pd.Series, avg_response_time: pd.Series
) -> pd.Series:
    """0.5·ln(1+count) + 0.3·(4 − avg priority) + 0.2·(avg response s / 600); inputs NA-free."""
    return (
        0.5 * log_incidents
        + 0.3 * (4.0 - avg_priority)
        + 0.2 * (avg_response_time / RESPONSE_TIME_UNIT_SECONDS)
    )


def location_features(calls: pd.DataFrame) -> pd.DataFrame:
    """Per-geo_id features; avg_priority / avg_response_time stay NaN where nothing is known."""
    located = calls["geo_id"].notna() & calls["latitude_centroid"].notna()
    located &= calls["longitude_centroid"].notna()
    c = calls.loc[located]
    priority = pd.to_numeric(c["priority_numeric"], errors="coerce").astype("float64")
    priority = priority.where(priority.between(*VALID_PRIORITIES))
    frame = pd.DataFrame(
        {
            "geo_id": c["geo_id"].astype(str),
            "latitude": c["latitude_centroid"].astype("float64"),
            "longitude": c["longitude_centroid"].astype("float64"),
            "priority": priority,
            "response_time": pd.to_numeric(c["response_time"], errors="coerce").astype("float64"),
            "hour": pd.to_numeric(c["response_hour"], errors="coerce").astype("float64"),
        }
    )
    g = frame.groupby("geo_id", sort=True)
    feats = pd.DataFrame(
        {
            "latitude": g["latitude"].first(),
            "longitude": g["longitude"].first(),
            "incident_count": g.size().astype("int64"),
            "avg_priority": g["priority"].mean(),
            "avg_response_time": g["response_time"].mean(),
            "avg_hour": g["hour"].mean(),
        }
    ).reset_index()
    feats["log_incidents"] = np.log1p(feats["incident_count"].astype("float64"))
    return feats


def model_fill_values(calls: pd.DataFrame) -> tuple[float, float]:
    """Values standing in for a location's unknown avg_priority / avg_response_time.

    The all-located-call mean: neutral and never a sentinel. If no call at all has a known value
    the term is made neutral instead: priority 4 (no risk contribution), response time 0 s.
    """
    located = calls["geo_id"].notna() & calls["latitude_centroid"].notna()
    priority = pd.to_numeric(calls.loc[located, "priority_numeric"], errors="coerce")
    priority = priority.astype("float64").where(priority.between(*VALID_PRIORITIES))
    response = pd.to_numeric(calls.loc[located, "response_time"], errors="coerce")
    priority_fill, response_fill = priority.mean(), response.astype("float64").mean()
    return (
        float(priority_fill) if pd.notna(priority_fill) else 4.0,
        float(response_fill) if pd.notna(response_fill) else 0.0,
    )


def zone_labels(cluster_mean_risk: pd.Series) -> pd.Series:
    """Tertiles of cluster mean risk: ≥ 66th percentile HIGH, ≥ 33rd MEDIUM, else LOW."""
    values = cluster_mean_risk.to_numpy(dtype="float64")
    p66, p33 = np.percentile(values, 66), np.percentile(values, 33)
    high, medium, low = ZONE_LABELS
    labels = np.where(values >= p66, high, np.where(values >= p33, medium, low))
    return pd.Series(labels, index=cluster_mean_risk.index, dtype="object")


def _choose_k(x: np.ndarray, k_range, seed: int) -> tuple[int, np.ndarray, KMeans | None, dict]:
    # sklearn is imported where used: it costs ~0.8 s when the Dagster definitions load.
    from sklearn.cluster import KMeans
    from sklearn.metrics import silhouette_score

    n = len(x)
    # silhouette needs 2 ≤ K ≤ n − 1, and KMeans needs at least K distinct points.
    n_distinct = len(np.unique(x, axis=0))
    candidates = [k for k in k_range if 2 <= k < n and k <= n_distinct]
    if not candidates:
        return 1, np.zeros(n, dtype="int64"), None, {}
    scores: dict[int, float] = {}
    fits: dict[int, KMeans] = {}
    # A few hundred points: OpenMP/BLAS threads only add overhead, and on a busy 2-core host
    # they made the K search tens of times slower. One thread is fast and predictable.
    with threadpool_limits(limits=1):
        for k in candidates:
            km = KMeans(n_clusters=k, n_init=10, random_state=seed).fit(x)
            fits[k] = km
            scores[k] = float(silhouette_score(x, km.labels_))
    best = max(candidates, key=lambda k: (scores[k], -k))  # ties: fewer clusters
    return best, fits[best].labels_.astype("int64"), fits[best], scores


def _empty_result(k_range) -> ZoneResult:
    zones = pd.DataFrame({c: pd.Series(dtype="float64") for c in ZONE_COLUMNS})
    zones = zones.astype({"geo_id": "object", "incident_count": "int64", "cluster_id": "int64"})
    zones["risk_zone"] = zones["risk_zone"].astype("object")
    centroids = pd.DataFrame({c: pd.Series(dtype="float64") for c in CENTROID_COLUMNS})
    centroids = centroids.astype({"cluster_id": "int64", "size": "int64", "risk_zone": "object"})
    stats = {
        "locations": 0,
        "chosen_k": 0,
        "k_range": [int(k) for k in k_range],
        "silhouette_by_k": {},
        "silhouette": None,
        "cluster_sizes": {},
        "zone_counts": dict.fromkeys(ZONE_LABELS, 0),
    }
    return ZoneResult(zones=zones, centroids=centroids, stats=stats)


def cluster_zones(calls: pd.DataFrame, k_range=range(3, 10), seed: int = 42) -> ZoneResult:
    """Cluster block-group locations and label each with HIGH/MEDIUM/LOW_RISK (contract zone_clusters).

    The all-calls reference of `cluster_zones_from_sums` (the asset's path, from the per-month
    `block_group_sums` aggregates)."""
    return _cluster(location_features(calls), model_fill_values(calls), k_range, seed)


def _cluster(
    feats: pd.DataFrame, fill_values: tuple[float, float], k_range, seed: int
) -> ZoneResult:
    from sklearn.preprocessing import StandardScaler  # imported here: see _choose_k

    if feats.empty:
        return _empty_result(k_range)

    # Outputs keep the honest NaN averages; the model and location_risk need NA-free inputs.
    priority_fill, response_fill = fill_values
    model_feats = feats.copy()
    model_feats["avg_priority"] = model_feats["avg_priority"].fillna(priority_fill)
    model_feats["avg_response_time"] = model_feats["avg_response_time"].fillna(response_fill)
    model_feats["location_risk"] = location_risk(
        model_feats["log_incidents"], model_feats["avg_priority"], model_feats["avg_response_time"]
    )
    feats["location_risk"] = model_feats["location_risk"]

    scaler = StandardScaler().fit(model_feats[MODEL_FEATURES])
    x = scaler.transform(model_feats[MODEL_FEATURES])
    chosen_k, raw_labels, km, silhouettes = _choose_k(x, k_range, seed)

    # Renumber clusters by descending mean risk so cluster 0 is always the riskiest.
    raw_mean_risk = feats.groupby(raw_labels)["location_risk"].mean()
    order = raw_mean_risk.sort_values(ascending=False, kind="mergesort").index
    renumber = {int(old): new for new, old in enumerate(order)}
    feats["cluster_id"] = pd.Series(raw_labels).map(renumber).astype("int64").to_numpy()

    cluster_mean_risk = feats.groupby("cluster_id")["location_risk"].mean()
    zone_of_cluster = zone_labels(cluster_mean_risk)
    feats["risk_zone"] = feats["cluster_id"].map(zone_of_cluster)

    sizes = feats.groupby("cluster_id").size()
    if km is not None:
        centers = scaler.inverse_transform(km.cluster_centers_)
        center_frame = pd.DataFrame(centers, columns=MODEL_FEATURES)
        center_frame.index = [renumber[i] for i in range(len(center_frame))]
        center_lat, center_lon = center_frame["latitude"], center_frame["longitude"]
    else:  # a single cluster: its centre is the plain mean of the locations
        center_lat = feats.groupby("cluster_id")["latitude"].mean()
        center_lon = feats.groupby("cluster_id")["longitude"].mean()
    centroids = pd.DataFrame(
        {
            "cluster_id": cluster_mean_risk.index.astype("int64"),
            "latitude": center_lat.reindex(cluster_mean_risk.index).to_numpy(),
            "longitude": center_lon.reindex(cluster_mean_risk.index).to_numpy(),
            "size": sizes.reindex(cluster_mean_risk.index).astype("int64").to_numpy(),
            "mean_location_risk": cluster_mean_risk.to_numpy(),
            "risk_zone": zone_of_cluster.to_numpy(),
        }
    )

    zones = feats[ZONE_COLUMNS].reset_index(drop=True)
    zone_counts = zones["risk_zone"].value_counts()
    stats = {
        "locations": int(len(zones)),
        "chosen_k": int(chosen_k),
        "k_range": [int(k) for k in k_range],
        "silhouette_by_k": {int(k): round(v, 6) for k, v in silhouettes.items()},
        "silhouette": round(silhouettes[chosen_k], 6) if chosen_k in silhouettes else None,
        "cluster_sizes": {int(k): int(v) for k, v in sizes.items()},
        "zone_counts": {z: int(zone_counts.get(z, 0)) for z in ZONE_LABELS},
        "scaler_mean": dict(zip(MODEL_FEATURES, map(float, scaler.mean_), strict=True)),
        "scaler_scale": dict(zip(MODEL_FEATURES, map(float, scaler.scale_), strict=True)),
        "avg_priority_fill_value": priority_fill,
        "avg_response_time_fill_value": response_fill,
    }
    return ZoneResult(zones=zones, centroids=centroids, stats=stats)


# --- per-month aggregate: sums per block group ----------------------------------------------------

BLOCK_GROUP_SUM_COLUMNS = [
    "geo_id",
    "latitude",
    "longitude",
    "calls",
    "priority_sum",
    "priority_calls",
    "response_time_sum",
    "response_time_calls",
    "hour_sum",
    "hour_calls",
]
# (sum column, count column, feature) of the averages recomputed from the sums.
_AVERAGES = (
    ("priority_sum", "priority_calls", "avg_priority"),
    ("response_time_sum", "response_time_calls", "avg_response_time"),
    ("hour_sum", "hour_calls", "avg_hour"),
)


def block_group_sums(calls: pd.DataFrame, by: pd.Series | None = None) -> pd.DataFrame:
    """The per-block-group aggregate (asset `block_group_call_sums`): for the located calls
    (geo_id, latitude and longitude known), per block group (and value of `by`, e.g. the
    month: column `by`) its internal point, call count, and the sum and count of the known
    valid priorities, response times and hours. Every value is an integer, so the sums are
    exact and `cluster_zones_from_sums` recomputes the very averages `location_features`
    takes."""
    located = calls["geo_id"].notna() & calls["latitude_centroid"].notna()
    located &= calls["longitude_centroid"].notna()
    c = calls.loc[located]
    priority = pd.to_numeric(c["priority_numeric"], errors="coerce").astype("float64")
    priority = priority.where(priority.between(*VALID_PRIORITIES))
    response = pd.to_numeric(c["response_time"], errors="coerce").astype("float64")
    hour = pd.to_numeric(c["response_hour"], errors="coerce").astype("float64")
    frame = pd.DataFrame(
        {
            "geo_id": c["geo_id"].astype(str),
            "latitude": c["latitude_centroid"].astype("float64"),
            "longitude": c["longitude_centroid"].astype("float64"),
            "priority_sum": priority.fillna(0.0),
            "priority_calls": priority.notna().astype("int64"),
            "response_time_sum": response.fillna(0.0),
            "response_time_calls": response.notna().astype("int64"),
            "hour_sum": hour.fillna(0.0),
            "hour_calls": hour.notna().astype("int64"),
        }
    )
    keys = ["geo_id"]
    if by is not None:
        frame.insert(0, "by", by.loc[located].to_numpy())
        keys = ["by", "geo_id"]
    g = frame.groupby(keys, sort=True)
    sums = g[[column for column in BLOCK_GROUP_SUM_COLUMNS[4:]]].sum()
    table = pd.concat(
        [g["latitude"].first(), g["longitude"].first(), g.size().rename("calls"), sums], axis=1
    ).reset_index()
    table["calls"] = table["calls"].astype("int64")
    return table[[*keys, *BLOCK_GROUP_SUM_COLUMNS[1:]]]


def features_from_sums(sums: pd.DataFrame) -> tuple[pd.DataFrame, tuple[float, float]]:
    """`location_features` and `model_fill_values` from per-block-group aggregates (any number
    of months concatenated)."""
    g = sums.groupby(sums["geo_id"].astype(str), sort=True)
    totals = g[BLOCK_GROUP_SUM_COLUMNS[3:]].sum()
    feats = pd.DataFrame(
        {
            "latitude": g["latitude"].first(),
            "longitude": g["longitude"].first(),
            "incident_count": totals["calls"].astype("int64"),
        }
    )
    for total, count, feature in _AVERAGES:
        known = totals[count] > 0
        feats[feature] = (totals[total] / totals[count].where(known)).astype("float64")
    feats.index.name = "geo_id"
    feats = feats.reset_index()
    feats["log_incidents"] = np.log1p(feats["incident_count"].astype("float64"))

    fills = []
    for (total, count, _), neutral in zip(_AVERAGES[:2], (4.0, 0.0), strict=True):
        known = int(sums[count].sum())
        fills.append(float(sums[total].sum() / known) if known else neutral)
    return feats, (fills[0], fills[1])


def cluster_zones_from_sums(sums: pd.DataFrame, k_range=range(3, 10), seed: int = 42) -> ZoneResult:
    """`cluster_zones` from per-block-group aggregates: the same features, hence the same K,
    clusters and silhouette."""
    feats, fill_values = features_from_sums(sums)
    return _cluster(feats, fill_values, k_range, seed)
