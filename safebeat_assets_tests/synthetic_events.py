"""A synthetic call and event history with a known event effect, for the event-impact and
planner tests: block groups in pairs ("sites") far apart, Poisson calls per block group and
hour, one-day events at sites that multiply the calls of the site's block groups that day."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from safebeat_assets.analytics import event_impact
from safebeat_assets.transform.linkage import link_calls_to_events

START = "2024-01-01"  # a Monday
LAT0, LON0 = 30.0, -97.8
SITE_SPACING_DEG = 0.1  # ~10 km: no event reaches another site
HOUR_SHAPE = np.array([0.5] * 6 + [1.0] * 12 + [1.5] * 6)  # night, day, evening
CATEGORIES = ("Disturbance", "Theft", "Noise", "Assault", "Alarm")


@dataclass
class History:
    calls: pd.DataFrame  # enriched-like, located (geo_id = the matched block group)
    events: pd.DataFrame  # dim_event-like
    geo: pd.DataFrame  # dim_geo-like
    links: pd.DataFrame  # fact_event_incidents


def synthetic_history(
    days: int = 364,
    sites: int = 10,
    events: int = 300,
    rate_per_hour: float = 0.12,
    base_uplift: float = 1.2,
    alcohol_uplift: float = 2.0,
    seed: int = 3,
) -> History:
    """Calls = Poisson(rate · hour shape) per block group and hour; on an event day the
    site's calls are multiplied by base_uplift, and by alcohol_uplift more for alcohol events.
    At most one event per site and day; tiers 3 and 4 and the other flags have no effect."""
    rng = np.random.default_rng(seed)
    geo_rows = []
    for site in range(sites):
        for k in range(2):  # two block groups ~0.5 km apart per site
            geo_rows.append(
                {
                    "geo_id": f"48453{site:05d}{k}{k}",
                    "latitude_centroid": LAT0 + SITE_SPACING_DEG * site + 0.0045 * k,
                    "longitude_centroid": LON0,
                    "site": site,
                }
            )
    geo = pd.DataFrame(geo_rows)
    n_geo = len(geo)

    slots = rng.choice(days * sites, size=events, replace=False)
    event_day, event_site = slots // sites, slots % sites
    alcohol = rng.random(events) < 0.5
    dates = pd.Timestamp(START) + pd.to_timedelta(event_day, unit="D")
    events_frame = pd.DataFrame(
        {
            "event_id": np.arange(1, events + 1, dtype="int64") + 1_000_000,
            "event_name": [f"Event {i}" for i in range(events)],
            "tier": pd.array(rng.choice([3, 3, 4], size=events), dtype="Int64"),
            "start_date": dates,
            "end_date": dates,
            "has_alcohol": alcohol,
            "has_amplified_sound": rng.random(events) < 0.6,
            "has_road_closure": rng.random(events) < 0.7,
            "has_valid_location": True,
            "event_lat": LAT0 + SITE_SPACING_DEG * event_site + 0.002,
            "event_lon": LON0,
            "expected_attendance": pd.array([pd.NA] * events, dtype="Int64"),
        }
    )

    multiplier = np.ones((days, n_geo))
    site_of_geo = geo["site"].to_numpy()
    for day, site, drinks in zip(event_day, event_site, alcohol, strict=True):
        multiplier[day, site_of_geo == site] = base_uplift * (alcohol_uplift if drinks else 1.0)
    lam = rate_per_hour * multiplier[:, :, None] * HOUR_SHAPE[None, None, :]
    counts = rng.poisson(lam)  # days x geos x hours
    day_i, geo_i, hour_i = np.nonzero(counts)
    reps = counts[day_i, geo_i, hour_i]
    day_i, geo_i, hour_i = (np.repeat(a, reps) for a in (day_i, geo_i, hour_i))
    n = len(day_i)
    local = (
        pd.Timestamp(START)
        + pd.to_timedelta(day_i, unit="D")
        + pd.to_timedelta(hour_i, unit="h")
        + pd.to_timedelta(rng.integers(0, 3600, n), unit="s")
    )
    calls = pd.DataFrame(
        {
            "incident_number": np.arange(n, dtype="int64") + 100_000_000,
            "response_datetime": pd.DatetimeIndex(local).tz_localize(
                "America/Chicago", ambiguous=True, nonexistent="shift_forward"
            ),
            "response_date": pd.DatetimeIndex(local).normalize(),
            "response_hour": hour_i.astype("int64"),
            "geo_id": geo["geo_id"].to_numpy()[geo_i],
            "latitude_centroid": geo["latitude_centroid"].to_numpy()[geo_i],
            "longitude_centroid": geo["longitude_centroid"].to_numpy()[geo_i],
            "priority_numeric": pd.array(rng.choice([0, 1, 2, 2, 3], size=n), dtype="Int64"),
            "response_time": pd.array(rng.integers(60, 1800, n), dtype="Int64"),
            "final_problem_category": rng.choice(CATEGORIES, size=n),
            "unit_time_on_scene": pd.array(rng.integers(600, 5400, n), dtype="Int64"),
            "number_of_units_arrived": pd.array(rng.integers(1, 4, n), dtype="Int64"),
        }
    )
    links = link_calls_to_events(calls, events_frame, radius_km=1.5)
    return History(calls, events_frame, geo.drop(columns="site"), links)


def fitted(history: History, **kwargs):
    """Baseline rates and the fitted model of a history, as the two assets compute them."""
    first, last = event_impact.history_range(history.calls)
    event_days = event_impact.event_geo_days(history.events, history.geo, 1.5, first, last)
    rates = event_impact.baseline_rates(history.calls, event_days, first, last)
    result = event_impact.fit_event_impact(
        history.calls, history.links, history.events, history.geo, rates, **kwargs
    )
    return rates, result
