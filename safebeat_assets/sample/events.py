"""Synthetic ACE special-event permits (one row per road-closure segment) and their schedule.

``generate_events`` writes the raw text as the ACE export has it: upper-case headers, three
date formats mixed, Yes/No flags with blanks, GPS as decimal text with gaps and a few points
outside Austin. ``event_schedule`` reads that text back into one row per permit (dates, point,
alcohol) for the call generator, which adds calls near running events.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .geography import KM_PER_DEG_LAT, km_per_deg_lon
from .locations import block_group_profile
from .sampling import STREAM_EVENTS, normalized, rng_for
from .temporal import day_range
from .vocabulary import (
    CROSS_STREETS,
    EVENT_CAUSES,
    EVENT_DATE_FORMATS,
    EVENT_FOLDER_TYPES,
    EVENT_INACTIVE_STATUSES,
    EVENT_STATUS_WEIGHTS,
    EVENT_THEMES,
    EVENTS_HEADER,
    GENERIC_EVENT_KINDS,
    NEIGHBORHOODS,
    ORGANIZATIONS,
    RECURRING_EVENTS,
    ROAD_CLOSURE_TYPES,
    STREETS,
    UNPARSEABLE_DATES,
    VENUES,
)

PERMITS_PER_YEAR = 200
FOLDERRSN_START = 1_180_000
DOWNTOWN_VENUES: tuple[str, ...] = (
    "Republic Square",
    "Texas State Capitol",
    "Congress Avenue",
    "East 6th Street",
    "Rainey Street",
    "Auditorium Shores",
    "Palmer Events Center",
    "Waterloo Park",
    "Butler Park",
    "Mexic-Arte Museum",
    "South Congress",
    "Zilker Park",
)
_MONTH_WEIGHTS = (0.6, 0.8, 1.3, 1.4, 1.3, 0.9, 0.7, 0.6, 1.1, 1.4, 1.2, 1.0)
_DOW_WEIGHTS = (0.45, 0.45, 0.45, 0.5, 1.2, 3.0, 2.2)  # Mon..Sun
# (no closure probability, min segments, max segments, alcohol probability, downtown share)
_KIND_PROFILE: dict[str, tuple[float, int, int, float, float]] = {
    "run": (0.0, 3, 12, 0.15, 0.55),
    "block_party": (0.1, 1, 2, 0.55, 0.15),
    "festival": (0.3, 1, 5, 0.8, 0.7),
    "parade": (0.0, 3, 10, 0.3, 0.5),
    "market": (0.4, 1, 2, 0.4, 0.35),
    "walk": (0.1, 2, 6, 0.05, 0.5),
    "concert": (0.6, 1, 2, 0.75, 0.6),
}
_DAYS_CUM = np.cumsum([0.80, 0.12, 0.06, 0.015, 0.005])
_FORMAT_CUM = np.cumsum([0.45, 0.35, 0.20])  # %b %d, %Y | %B %d, %Y %H:%M | ISO
_HOLIDAYS = (
    "Fourth of July",
    "Holiday",
    "Halloween",
    "St. Patrick's Day",
    "Mardi Gras",
    "Lunar New Year",
)


def _one(rng: np.random.Generator, items):
    """A uniformly random element (cheaper than Generator.choice for small lists)."""
    return items[int(rng.integers(len(items)))]


def _pick_weighted(rng: np.random.Generator, cum: np.ndarray) -> int:
    """Index drawn from cumulative probabilities ``cum`` (last value 1)."""
    return min(int(np.searchsorted(cum, rng.random(), side="right")), cum.shape[0] - 1)


# ----------------------------------------------------------------------------------------------
# date rules
# ----------------------------------------------------------------------------------------------
def _nth_weekday(year: int, month: int, weekday: int, nth: int) -> pd.Timestamp:
    first = pd.Timestamp(year=year, month=month, day=1)
    offset = (weekday - first.dayofweek) % 7
    return first + pd.Timedelta(days=offset + 7 * (nth - 1))


def _last_weekday(year: int, month: int, weekday: int) -> pd.Timestamp:
    last = pd.Timestamp(year=year, month=month, day=1) + pd.offsets.MonthEnd(0)
    return last - pd.Timedelta(days=(last.dayofweek - weekday) % 7)


def _resolve_rule(rule: tuple, year: int) -> pd.Timestamp:
    kind = rule[0]
    if kind == "nth_weekday":
        return _nth_weekday(year, rule[1], rule[2], rule[3])
    if kind == "last_weekday":
        return _last_weekday(year, rule[1], rule[2])
    return pd.Timestamp(year=year, month=rule[1], day=rule[2])


# ----------------------------------------------------------------------------------------------
# permits
# ----------------------------------------------------------------------------------------------
def _generic_name(rng: np.random.Generator, kind: str, year: int) -> str:
    cause = _one(rng, EVENT_CAUSES)
    theme = _one(rng, EVENT_THEMES)
    hood = _one(rng, NEIGHBORHOODS)
    street = _one(rng, STREETS)
    r = rng.random()
    if kind == "run":
        return f"{cause} {_one(rng, ('5K', '5K', '5K', '10K', 'Fun Run', 'Half Marathon'))}"
    if kind == "block_party":
        return f"Block Party - {hood}" if r < 0.5 else f"Block Party on {street}"
    if kind == "festival":
        if r < 0.4:
            return f"Austin {theme} Festival"
        return f"{year} {theme} Fest" if r < 0.6 else f"{hood} {theme} Festival"
    if kind == "parade":
        return f"{hood} {_one(rng, _HOLIDAYS)} Parade"
    if kind == "market":
        return f"{hood} {_one(rng, ('Night Market', 'Farmers Market', 'Makers Market'))}"
    if kind == "walk":
        return f"{cause} Walk" if r < 0.7 else "Walk to End Alzheimer's"
    genre = _one(rng, ("Blues", "Jazz", "Reggae", "Mariachi", "Country", "Symphony", "Indie Rock"))
    return f"{genre} Concert at {_one(rng, list(VENUES))}"


def _point_near(
    rng: np.random.Generator, lat: float, lon: float, sd_km: float
) -> tuple[float, float]:
    return (
        lat + rng.normal(0, sd_km / KM_PER_DEG_LAT),
        lon + rng.normal(0, sd_km / km_per_deg_lon(lat)),
    )


def _permits(
    rng: np.random.Generator, profile: pd.DataFrame, start: pd.Timestamp, end: pd.Timestamp
) -> list[dict]:
    """One dict per permit (event), in no particular order."""
    permits: list[dict] = []
    urban = profile[profile["served"] & (profile["county_fp"] == "453")]
    urban_cum = np.cumsum(normalized(urban["weight"].to_numpy() ** 0.5))
    kinds = list(GENERIC_EVENT_KINDS)
    kind_cum = np.cumsum(normalized(list(GENERIC_EVENT_KINDS.values())))

    # a few older permits (before the range) are in the export too
    spans = [(start - pd.Timedelta(days=365), start - pd.Timedelta(days=1), True)]
    for year in range(start.year, end.year + 1):
        y0 = max(start, pd.Timestamp(year=year, month=1, day=1))
        y1 = min(end, pd.Timestamp(year=year, month=12, day=31))
        spans.append((y0, y1, False))
    for y0, y1, before_range in spans:
        year = y0.year
        days = day_range(str(y0.date()), str(y1.date()))
        frac = len(days) / 365.0
        target = rng.poisson(PERMITS_PER_YEAR * frac * (0.05 if before_range else 1.0))

        n_recurring = 0
        for spec in RECURRING_EVENTS if not before_range else ():
            name, org, venue, rule, n_days, tier, alcohol, sound, smin, smax = spec
            day0 = _resolve_rule(rule, year)
            if not (start <= day0 <= end):
                continue
            lat, lon = VENUES[venue]
            n_recurring += 1
            permits.append(
                {
                    "name": name if rng.random() < 0.6 else f"{year} {name}",
                    "org": org,
                    "start": day0,
                    "days": n_days,
                    "tier": tier,
                    "alcohol": alcohol,
                    "sound": sound,
                    "segments": int(rng.integers(smin, smax + 1)),
                    "lat": lat,
                    "lon": lon,
                    "spread_km": 0.25,
                    "start_hour": _one(rng, (7, 9, 10, 11, 12)),
                }
            )

        n_generic = max(0, int(target) - n_recurring)
        if n_generic == 0:
            continue
        dw = np.asarray(_MONTH_WEIGHTS)[days.month - 1] * np.asarray(_DOW_WEIGHTS)[days.dayofweek]
        picks = rng.choice(len(days), size=n_generic, p=normalized(dw))
        for i in range(n_generic):
            kind = kinds[_pick_weighted(rng, kind_cum)]
            no_closure, smin, smax, p_alcohol, p_down = _KIND_PROFILE[kind]
            if rng.random() < p_down:
                venue = DOWNTOWN_VENUES[rng.integers(len(DOWNTOWN_VENUES))]
                lat, lon = _point_near(rng, *VENUES[venue], 0.35)
            else:
                j = _pick_weighted(rng, urban_cum)
                lat, lon = _point_near(
                    rng, float(urban["lat"].iloc[j]), float(urban["lon"].iloc[j]), 0.3
                )
            n_days = 1 + _pick_weighted(rng, _DAYS_CUM)
            permits.append(
                {
                    "name": _generic_name(rng, kind, year),
                    "org": _one(rng, ORGANIZATIONS),
                    "start": days[picks[i]],
                    "days": n_days,
                    "tier": "4" if rng.random() < 0.12 else "3",
                    "alcohol": "Yes" if rng.random() < p_alcohol else "No",
                    "sound": "Yes" if rng.random() < 0.75 else "No",
                    "segments": 0
                    if rng.random() < no_closure
                    else int(rng.integers(smin, smax + 1)),
                    "lat": lat,
                    "lon": lon,
                    "spread_km": 0.2,
                    "start_hour": _one(rng, (7, 8, 10, 11, 12, 16, 17, 18)),
                }
            )
    return permits


def _format_date(ts: pd.Timestamp, fmt: int, hour: int) -> str:
    if fmt == 0:
        return ts.strftime("%b %d, %Y")
    if fmt == 1:
        return ts.replace(hour=hour).strftime("%B %d, %Y %H:%M")
    return ts.strftime("%Y-%m-%dT00:00:00.000")


def _segment_text(rng: np.random.Generator) -> str:
    street = _one(rng, STREETS)
    crosses = [
        c for c in CROSS_STREETS if c.split()[-2:] != street.split()[-2:] and c not in street
    ]
    a = int(rng.integers(len(crosses)))
    b = (a + 1 + int(rng.integers(len(crosses) - 1))) % len(crosses)
    r = rng.random()
    if r < 0.8:
        return f"{street} from {crosses[a]} to {crosses[b]}"
    if r < 0.95:
        k = int(rng.integers(1, 20)) * 100
        return f"{k}-{k + 300} block of {street}"
    return f"{street} at {crosses[a]}"


def generate_events(
    block_groups: pd.DataFrame,
    seed: int = 42,
    start: str = "2023-01-01",
    end: str = "2025-12-31",
) -> pd.DataFrame:
    """ACE events export: ~200 permits per year, one row per road-closure segment, all text.

    Columns are ``vocabulary.EVENTS_HEADER``; empty cells are "" (written as empty fields).
    """
    rng = rng_for(seed, STREAM_EVENTS)
    start_ts, end_ts = pd.Timestamp(start).normalize(), pd.Timestamp(end).normalize()
    profile = block_group_profile(block_groups, seed)
    permits = _permits(rng, profile, start_ts, end_ts)
    permits.sort(key=lambda p: (p["start"], p["name"]))
    rsn_gaps = rng.integers(40, 3000, size=len(permits))
    rsns = FOLDERRSN_START + np.cumsum(rsn_gaps)

    statuses = list(EVENT_STATUS_WEIGHTS)
    status_cum = np.cumsum(normalized(list(EVENT_STATUS_WEIGHTS.values())))
    ftypes = list(EVENT_FOLDER_TYPES)
    ftype_cum = np.cumsum(normalized(list(EVENT_FOLDER_TYPES.values())))
    closure_types = list(ROAD_CLOSURE_TYPES)
    closure_cum = np.cumsum(normalized(list(ROAD_CLOSURE_TYPES.values())))

    rows: list[list[str]] = []
    for rsn, p in zip(rsns.tolist(), permits, strict=True):
        fmt = _pick_weighted(rng, _FORMAT_CUM)
        end_day = p["start"] + pd.Timedelta(days=p["days"] - 1)
        start_text = _format_date(p["start"], fmt, p["start_hour"])
        end_text = _format_date(end_day, fmt, min(23, p["start_hour"] + int(rng.integers(3, 12))))
        setup = _format_date(p["start"] - pd.Timedelta(days=int(rng.integers(0, 3))), fmt, 6)
        teardown = _format_date(end_day + pd.Timedelta(days=int(rng.integers(0, 2))), fmt, 23)
        setup = "" if rng.random() < 0.1 else setup
        teardown = "" if rng.random() < 0.1 else teardown
        status = statuses[_pick_weighted(rng, status_cum)]
        ftype = ftypes[_pick_weighted(rng, ftype_cum)]
        no_gps = rng.random() < 0.03
        n_rows = max(1, p["segments"])
        for s in range(n_rows):
            if p["segments"] == 0:
                closure, closure_type = "", ""
            else:
                closure = _segment_text(rng)
                closure_type = closure_types[_pick_weighted(rng, closure_cum)]
            lat, lon = _point_near(rng, p["lat"], p["lon"], p["spread_km"] if s else 0.05)
            r = rng.random()
            if no_gps or r < 0.04:
                lat_text, lon_text = "", ""
            elif r < 0.048:
                lat_text, lon_text = "0", "0"
            elif r < 0.053:
                lat_text, lon_text = f"{lon:.6f}", f"{lat:.6f}"  # swapped
            else:
                lat_text, lon_text = f"{lat:.6f}", f"{lon:.6f}"
            rows.append(
                [
                    str(rsn),
                    ftype,
                    p["name"],
                    status,
                    p["tier"],
                    p["org"],
                    start_text,
                    end_text,
                    setup,
                    teardown,
                    str(p["days"]),
                    "" if rng.random() < 0.05 else p["alcohol"],
                    "" if rng.random() < 0.05 else p["sound"],
                    closure,
                    closure_type,
                    lat_text,
                    lon_text,
                ]
            )
    frame = pd.DataFrame(rows, columns=list(EVENTS_HEADER), dtype=object)
    _inject_anomalies(rng, frame)
    return frame


def _inject_anomalies(rng: np.random.Generator, frame: pd.DataFrame) -> None:
    """A few unparseable dates and points outside the Austin box (at least one each)."""
    n = len(frame)
    if n == 0:
        return
    k = max(1, round(n * 0.004))
    bad = rng.choice(n, size=min(k, n), replace=False)
    col = np.where(rng.random(bad.shape[0]) < 0.5, "START_DATE", "END_DATE")
    for i, c in zip(bad.tolist(), col.tolist(), strict=True):
        frame.iat[i, frame.columns.get_loc(c)] = _one(rng, UNPARSEABLE_DATES)
    has_gps = np.nonzero((frame["GPSLATITUDE"] != "").to_numpy())[0]
    if has_gps.shape[0] >= 3:
        i0, i1 = rng.choice(has_gps, size=2, replace=False).tolist()
        frame.iat[i0, frame.columns.get_loc("GPSLATITUDE")] = "0"
        frame.iat[i0, frame.columns.get_loc("GPSLONGITUDE")] = "0"
        lat, lon = frame.at[i1, "GPSLATITUDE"], frame.at[i1, "GPSLONGITUDE"]
        frame.at[i1, "GPSLATITUDE"], frame.at[i1, "GPSLONGITUDE"] = lon, lat


# ----------------------------------------------------------------------------------------------
# schedule (text -> one row per permit)
# ----------------------------------------------------------------------------------------------
def parse_event_dates(text: pd.Series) -> pd.Series:
    """Parse the three ACE date formats; anything else becomes NaT."""
    s = text.astype("string").str.strip()
    out = pd.Series(pd.NaT, index=s.index, dtype="datetime64[ns]")
    for fmt in EVENT_DATE_FORMATS:
        parsed = pd.to_datetime(s, format=fmt, errors="coerce")
        out = out.fillna(parsed)
    return out


def event_schedule(events: pd.DataFrame | None) -> pd.DataFrame:
    """One row per active permit with a valid location and dates.

    Columns: event_id (int64), start_date, end_date (datetime64, midnight), lat, lon (float),
    has_alcohol (bool), tier (int). Cancelled/withdrawn permits are left out.
    """
    cols = ["event_id", "start_date", "end_date", "lat", "lon", "has_alcohol", "tier"]
    if events is None or len(events) == 0:
        return pd.DataFrame(columns=cols)
    ev = events.rename(columns=str.upper)
    frame = pd.DataFrame(
        {
            "event_id": pd.to_numeric(ev["FOLDERRSN"], errors="coerce"),
            "start": parse_event_dates(ev["START_DATE"]).dt.normalize(),
            "end": parse_event_dates(ev["END_DATE"]).dt.normalize(),
            "lat": pd.to_numeric(ev["GPSLATITUDE"], errors="coerce"),
            "lon": pd.to_numeric(ev["GPSLONGITUDE"], errors="coerce"),
            "alcohol": ev["ALCOHOL_SERVED"]
            .astype("string")
            .str.strip()
            .str.lower()
            .isin(["yes", "y", "true", "1"]),
            "tier": pd.to_numeric(ev["TIER_TYPE"], errors="coerce"),
            "inactive": ev["STATUS"].astype("string").isin(list(EVENT_INACTIVE_STATUSES)),
        }
    )
    valid_point = frame["lat"].between(29, 32) & frame["lon"].between(-99, -96)
    frame.loc[~valid_point, ["lat", "lon"]] = np.nan
    frame = frame.dropna(subset=["event_id"])
    g = frame.groupby("event_id", sort=True)
    out = pd.DataFrame(
        {
            "start_date": g["start"].min(),
            "end_date": g["end"].max(),
            "lat": g["lat"].median(),
            "lon": g["lon"].median(),
            "has_alcohol": g["alcohol"].any(),
            "tier": g["tier"].max(),
            "inactive": g["inactive"].any(),
        }
    ).reset_index()
    out = out[~out["inactive"]].dropna(subset=["start_date", "end_date", "lat", "lon"])
    out = out[out["end_date"] >= out["start_date"]]
    out["event_id"] = out["event_id"].astype(np.int64)
    out["tier"] = out["tier"].fillna(3).astype(np.int64)
    return out[cols].reset_index(drop=True)
