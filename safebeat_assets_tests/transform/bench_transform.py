"""Timing of the ingest + transform path on a realistic-size synthetic APD export.

Not a unit test (pytest does not collect it). Run:

    .venv/bin/python safebeat_assets_tests/transform/bench_transform.py [n_calls]

Builds ~835K distinct calls over 2023-2025 in the 25-column CSV layout (thousands separators,
missing/invalid Geo IDs, a few repeated incident numbers), ~1,700 block groups and ~2,000
events, then times read_apd_calls, clean_calls, enrich_calls, clean_events and
link_calls_to_events.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from safebeat_assets.sample.vocabulary import CALLS_HEADER_25
from safebeat_assets.sources import read_apd_calls
from safebeat_assets.sources.columns import APD_CORE_COLUMNS
from safebeat_assets.transform import (
    build_geo_table,
    clean_calls,
    clean_events,
    enrich_calls,
    link_calls_to_events,
    to_fact_calls,
)

# The generator's exact APD header, so the benchmark reads what real exports look like.
HEADER_25 = list(CALLS_HEADER_25)


def synthetic_block_groups(rng: np.random.Generator, n: int = 1_700) -> gpd.GeoDataFrame:
    counties = rng.choice(["453", "209", "491"], size=n, p=[0.7, 0.1, 0.2])
    geoid = [f"48{c}{i:06d}{1 + i % 4}" for i, c in enumerate(counties)]
    lat = rng.uniform(30.05, 30.60, n)
    lon = rng.uniform(-98.10, -97.45, n)
    boxes = shapely.box(lon - 0.004, lat - 0.004, lon + 0.004, lat + 0.004)
    return gpd.GeoDataFrame(
        {
            "STATEFP": "48",
            "COUNTYFP": counties,
            "GEOID": geoid,
            "ALAND": rng.integers(200_000, 5_000_000, n),
            "AWATER": 0,
            "INTPTLAT": [f"{v:+.7f}" for v in lat],
            "INTPTLON": [f"{v:+012.7f}" for v in lon],
        },
        geometry=[shapely.MultiPolygon([b]) for b in boxes],
        crs="EPSG:4269",
    )


def synthetic_calls_csv(path: Path, rng: np.random.Generator, n: int, geo_ids: list[str]) -> None:
    start = pd.Timestamp("2023-01-01")
    seconds = np.sort(rng.integers(0, 3 * 365 * 86_400, n))
    response = start + pd.to_timedelta(seconds, unit="s")
    arrived = response + pd.to_timedelta(rng.integers(60, 7_200, n), unit="s")
    closed = arrived + pd.to_timedelta(rng.integers(60, 7_200, n), unit="s")
    fmt = "%Y %b %d %I:%M:%S %p"
    numbers = (
        (response.year % 100) * 10_000_000 + response.dayofyear * 10_000 + np.arange(n) % 10_000
    )
    numbers = pd.Series(numbers).astype(str)
    numbers.iloc[1:200:20] = numbers.iloc[0:199:20].to_numpy()  # a few repeated numbers
    geo = pd.Series(rng.choice(geo_ids, n), dtype=object)
    geo[rng.random(n) < 0.01] = None
    geo[rng.random(n) < 0.002] = "4.845300e+11"
    categories = np.array(
        ["Disturbance", "Welfare Check", "Trespassing", "Alarms", "Crashes", "Theft"]
    )
    response_time = pd.Series(rng.integers(30, 30_000, n)).map("{:,}".format)
    frame = pd.DataFrame(
        {
            "Incident Number": numbers,
            "Incident Type": "Dispatched Incident",
            "Mental Health Flag": rng.choice(
                ["Mental Health Incident", "Not Mental Health Incident"], n
            ),
            "Priority Level": rng.choice(
                ["Priority 0", "Priority 1", "Priority 2", "Priority 3", ""], n
            ),
            "Response Datetime": response.strftime(fmt),
            "Response Day of Week": response.strftime("%a"),
            "Response Hour": response.hour,
            "First Unit Arrived Datetime": arrived.strftime(fmt),
            "Call Closed Datetime": closed.strftime(fmt),
            "Sector": rng.choice(["Adam", "Baker", "Charlie", "David", "Edward"], n),
            "Initial Problem Description": "Disturbance Other",
            "Initial Problem Category": rng.choice(categories, n),
            "Final Problem Description": "Disturbance Other",
            "Final Problem Category": rng.choice(categories, n),
            "Number of Units Arrived": rng.integers(1, 5, n),
            "Unit Time on Scene": pd.Series(rng.integers(60, 20_000, n)).map("{:,}".format),
            "Call Disposition Description": rng.choice(["No Report", "Report Written"], n),
            "Report Written Flag": rng.choice(["0", "1", "Yes", "No"], n),
            "Response Time": response_time,
            "Officer Injured/Killed Count": 0,
            "Subject Injured/Killed Count": 0,
            "Other Injured/Killed Count": 0,
            "Geo ID": geo,
            "Census Block Group": geo.str.slice(2),
            "Council District": rng.integers(0, 11, n),
        }
    )[HEADER_25]
    frame.to_csv(path, index=False)


def synthetic_events(rng: np.random.Generator, n_events: int = 2_000) -> pd.DataFrame:
    segments = rng.integers(1, 5, n_events)
    ids = np.repeat(np.arange(1_000_000, 1_000_000 + n_events), segments)
    start = pd.Timestamp("2023-01-01") + pd.to_timedelta(rng.integers(0, 1_090, n_events), unit="D")
    end = start + pd.to_timedelta(rng.integers(0, 3, n_events), unit="D")
    lat = rng.uniform(30.2, 30.4, n_events)
    lon = rng.uniform(-97.85, -97.65, n_events)
    rows = len(ids)
    index = np.repeat(np.arange(n_events), segments)
    return pd.DataFrame(
        {
            "folderrsn": ids.astype(str),
            "foldertype": "SE",
            "foldername": [f"Event {i}" for i in ids],
            "status": "Active",
            "tier_type": "3",
            "event_applicant_organization": "Org",
            "start_date": start.strftime("%b %d, %Y")[index],
            "end_date": end.strftime("%B %d, %Y 22:00")[index],
            "alcohol_served": rng.choice(["Yes", "No", None], rows),
            "amplified_sound": rng.choice(["Yes", "No", None], rows),
            "road_closure": rng.choice(["Congress Ave", None], rows),
            "type_of_road_closure": rng.choice(["Full Road", "Lane", None], rows),
            "gpslatitude": (lat[index] + rng.normal(0, 0.001, rows)).astype(str),
            "gpslongitude": (lon[index] + rng.normal(0, 0.001, rows)).astype(str),
        }
    )


def timed(label: str, func, *args, **kwargs):
    started = time.perf_counter()
    result = func(*args, **kwargs)
    print(f"{label:<28} {time.perf_counter() - started:7.2f} s")
    return result


def main(n_calls: int = 835_198) -> None:
    rng = np.random.default_rng(42)
    block_groups = synthetic_block_groups(rng)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "calls.csv"
        print(f"building {n_calls:,} synthetic calls ...")
        synthetic_calls_csv(path, rng, n_calls, block_groups["GEOID"].tolist()[:1_600])
        raw = timed("read_apd_calls (CSV)", read_apd_calls, path)
    assert list(raw.columns[: len(APD_CORE_COLUMNS)]) == list(APD_CORE_COLUMNS)
    cleaned = timed("clean_calls", clean_calls, raw)
    geo = timed("build_geo_table", build_geo_table, block_groups)
    enriched = timed("enrich_calls", enrich_calls, cleaned.calls, geo)
    events = timed("clean_events", clean_events, synthetic_events(rng))
    links = timed("link_calls_to_events", link_calls_to_events, enriched.calls, events.events)
    timed("to_fact_calls", to_fact_calls, enriched.calls)
    print(
        f"rows: raw {len(raw):,}, cleaned {len(cleaned.calls):,}, "
        f"quarantined {len(cleaned.quarantined):,}, links {len(links):,}, "
        f"events {len(events.events):,}, match rate {enriched.stats['geo_match_rate']:.3f}"
    )
    print({k: v for k, v in cleaned.stats.items() if v})


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 835_198)
