"""The pure chain end to end on tiny files: read -> clean -> dim_geo -> enrich -> link -> facts,
plus a Parquet round trip of each lake frame (what the lake IO manager will do)."""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
import shapely

from safebeat_assets.sources import read_ace_events, read_apd_calls, read_block_groups
from safebeat_assets.transform import (
    build_geo_table,
    clean_calls,
    clean_events,
    enrich_calls,
    link_calls_to_events,
    to_dim_event,
    to_fact_calls,
)

CALLS_CSV = """\
Incident Number,Incident Type,Council District,Mental Health Flag,Priority Level,Response Datetime,Response Year,Response Month,Response Day of Week,Response Hour,First Unit Arrived Datetime,Call Closed Datetime,Sector,Initial Problem Description,Initial Problem Category,Final Problem Description,Final Problem Category,Number of Units Arrived,Unit Time on Scene,Call Disposition Description,Report Written Flag,Response Time,Officer Injured/Killed Count,Subject Injured/Killed Count,Other Injured/Killed Count,Geo ID,Census Block Group
253041790,Dispatched Incident,2,Not Mental Health Incident,Priority 2,2025 Oct 31 11:59:47 PM,2025,Oct,Fri,23,2025 Nov 01 12:13:18 AM,2025 Nov 01 12:18:22 AM,Frank,Alarm Burglar,Alarms,False Burglar Alarm,Alarms,1,304,False Alarm,No,853,0,0,0,484530412002,4530412002
253041786,Dispatched Incident,9,Not Mental Health Incident,Priority 2,2025 Oct 31 11:59:15 PM,2025,Oct,Fri,23,2025 Nov 01 02:11:29 AM,2025 Nov 01 02:23:13 AM,George,Disturbance Other,Disturbance,Disturbance Other,Disturbance,1,704,Unable To Locate,No,"7,953",0,0,0,484539999999,4539999999
253041700,Dispatched Incident,9,Not Mental Health Incident,,2025 Oct 31 10:00:00 PM,2025,Oct,Fri,22,,,George,Disturbance Other,Disturbance,Disturbance Other,Disturbance,1,704,Unable To Locate,Yes,,0,0,0,,
"""

EVENTS_CSV = """\
FOLDERRSN,FOLDERNAME,START_DATE,END_DATE,GPSLATITUDE,GPSLONGITUDE,ALCOHOL_SERVED
777,Halloween on Sixth,"Oct 31, 2025","Oct 31, 2025",30.3003,-97.7429,Yes
777,Halloween on Sixth,"Oct 31, 2025","November 01, 2025 02:00",30.3005,-97.7431,
"""


def test_chain_on_tiny_files(tmp_path):
    (tmp_path / "calls.csv").write_text(CALLS_CSV)
    (tmp_path / "ace.csv").write_text(EVENTS_CSV)
    gpd.GeoDataFrame(
        {
            "STATEFP": ["48"],
            "COUNTYFP": ["453"],
            "GEOID": ["484530412002"],
            "ALAND": [1_000_000],
            "INTPTLAT": ["+30.3003039"],
            "INTPTLON": ["-097.7429433"],
        },
        geometry=[shapely.box(-97.75, 30.29, -97.73, 30.31)],
        crs="EPSG:4269",
    ).to_file(tmp_path / "bg.geojson")

    cleaned = clean_calls(read_apd_calls(tmp_path / "calls.csv"))
    geo = build_geo_table(read_block_groups(tmp_path / "bg.geojson"))
    enriched = enrich_calls(cleaned.calls, geo)
    events = clean_events(read_ace_events(tmp_path / "ace.csv"))
    links = link_calls_to_events(enriched.calls, events.events)
    fact = to_fact_calls(enriched.calls)
    dim_event = to_dim_event(events.events)

    assert cleaned.stats["rows_out"] == 3
    assert enriched.stats["geo_matched"] == 1
    assert enriched.stats["top_unmatched_geo_ids"] == [("484539999999", 1)]
    assert fact["geo_id"].tolist() == [None, None, "484530412002"]
    assert dim_event["event_id"].tolist() == [777]
    assert dim_event["end_date"].tolist() == [pd.Timestamp("2025-11-01")]
    assert links["incident_number"].tolist() == [253041790]
    assert links["distance_km"].iloc[0] < 0.05

    for name, frame in {
        "cleaned": cleaned.calls,
        "quarantined": cleaned.quarantined,
        "enriched": enriched.calls,
        "events": events.events,
        "links": links,
        "fact": fact,
        "dim_geo": geo,
    }.items():
        path = tmp_path / f"{name}.parquet"
        frame.to_parquet(path)
        pd.testing.assert_frame_equal(pd.read_parquet(path), frame, check_index_type=False)
