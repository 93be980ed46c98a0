"""Where calls happen: a per-block-group profile (sector, council district, call weight).

APD sectors and council districts have no public crosswalk to block groups, so the generator
derives them from location: nearest sector / district anchor point (the airport sector is the
area around the airport; district 0 is outside the city). Call weights are highest downtown,
zero or tiny outside the area APD serves, and raked so that the sector shares of
the published dispatched-calls data and the county shares (Travis ~94 %, Williamson ~4 %, Hays ~2 %) hold.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .geography import KM_PER_DEG_LAT, internal_points, km_per_deg_lon
from .sampling import STREAM_LOCATIONS, rng_for
from .vocabulary import (
    AIRPORT_POINT,
    AIRPORT_RADIUS_KM,
    COUNCIL_DISTRICT_ANCHORS,
    DOWNTOWN,
    SECTOR_ANCHORS,
    SECTOR_SHARES,
)

COUNTY_CALL_SHARES: dict[str, float] = {"453": 0.939, "491": 0.040, "209": 0.021}

# The area APD serves (roughly the City of Austin): an ellipse in Travis, border strips of
# Hays and Williamson.
_CITY_CENTRE = (30.310, -97.745)
_CITY_SEMI_AXES = (0.200, 0.170)  # degrees (lat, lon)


def _km_xy(lat: np.ndarray, lon: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    x = (lon - DOWNTOWN[1]) * km_per_deg_lon(DOWNTOWN[0])
    y = (lat - DOWNTOWN[0]) * KM_PER_DEG_LAT
    return x, y


def _nearest(lat: np.ndarray, lon: np.ndarray, anchors: dict) -> np.ndarray:
    keys = list(anchors)
    alat = np.array([anchors[k][0] for k in keys])
    alon = np.array([anchors[k][1] for k in keys])
    x, y = _km_xy(lat, lon)
    ax, ay = _km_xy(alat, alon)
    d = np.hypot(x[:, None] - ax[None, :], y[:, None] - ay[None, :])
    return np.array(keys, dtype=object)[np.argmin(d, axis=1)]


def served_mask(lat: np.ndarray, lon: np.ndarray, county: np.ndarray) -> np.ndarray:
    """True where APD (not the sheriff or a suburb's police) answers calls."""
    ell = ((lat - _CITY_CENTRE[0]) / _CITY_SEMI_AXES[0]) ** 2 + (
        (lon - _CITY_CENTRE[1]) / _CITY_SEMI_AXES[1]
    ) ** 2
    travis = (county == "453") & (ell < 1.0)
    hays = (county == "209") & (lat > 29.950) & (lon > -97.930) & (lon < -97.740)
    wilco = (county == "491") & (lat < 30.685) & (lon > -97.870) & (lon < -97.600)
    return travis | hays | wilco


def _rake(
    weights: np.ndarray, groupings: list[tuple[np.ndarray, dict]], iterations: int = 100
) -> np.ndarray:
    w = weights.astype(float).copy()
    for _ in range(iterations):
        for labels, targets in groupings:
            present = {k: v for k, v in targets.items() if w[labels == k].sum() > 0}
            total_target = sum(present.values())
            for key, target in present.items():
                m = labels == key
                w[m] *= (target / total_target) / (w[m].sum() / w.sum())
    return w / w.sum()


def block_group_profile(block_groups: pd.DataFrame, seed: int = 42) -> pd.DataFrame:
    """One row per block group, in the order of ``block_groups``.

    Columns: geo_id, county_fp, lat, lon (internal point), sector, council_district (int),
    served (bool), weight (share of calls, sums to 1).
    """
    rng = rng_for(seed, STREAM_LOCATIONS)
    lat, lon = internal_points(block_groups)
    county = block_groups["COUNTYFP"].astype(str).to_numpy()
    n = lat.shape[0]

    x, y = _km_xy(lat, lon)
    ax, ay = _km_xy(np.array([AIRPORT_POINT[0]]), np.array([AIRPORT_POINT[1]]))
    d_airport = np.hypot(x - ax[0], y - ay[0])
    sector = _nearest(lat, lon, SECTOR_ANCHORS)
    airport = d_airport <= AIRPORT_RADIUS_KM
    if not airport.any():
        airport[np.argmin(d_airport)] = True
    sector[airport] = "Airport"

    served = served_mask(lat, lon, county)
    district = np.where(served, _nearest(lat, lon, COUNCIL_DISTRICT_ANCHORS), 0).astype(np.int64)

    d_down = np.hypot(x, y)
    base = rng.lognormal(0.0, 0.6, n) * (1.0 + 2.5 * np.exp(-d_down / 2.0))
    hotspot = rng.random(n) < 0.03
    base[hotspot] *= 3.0
    fringe = ~served & (rng.random(n) < 0.08)  # the odd call just outside the city
    weight = np.where(served, base, np.where(fringe, 0.01 * base, 0.0))
    weight = _rake(weight, [(sector, SECTOR_SHARES), (county, COUNTY_CALL_SHARES)])

    return pd.DataFrame(
        {
            "geo_id": block_groups["GEOID"].astype(str).to_numpy(),
            "county_fp": county,
            "lat": lat,
            "lon": lon,
            "sector": sector.astype(object),
            "council_district": district,
            "served": served,
            "weight": weight,
        }
    )


def unmatched_geo_ids(block_groups: pd.DataFrame, seed: int = 42, k: int = 10) -> np.ndarray:
    """Valid-format 12-digit ids that are not in ``block_groups`` (Bastrop county, retired
    Travis tracts, block group numbers that do not exist)."""
    rng = rng_for(seed, STREAM_LOCATIONS, 1)
    known = set(block_groups["GEOID"].astype(str))
    travis_tracts = np.unique(
        block_groups.loc[block_groups["COUNTYFP"] == "453", "TRACTCE"].astype(str)
    )
    candidates = [f"480219501{d:02d}{b}" for d, b in ((0, 1), (0, 2), (3, 1), (4, 2))]
    candidates += ["484539800001", "484530001007"]
    picks = rng.choice(travis_tracts, size=min(6, travis_tracts.shape[0]), replace=False)
    candidates += [f"48453{t}8" for t in picks]
    out = [c for c in dict.fromkeys(candidates) if c not in known]
    return np.array(out[:k], dtype=object)


def unmatched_hosts(ids: np.ndarray, profile: pd.DataFrame) -> np.ndarray:
    """For each unmatched id, the block group (row of ``profile``) whose location it stands
    for, so that its sector and council district stay fixed: the same tract if it exists,
    the east edge of the city for other counties, else the busiest block group."""
    geo = profile["geo_id"].to_numpy(dtype=str)
    weight = profile["weight"].to_numpy()
    served = weight > 0
    hosts = np.empty(len(ids), dtype=np.int64)
    for i, gid in enumerate(ids):
        same_tract = served & (np.char.find(geo, gid[:11]) == 0)
        if same_tract.any():
            hosts[i] = int(np.flatnonzero(same_tract)[np.argmax(weight[same_tract])])
        elif gid[2:5] not in ("453", "209", "491"):
            east = np.where(served, profile["lon"].to_numpy(), -np.inf)
            hosts[i] = int(np.argmax(east))
        else:
            hosts[i] = int(np.argmax(weight))
    return hosts
