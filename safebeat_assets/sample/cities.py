"""Samples of the other built-in cities: each city's 911 export in its published layout (exact
header, value formats, local time, a few bad rows) and its census block groups (TIGER
attribute names, EPSG:4269). Neither city has a permit feed, so no events file is written.

Calls are drawn with Austin's calendar and hourly shapes (the shapes are alike across US
cities); places are block groups chosen uniformly, and block groups are denser where people
live, so calls are too. A call's point is its block group's internal point plus ~200 m of
jitter, so a few land in a neighbour, as geocoded points do.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from .geography import CountySpec, generate_block_groups
from .sampling import choice, choice_by_group, rng_for
from .temporal import daily_weights, day_range, hour_probabilities
from .writers import write_block_groups_geojson

STREAM_CITY_CALLS = 11
JITTER_DEGREES = 0.002

MONTGOMERY_COUNTY = CountySpec(
    state_fp="42",
    county_fp="091",
    name="Montgomery",
    bbox=(-75.70, 39.96, -75.02, 40.45),
    n_block_groups=540,
    centres=(
        (40.1215, -75.3399, 3.0, 0.16),  # Norristown, the county seat
        (40.0890, -75.3960, 4.0, 0.14),  # King of Prussia
        (40.0080, -75.2900, 4.0, 0.16),  # Lower Merion
        (40.1000, -75.1200, 4.0, 0.14),  # Abington / Cheltenham
        (40.2415, -75.2838, 3.5, 0.10),  # Lansdale
        (40.2454, -75.6496, 3.0, 0.08),  # Pottstown
    ),
    uniform_weight=0.22,
    land_km2=1250.4,
    water_km2=11.6,
    tract_base_start=2001,
    downtown=(40.1215, -75.3399),
)
SEATTLE_COUNTY = CountySpec(  # King County, the City of Seattle's part
    state_fp="53",
    county_fp="033",
    name="King",
    bbox=(-122.44, 47.49, -122.23, 47.74),
    n_block_groups=570,
    centres=(
        (47.6062, -122.3321, 1.5, 0.22),  # downtown
        (47.6205, -122.3170, 1.5, 0.12),  # Capitol Hill
        (47.6680, -122.3840, 2.0, 0.10),  # Ballard
        (47.6610, -122.3130, 2.0, 0.11),  # University District
        (47.5610, -122.3870, 2.5, 0.09),  # West Seattle
        (47.5400, -122.2800, 2.5, 0.10),  # Rainier Valley
        (47.7060, -122.3250, 2.5, 0.08),  # Northgate
    ),
    uniform_weight=0.18,
    land_km2=217.0,
    water_km2=152.0,
    tract_base_start=1,
    downtown=(47.6062, -122.3321),
)

# Montgomery's `title` reasons and the commonest types of the published feed, with shares.
MONTGOMERY_TITLES: dict[str, tuple[tuple[str, float], ...]] = {
    "EMS": (
        ("FALL VICTIM", 8), ("RESPIRATORY EMERGENCY", 8), ("CARDIAC EMERGENCY", 8),
        ("VEHICLE ACCIDENT", 5), ("SUBJECT IN PAIN", 4), ("HEAD INJURY", 4),
        ("UNKNOWN MEDICAL EMERGENCY", 3), ("SYNCOPAL EPISODE", 3), ("SEIZURES", 3),
        ("GENERAL WEAKNESS", 3), ("ABDOMINAL PAINS", 3), ("ALTERED MENTAL STATUS", 3),
        ("MEDICAL ALERT ALARM", 2), ("HEMORRHAGING", 2), ("OVERDOSE", 2),
        ("BACK PAINS/INJURY", 2), ("DIABETIC EMERGENCY", 2), ("UNCONSCIOUS SUBJECT", 2),
        ("CVA/STROKE", 2), ("NAUSEA/VOMITING", 2),
    ),
    "Traffic": (
        ("VEHICLE ACCIDENT -", 24), ("DISABLED VEHICLE -", 7), ("ROAD OBSTRUCTION -", 3),
        ("HAZARDOUS ROAD CONDITIONS -", 1), ("VEHICLE FIRE -", 1),
    ),
    "Fire": (
        ("FIRE ALARM", 6), ("VEHICLE ACCIDENT", 2), ("FIRE INVESTIGATION", 2),
        ("GAS-ODOR/LEAK", 1.5), ("BUILDING FIRE", 1), ("CARBON MONOXIDE DETECTOR", 1),
        ("FIRE SPECIAL SERVICE", 1), ("VEHICLE FIRE", 0.5),
    ),
}  # fmt: skip
MONTGOMERY_TOWNSHIPS: tuple[str, ...] = (
    "ABINGTON", "AMBLER", "BRIDGEPORT", "CHELTENHAM", "COLLEGEVILLE", "CONSHOHOCKEN",
    "DOUGLASS", "EAST NORRITON", "FRANCONIA", "HATBORO", "HATFIELD TOWNSHIP", "HORSHAM",
    "JENKINTOWN", "LANSDALE", "LIMERICK", "LOWER GWYNEDD", "LOWER MERION", "LOWER MORELAND",
    "LOWER POTTSGROVE", "LOWER PROVIDENCE", "LOWER SALFORD", "MONTGOMERY", "NARBERTH",
    "NEW HANOVER", "NORRISTOWN", "NORTH WALES", "PLYMOUTH", "POTTSTOWN", "ROYERSFORD",
    "SKIPPACK", "SOUDERTON", "SPRINGFIELD", "TELFORD", "TOWAMENCIN", "UPPER DUBLIN",
    "UPPER GWYNEDD", "UPPER MERION", "UPPER MORELAND", "UPPER POTTSGROVE", "UPPER PROVIDENCE",
    "WEST NORRITON", "WHITEMARSH", "WHITPAIN", "WORCESTER",
)  # fmt: skip
MONTGOMERY_ZIPS: tuple[str, ...] = (
    "19401", "19403", "19406", "19446", "19454", "19464", "19525", "19002", "19006", "19012",
    "19027", "19038", "19044", "19046", "19090", "19003", "19004", "19010", "19035", "19428",
)  # fmt: skip
# Seattle Fire's response types with their rough shares in the published feed.
SEATTLE_TYPES: tuple[tuple[str, float], ...] = (
    ("Aid Response", 45), ("Medic Response", 17), ("Auto Fire Alarm", 5),
    ("Trans to AMR", 5), ("Aid Response Yellow", 3), ("MVI - Motor Vehicle Incident", 3),
    ("Triaged Incident", 3), ("Low Acuity Response", 3), ("Automatic Fire Alarm Resd", 2),
    ("Rescue Elevator", 1.5), ("Investigate Out Of Service", 1), ("Car Fire", 1),
    ("Rubbish Fire", 1.5), ("Natural Gas Leak", 0.5), ("Fire in Building", 1),
    ("Activated CO Detector", 0.5), ("Encampment Fire", 1), ("Medic Response- 7 per Rule", 1),
)  # fmt: skip
STREETS: tuple[str, ...] = (
    "MAIN ST", "CHURCH RD", "MARKET ST", "RIDGE PIKE", "DEKALB PIKE", "BETHLEHEM PIKE",
    "GERMANTOWN PIKE", "YORK RD", "EASTON RD", "LANCASTER AVE", "CITY AVE", "SUMNEYTOWN PIKE",
    "BUTLER PIKE", "WELSH RD", "COUNTY LINE RD", "SWEDE ST", "AIRY ST", "HAWS AVE",
    "SKIPPACK PIKE", "HIGH ST", "CHARLOTTE ST", "EGYPT RD", "TROOPER RD", "VALLEY FORGE RD",
)  # fmt: skip
SEATTLE_STREETS: tuple[str, ...] = (
    "1st Av", "2nd Av", "3rd Av", "4th Av", "5th Av", "6th Av", "7th Av", "Pike St",
    "Pine St", "Broadway", "Rainier Av S", "Aurora Av N", "NE 45th St", "15th Av NW",
    "California Av SW", "Lake City Way NE", "Madison St", "Jackson St", "Denny Way",
    "Market St NW", "Beacon Av S", "University Way NE", "Northgate Way", "Delridge Way SW",
)  # fmt: skip
MONTGOMERY_HEADER: tuple[str, ...] = (
    "lat", "lng", "desc", "zip", "title", "timeStamp", "twp", "addr", "e",
)  # fmt: skip
SEATTLE_HEADER: tuple[str, ...] = (
    "Address", "Type", "Datetime", "Latitude", "Longitude", "Report Location", "Incident Number",
)  # fmt: skip
# Far-away points the Montgomery feed really carries a few of (mis-geocoded addresses).
MONTGOMERY_STRAYS: tuple[tuple[float, float], ...] = (
    (30.3336, -95.5955),
    (41.1670, -77.0000),
    (40.4790, -76.0560),
    (39.9525, -75.1636),
)


@dataclass(frozen=True)
class CityLayout:
    name: str
    county: CountySpec
    calls_file: str  # with {start} and {end}
    header: tuple[str, ...]


CITY_LAYOUTS: dict[str, CityLayout] = {
    "montgomery": CityLayout(
        "montgomery", MONTGOMERY_COUNTY, "montgomery_911_{start}_{end}.csv", MONTGOMERY_HEADER
    ),
    "seattle": CityLayout(
        "seattle",
        SEATTLE_COUNTY,
        "Seattle_Real_Time_Fire_911_Calls_{start}_{end}.csv",
        SEATTLE_HEADER,
    ),
}


@dataclass(frozen=True)
class CitySample:
    calls: pd.DataFrame  # text, the city's header
    block_groups: pd.DataFrame
    bad_rows: int


@dataclass(frozen=True)
class CitySamplePaths:
    calls: Path
    block_groups: Path


def build_city_sample(
    city: str, n_calls: int, seed: int = 42, start: str = "2023-01-01", end: str = "2025-12-31"
) -> CitySample:
    layout = _layout(city)
    block_groups = generate_block_groups(seed, (layout.county,))
    rng = rng_for(seed, STREAM_CITY_CALLS, list(CITY_LAYOUTS).index(city))
    moments, bg = _when_and_where(rng, n_calls, start, end, len(block_groups))
    lat = block_groups["INTPTLAT"].astype(float).to_numpy()[bg]
    lon = block_groups["INTPTLON"].astype(float).to_numpy()[bg]
    lat = lat + rng.normal(0, JITTER_DEGREES, n_calls)
    lon = lon + rng.normal(0, JITTER_DEGREES, n_calls)
    tracts = block_groups["TRACTCE"].to_numpy()[bg]
    if city == "montgomery":
        calls, bad = _montgomery(rng, moments, lat, lon, tracts)
    else:
        calls, bad = _seattle(rng, moments, lat, lon)
    return CitySample(calls, block_groups, bad)


def write_city_sample(
    sample: CitySample, city: str, out_dir: Path, start: str, end: str
) -> CitySamplePaths:
    layout = _layout(city)
    out_dir = Path(out_dir)
    calls_path = out_dir / "calls" / layout.calls_file.format(start=start, end=end)
    calls_path.parent.mkdir(parents=True, exist_ok=True)
    sample.calls.to_csv(calls_path, index=False, lineterminator="\n", encoding="utf-8")
    state = layout.county.state_fp
    bg_path = write_block_groups_geojson(
        sample.block_groups,
        out_dir / "block_groups" / f"tl_2020_{state}_bg_sample.geojson",
        name=f"tl_2020_{state}_bg",
    )
    return CitySamplePaths(calls_path, bg_path)


def _layout(city: str) -> CityLayout:
    if city not in CITY_LAYOUTS:
        raise ValueError(f"no sample layout for city {city!r} (known: {', '.join(CITY_LAYOUTS)})")
    return CITY_LAYOUTS[city]


def _when_and_where(
    rng: np.random.Generator, n: int, start: str, end: str, n_block_groups: int
) -> tuple[pd.Series, np.ndarray]:
    """Local wall-clock moments in time order, and the block group (row) of each call."""
    if n < 1:
        raise ValueError("n_calls must be >= 1")
    days = day_range(start, end)
    day_idx = np.repeat(np.arange(len(days)), rng.multinomial(n, daily_weights(days, rng)))
    weekend = (days.dayofweek.to_numpy()[day_idx] >= 5).astype(np.int64)
    hour = choice_by_group(rng, weekend, hour_probabilities())
    seconds = hour * 3600 + rng.integers(0, 3600, n)
    moments = pd.Series(days[day_idx] + pd.to_timedelta(seconds, unit="s")).sort_values()
    return moments.reset_index(drop=True), rng.integers(0, n_block_groups, n)


def _weighted(
    rng: np.random.Generator, options: tuple[tuple[str, float], ...], n: int
) -> np.ndarray:
    names = np.array([name for name, _ in options], dtype=object)
    return names[choice(rng, n, [weight for _, weight in options])]


def _addresses(
    rng: np.random.Generator, streets: tuple[str, ...], n: int, joiner: str
) -> np.ndarray:
    pick = np.array(streets, dtype=object)
    first = pick[rng.integers(0, len(streets), n)]
    second = pick[rng.integers(0, len(streets), n)]
    numbers = rng.integers(100, 9999, n).astype(str).astype(object)
    intersection = rng.random(n) < 0.6
    return np.where(intersection, first + joiner + second, numbers + " " + first)


def _montgomery(
    rng: np.random.Generator, moments: pd.Series, lat: np.ndarray, lon: np.ndarray, tracts
) -> tuple[pd.DataFrame, int]:
    n = len(moments)
    reason = np.array(list(MONTGOMERY_TITLES), dtype=object)[choice(rng, n, [49, 36, 15])]
    kind = np.empty(n, dtype=object)
    for name, options in MONTGOMERY_TITLES.items():
        rows = reason == name
        kind[rows] = _weighted(rng, options, int(rows.sum()))
    townships = np.array(MONTGOMERY_TOWNSHIPS, dtype=object)
    twp = townships[pd.util.hash_array(np.asarray(tracts, dtype=object)) % len(townships)]
    addr = _addresses(rng, STREETS, n, " & ")
    stamp = moments.dt.strftime("%Y-%m-%d %H:%M:%S").to_numpy(dtype=object)
    station = rng.integers(301, 399, n).astype(str).astype(object)
    desc = (
        addr + ";  " + twp + "; Station " + station + "; "
        + moments.dt.strftime("%Y-%m-%d @ %H:%M:%S").to_numpy(dtype=object) + ";"
    )  # fmt: skip
    zips = np.array(MONTGOMERY_ZIPS, dtype=object)[rng.integers(0, len(MONTGOMERY_ZIPS), n)]
    zips = np.where(rng.random(n) < 0.12, "", zips + ".0")  # float-formatted, often missing
    lat_text = np.char.mod("%.7f", lat).astype(object)
    lon_text = np.char.mod("%.7f", lon).astype(object)
    # A few strays far outside the county, as the real feed has.
    bad = rng.choice(n, size=min(n, max(2, n // 2000)), replace=False)
    strays = np.array(MONTGOMERY_STRAYS)[np.arange(len(bad)) % len(MONTGOMERY_STRAYS)]
    lat_text[bad] = np.char.mod("%.7f", strays[:, 0]).astype(object)
    lon_text[bad] = np.char.mod("%.7f", strays[:, 1]).astype(object)
    calls = pd.DataFrame(
        {
            "lat": lat_text,
            "lng": lon_text,
            "desc": desc,
            "zip": zips,
            "title": reason + ": " + kind,
            "timeStamp": stamp,
            "twp": twp,
            "addr": addr,
            "e": "1",
        },
        columns=list(MONTGOMERY_HEADER),
    )
    return calls, len(bad)


def _seattle(
    rng: np.random.Generator, moments: pd.Series, lat: np.ndarray, lon: np.ndarray
) -> tuple[pd.DataFrame, int]:
    n = len(moments)
    years = moments.dt.year.to_numpy()
    per_year = pd.Series(years).groupby(years).cumcount().to_numpy() + 40_000
    numbers = np.char.add(
        np.char.add("F", np.char.mod("%02d", years % 100)), np.char.mod("%07d", per_year)
    ).astype(object)
    lat_text = np.char.mod("%.6f", lat).astype(object)
    lon_text = np.char.mod("%.6f", lon).astype(object)
    location = "POINT (" + lon_text + " " + lat_text + ")"
    stamp = moments.dt.strftime("%m/%d/%Y %I:%M:%S %p").to_numpy(dtype=object)
    unlocated = rng.random(n) < 0.003  # published rows without coordinates
    lat_text[unlocated] = lon_text[unlocated] = location[unlocated] = ""
    broken = rng.choice(n, size=min(n, max(1, n // 5000)), replace=False)
    stamp[broken] = "00/00/0000 00:00:00 AM"  # unparseable: quarantined, counted
    calls = pd.DataFrame(
        {
            "Address": _addresses(rng, SEATTLE_STREETS, n, " / "),
            "Type": _weighted(rng, SEATTLE_TYPES, n),
            "Datetime": stamp,
            "Latitude": lat_text,
            "Longitude": lon_text,
            "Report Location": location,
            "Incident Number": numbers,
        },
        columns=list(SEATTLE_HEADER),
    )
    return calls, int(unlocated.sum()) + len(broken)
