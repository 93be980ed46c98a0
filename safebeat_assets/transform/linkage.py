"""Event <-> call linkage.

A call links to an event when the haversine distance from the call's block-group centroid to
the event point is <= radius_km AND the call's local calendar date is within
[start_date, end_date] inclusive. The pipeline we replace compared against midnight end timestamps, so
one-day events matched only 00:00 calls; here whole calendar days are compared.

The distance is coarse by construction (APD publishes a block group, not a point).

Cost: never a calls x events cross join. Distances are computed between events and the
*distinct* centroids (hundreds), the nearby (event, block group) pairs are expanded to one row
per event day, and calls are joined to that on (block group, date).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from safebeat_assets.domain import DEFAULT_LINK_RADIUS_KM, EARTH_RADIUS_KM
from safebeat_assets.sources.columns import SourceSchemaError

# A centroid exactly on the radius must not fall out through float rounding.
_RADIUS_TOLERANCE_KM = 1e-9
# Events, in order of latitude, are compared against centroids in blocks of this many: a
# block's latitude band holds a few dozen of Travis County's 766 block groups.
_EVENT_BLOCK = 256
# Widens the latitude band a little, so rounding cannot leave a centroid on its edge out.
_BAND_MARGIN = 1.000001

EVENT_INCIDENT_COLUMNS: tuple[str, ...] = (
    "incident_number",
    "response_datetime",
    "event_id",
    "call_date",
    "geo_id",
    "distance_km",
    "event_name",
    "event_has_alcohol",
    "priority_numeric",
    "response_time",
    "final_problem_category",
)
# The enriched-call columns linkage reads (callers load only these).
LINK_CALL_COLUMNS = (
    "incident_number",
    "response_datetime",
    "response_date",
    "geo_id",
    "latitude_centroid",
    "longitude_centroid",
    "priority_numeric",
    "response_time",
    "final_problem_category",
)
_EVENT_COLUMNS = (
    "event_id",
    "event_name",
    "start_date",
    "end_date",
    "event_lat",
    "event_lon",
    "has_alcohol",
)


def haversine_km(
    lat1: np.ndarray | float,
    lon1: np.ndarray | float,
    lat2: np.ndarray | float,
    lon2: np.ndarray | float,
) -> np.ndarray:
    """Great-circle distance in km (R = 6371), broadcasting over array arguments."""
    phi1, phi2 = np.radians(lat1), np.radians(lat2)
    d_phi = phi2 - phi1
    d_lambda = np.radians(lon2) - np.radians(lon1)
    a = np.sin(d_phi / 2) ** 2 + np.cos(phi1) * np.cos(phi2) * np.sin(d_lambda / 2) ** 2
    return 2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))


def link_calls_to_events(
    calls: pd.DataFrame, events: pd.DataFrame, radius_km: float = DEFAULT_LINK_RADIUS_KM
) -> pd.DataFrame:
    """enriched_911_calls x cleaned_events -> fact_event_incidents (contract columns), sorted
    by (event_id, response_datetime, incident_number).

    Eligible events: a valid location and both dates (end >= start). Eligible calls: a
    block-group centroid (matched geo_id).
    """
    if not radius_km >= 0:
        raise ValueError(f"radius_km must be a non-negative number, got {radius_km!r}")
    _require(calls, LINK_CALL_COLUMNS, "enriched_911_calls")
    _require(events, _EVENT_COLUMNS, "cleaned_events")

    events = _eligible_events(events)
    has_centroid = calls["latitude_centroid"].notna() & calls["longitude_centroid"].notna()
    call_rows = np.flatnonzero(has_centroid.to_numpy() & calls["geo_id"].notna().to_numpy())
    if not len(events) or not len(call_rows):
        return _empty_links(calls, events)

    # Distinct block groups among the eligible calls, as integer codes.
    geo_codes, geo_ids = pd.factorize(calls["geo_id"].to_numpy(dtype=object)[call_rows])
    first_row = call_rows[np.unique(geo_codes, return_index=True)[1]]  # one call per code
    centroid_lat = calls["latitude_centroid"].to_numpy(dtype="float64")[first_row]
    centroid_lon = calls["longitude_centroid"].to_numpy(dtype="float64")[first_row]

    call_days = _day_numbers(calls["response_date"].to_numpy()[call_rows])
    pairs = _pairs_within_radius(events, centroid_lat, centroid_lon, radius_km)
    pair_days = _expand_to_days(pairs, events, call_days.min(), call_days.max())
    call_keys = pd.DataFrame({"geo_code": geo_codes, "day": call_days, "call_row": call_rows})
    links = call_keys.merge(pair_days, on=["geo_code", "day"], how="inner")
    return _link_frame(calls, events, links, geo_ids)


def _require(frame: pd.DataFrame, columns: tuple[str, ...], name: str) -> None:
    missing = set(columns) - set(frame.columns)
    if missing:
        raise SourceSchemaError(f"{name} frame", missing=missing)


def _eligible_events(events: pd.DataFrame) -> pd.DataFrame:
    ok = (
        events["event_lat"].notna()
        & events["event_lon"].notna()
        & events["start_date"].notna()
        & events["end_date"].notna()
        & (events["end_date"] >= events["start_date"])
    )
    if "has_valid_location" in events.columns:
        ok &= events["has_valid_location"].astype(bool)
    return events[ok].reset_index(drop=True)


def _day_numbers(dates: np.ndarray) -> np.ndarray:
    """Calendar dates (naive midnight datetimes) -> days since 1970-01-01."""
    return np.asarray(dates, dtype="datetime64[ns]").astype("datetime64[D]").astype("int64")


def _pairs_within_radius(
    events: pd.DataFrame, lat: np.ndarray, lon: np.ndarray, radius_km: float
) -> pd.DataFrame:
    """(event position, block-group code, distance) for every centroid within the radius, by
    event position, then block-group code.

    Only centroids in the latitude band of a block of events are measured: a point within
    d km of another differs from it in latitude by at most d / R radians, since latitude
    changes no faster than the great-circle distance. Events are taken in order of latitude,
    so a block's band is narrow; the distances are the ones measuring every centroid gives."""
    event_lat = events["event_lat"].to_numpy(dtype="float64")
    event_lon = events["event_lon"].to_numpy(dtype="float64")
    reach = radius_km + _RADIUS_TOLERANCE_KM
    band = np.degrees(reach / EARTH_RADIUS_KM) * _BAND_MARGIN
    by_latitude = np.argsort(event_lat, kind="stable")  # NaN last
    geo_order = np.argsort(lat, kind="stable")
    geo_lat_sorted = lat[geo_order]
    found_events, found_geos, found_distances = [], [], []
    for start in range(0, len(events), _EVENT_BLOCK):
        block = by_latitude[start : start + _EVENT_BLOCK]
        block_lat = event_lat[block]
        if np.isnan(block_lat).all():
            continue  # no distance to a point without a latitude is within any radius
        low = np.searchsorted(geo_lat_sorted, np.nanmin(block_lat) - band, side="left")
        high = np.searchsorted(geo_lat_sorted, np.nanmax(block_lat) + band, side="right")
        geos = geo_order[low:high]
        distance = haversine_km(
            block_lat[:, None], event_lon[block][:, None], lat[geos][None, :], lon[geos][None, :]
        )
        event_index, geo_index = np.nonzero(distance <= reach)
        found_events.append(block[event_index])
        found_geos.append(geos[geo_index])
        found_distances.append(distance[event_index, geo_index])
    if not found_events:
        found_events, found_geos, found_distances = [np.array([], "int64")] * 2 + [np.array([])]
    event_pos, geo_code = np.concatenate(found_events), np.concatenate(found_geos)
    in_order = np.lexsort((geo_code, event_pos))
    return pd.DataFrame(
        {
            "event_pos": event_pos[in_order],
            "geo_code": geo_code[in_order],
            "distance_km": np.concatenate(found_distances)[in_order],
        }
    )


def _expand_to_days(
    pairs: pd.DataFrame, events: pd.DataFrame, first_day: int, last_day: int
) -> pd.DataFrame:
    """One row per (pair, calendar day of the event), so calls join on equality.

    Event windows are clipped to the days that have calls, so a permit with a far-off (or
    mistyped) end date cannot blow the expansion up."""
    start = _day_numbers(events["start_date"].to_numpy())[pairs["event_pos"].to_numpy()]
    end = _day_numbers(events["end_date"].to_numpy())[pairs["event_pos"].to_numpy()]
    start, end = np.maximum(start, first_day), np.minimum(end, last_day)
    length = np.maximum(end - start + 1, 0)
    repeated = pairs.loc[pairs.index.repeat(length)].reset_index(drop=True)
    # Offset of each repeated row within its event: 0, 1, ..., length - 1.
    block_start = np.repeat(np.cumsum(length) - length, length)
    repeated["day"] = np.repeat(start, length) + (np.arange(len(repeated)) - block_start)
    return repeated


def _link_frame(
    calls: pd.DataFrame, events: pd.DataFrame, links: pd.DataFrame, geo_ids: np.ndarray
) -> pd.DataFrame:
    call_row = links["call_row"].to_numpy()
    event_pos = links["event_pos"].to_numpy()
    frame = pd.DataFrame(
        {
            "incident_number": calls["incident_number"].to_numpy(dtype="int64")[call_row],
            "response_datetime": calls["response_datetime"].iloc[call_row].array,
            "event_id": events["event_id"].to_numpy(dtype="int64")[event_pos],
            "call_date": calls["response_date"].to_numpy(dtype="datetime64[ns]")[call_row],
            "geo_id": np.asarray(geo_ids, dtype=object)[links["geo_code"].to_numpy()],
            "distance_km": links["distance_km"].to_numpy(dtype="float64"),
            "event_name": events["event_name"].to_numpy(dtype=object)[event_pos],
            "event_has_alcohol": events["has_alcohol"]
            .astype("boolean")
            .fillna(False)
            .to_numpy(dtype=bool)[event_pos],
            "priority_numeric": calls["priority_numeric"].astype("Int64").array[call_row],
            "response_time": calls["response_time"].astype("Int64").array[call_row],
            "final_problem_category": calls["final_problem_category"].to_numpy(dtype=object)[
                call_row
            ],
        }
    )
    order = np.lexsort(
        (
            frame["incident_number"].to_numpy(),
            frame["response_datetime"].to_numpy(dtype="datetime64[ns]").view("int64"),
            frame["event_id"].to_numpy(),
        )
    )
    return frame.iloc[order].reset_index(drop=True)[list(EVENT_INCIDENT_COLUMNS)]


def _empty_links(calls: pd.DataFrame, events: pd.DataFrame) -> pd.DataFrame:
    links = pd.DataFrame(
        {
            "call_row": np.array([], dtype="int64"),
            "event_pos": np.array([], dtype="int64"),
            "geo_code": np.array([], dtype="int64"),
            "distance_km": np.array([], dtype="float64"),
        }
    )
    return _link_frame(calls, events, links, np.array([], dtype=object))
