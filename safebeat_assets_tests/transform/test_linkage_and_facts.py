"""link_calls_to_events (inclusive dates, radius boundary) and the warehouse projections."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from safebeat_assets.analytics.risk import score_event_risk
from safebeat_assets.sources import SourceSchemaError, empty_ace_events
from safebeat_assets.transform import (
    haversine_km,
    link_calls_to_events,
    to_dim_event,
    to_fact_calls,
)
from safebeat_assets.transform.events import CLEANED_EVENT_COLUMNS, EventRules, clean_events
from safebeat_assets.transform.facts import FACT_CALL_COLUMNS
from safebeat_assets.transform.linkage import EVENT_INCIDENT_COLUMNS

TZ = "America/Chicago"
EVENT_LAT, EVENT_LON = 30.2672, -97.7431
# Block-group centroids: one at the event point, one ~1.4 km north, one ~3 km north.
CENTROIDS = {
    "484530011001": (EVENT_LAT, EVENT_LON),
    "484530011002": (EVENT_LAT + 0.0126, EVENT_LON),
    "484530011003": (EVENT_LAT + 0.027, EVENT_LON),
}


def calls_frame(rows: list[tuple[int, str, str | None]]) -> pd.DataFrame:
    """Enriched-call-like frame from (incident_number, local datetime, geo_id)."""
    moments = pd.to_datetime([r[1] for r in rows]).tz_localize(TZ)
    geo = [r[2] for r in rows]
    lat = [CENTROIDS[g][0] if g in CENTROIDS else np.nan for g in geo]
    lon = [CENTROIDS[g][1] if g in CENTROIDS else np.nan for g in geo]
    return pd.DataFrame(
        {
            "incident_number": np.array([r[0] for r in rows], dtype="int64"),
            "response_datetime": moments,
            "response_date": moments.tz_localize(None).normalize(),
            "geo_id": pd.Series(geo, dtype=object),
            "latitude_centroid": lat,
            "longitude_centroid": lon,
            "priority_numeric": pd.array([1] * len(rows), dtype="Int64"),
            "response_time": pd.array([600] * len(rows), dtype="Int64"),
            "final_problem_category": "Disturbance",
        }
    )


def events_frame(rows: list[dict]) -> pd.DataFrame:
    base = {
        "event_name": "Festival",
        "event_type": "SE",
        "status": "Active",
        "tier": 4,
        "organizer": "Org",
        "event_length_days": 1,
        "event_year": 2025,
        "event_month": 10,
        "has_alcohol": True,
        "alcohol_unknown": False,
        "has_amplified_sound": False,
        "amplified_sound_unknown": False,
        "has_road_closure": True,
        "has_full_road_closure": False,
        "closure_segments": 1,
        "event_lat": EVENT_LAT,
        "event_lon": EVENT_LON,
        "has_valid_location": True,
        "expected_attendance": pd.NA,
    }
    frame = pd.DataFrame([{**base, **row} for row in rows])
    frame["start_date"] = pd.to_datetime(frame["start_date"])
    frame["end_date"] = pd.to_datetime(frame["end_date"])
    return frame.astype({"event_id": "int64"})


def test_one_day_event_matches_the_whole_day_inclusive():
    calls = calls_frame(
        [
            (1, "2025-10-04 23:59:59", "484530011001"),  # day before: no
            (2, "2025-10-05 00:00:00", "484530011001"),
            (3, "2025-10-05 23:59:59", "484530011001"),  # the old pipeline missed this one
            (4, "2025-10-06 00:00:01", "484530011001"),  # day after: no
            (5, "2025-10-05 12:00:00", "484530011002"),  # ~1.4 km: yes
            (6, "2025-10-05 12:00:00", "484530011003"),  # ~3 km: no
            (7, "2025-10-05 12:00:00", None),  # no centroid: never linked
        ]
    )
    events = events_frame([{"event_id": 10, "start_date": "2025-10-05", "end_date": "2025-10-05"}])
    links = link_calls_to_events(calls, events)
    assert list(links.columns) == list(EVENT_INCIDENT_COLUMNS)
    assert links["incident_number"].tolist() == [2, 5, 3]  # sorted by datetime within event
    assert links["event_id"].unique().tolist() == [10]
    assert links["call_date"].unique().tolist() == [pd.Timestamp("2025-10-05")]
    assert links["event_name"].unique().tolist() == ["Festival"]
    assert links["event_has_alcohol"].all()
    assert links.loc[links["incident_number"] == 5, "distance_km"].item() == pytest.approx(
        1.401, abs=0.01
    )
    assert links.loc[links["incident_number"] == 2, "distance_km"].item() == pytest.approx(0.0)


def test_multi_day_window_includes_the_end_date():
    calls = calls_frame(
        [
            (1, "2025-10-03 20:00:00", "484530011001"),
            (2, "2025-10-04 20:00:00", "484530011001"),
            (3, "2025-10-06 20:00:00", "484530011001"),
            (4, "2025-10-07 00:30:00", "484530011001"),
        ]
    )
    events = events_frame([{"event_id": 11, "start_date": "2025-10-04", "end_date": "2025-10-06"}])
    assert link_calls_to_events(calls, events)["incident_number"].tolist() == [2, 3]


def test_radius_boundary_is_inclusive():
    calls = calls_frame([(1, "2025-10-05 12:00:00", "484530011002")])
    events = events_frame([{"event_id": 12, "start_date": "2025-10-05", "end_date": "2025-10-05"}])
    lat, lon = CENTROIDS["484530011002"]
    exact = float(haversine_km(EVENT_LAT, EVENT_LON, lat, lon))
    assert len(link_calls_to_events(calls, events, radius_km=exact)) == 1
    assert len(link_calls_to_events(calls, events, radius_km=exact - 1e-6)) == 0
    assert len(link_calls_to_events(calls, events, radius_km=0.5)) == 0


def test_haversine_known_distance():
    # One degree of latitude on a 6371 km sphere.
    assert float(haversine_km(30.0, -97.0, 31.0, -97.0)) == pytest.approx(111.195, abs=1e-3)


def test_ineligible_events_are_skipped_and_order_is_deterministic():
    calls = calls_frame(
        [
            (2, "2025-10-05 10:00:00", "484530011001"),
            (1, "2025-10-05 10:00:00", "484530011001"),
            (3, "2025-10-05 09:00:00", "484530011002"),
        ]
    )
    events = events_frame(
        [
            {"event_id": 30, "start_date": "2025-10-05", "end_date": "2025-10-05"},
            {"event_id": 20, "start_date": "2025-10-01", "end_date": "2025-10-09"},
            {"event_id": 40, "start_date": None, "end_date": "2025-10-05"},
            {"event_id": 50, "start_date": "2025-10-05", "end_date": "2025-10-05",
             "event_lat": np.nan, "event_lon": np.nan, "has_valid_location": False},
            {"event_id": 60, "start_date": "2025-10-06", "end_date": "2025-10-04"},
        ]
    )  # fmt: skip
    links = link_calls_to_events(calls, events)
    assert list(zip(links["event_id"], links["incident_number"], strict=True)) == [
        (20, 3), (20, 1), (20, 2), (30, 3), (30, 1), (30, 2),
    ]  # fmt: skip
    assert links["event_id"].dtype == "int64" and links["incident_number"].dtype == "int64"
    assert str(links["response_datetime"].dtype) == "datetime64[ns, America/Chicago]"
    assert links["call_date"].dtype == "datetime64[ns]"
    assert links["priority_numeric"].dtype == "Int64" and links["response_time"].dtype == "Int64"
    assert links["event_has_alcohol"].dtype == "bool"
    assert not links.duplicated(["incident_number", "response_datetime", "event_id"]).any()


def test_empty_inputs_give_an_empty_contract_frame():
    calls = calls_frame([(1, "2025-10-05 10:00:00", None)])
    events = events_frame([{"event_id": 1, "start_date": "2025-10-05", "end_date": "2025-10-05"}])
    links = link_calls_to_events(calls, events)
    assert list(links.columns) == list(EVENT_INCIDENT_COLUMNS) and len(links) == 0
    assert links["event_id"].dtype == "int64"
    assert len(link_calls_to_events(calls, events.iloc[0:0])) == 0


def test_bad_arguments():
    calls = calls_frame([(1, "2025-10-05 10:00:00", None)])
    events = events_frame([{"event_id": 1, "start_date": "2025-10-05", "end_date": "2025-10-05"}])
    with pytest.raises(ValueError, match="radius_km"):
        link_calls_to_events(calls, events, radius_km=-1)
    with pytest.raises(SourceSchemaError, match="latitude_centroid"):
        link_calls_to_events(calls.drop(columns=["latitude_centroid"]), events)


# --- warehouse projections ---------------------------------------------------------------------


def test_to_dim_event_keeps_contract_columns():
    events = events_frame([{"event_id": 1, "start_date": "2025-10-05", "end_date": "2025-10-05"}])
    events["extra"] = 1
    dim = to_dim_event(events)
    assert list(dim.columns) == list(CLEANED_EVENT_COLUMNS)
    with pytest.raises(SourceSchemaError, match="event_name"):
        to_dim_event(events.drop(columns=["event_name"]))


def test_to_fact_calls_uses_the_dim_geo_fk():
    enriched = pd.DataFrame(
        {
            column: [None, None]
            for column in FACT_CALL_COLUMNS
            if column not in ("geo_id", "reported_geo_id")
        }
    )
    enriched["geo_id"] = ["484530412002", "484539999999"]
    enriched["dim_geo_id"] = ["484530412002", None]
    enriched.index = [10, 20]
    fact = to_fact_calls(enriched)
    assert list(fact.columns) == list(FACT_CALL_COLUMNS)
    assert fact["geo_id"].tolist() == ["484530412002", None]
    assert fact["reported_geo_id"].tolist() == ["484530412002", "484539999999"]
    assert fact.index.tolist() == [0, 1]
    with pytest.raises(SourceSchemaError, match="dim_geo_id"):
        to_fact_calls(enriched.drop(columns=["dim_geo_id"]))


def test_far_off_end_date_is_clipped_not_expanded_day_by_day():
    calls = calls_frame([(1, "2025-10-05 10:00:00", "484530011001")])
    events = events_frame([{"event_id": 1, "start_date": "1900-01-01", "end_date": "2250-12-31"}])
    assert link_calls_to_events(calls, events)["incident_number"].tolist() == [1]


def test_a_city_without_events_links_nothing_and_scores_nothing():
    """No events source: the empty raw read flows through cleaning, the dimension, the links
    and Formula A as empty frames with their columns (issue 14)."""
    cleaned = clean_events(empty_ace_events(), EventRules.for_counties(["453"]))
    assert cleaned.events.empty and cleaned.quarantined.empty
    assert list(cleaned.events.columns) == list(CLEANED_EVENT_COLUMNS)
    assert to_dim_event(cleaned.events).empty
    calls = calls_frame([(1, "2025-10-05 12:00:00", "484530011001")])
    links = link_calls_to_events(calls, cleaned.events)
    assert links.empty and list(links.columns) == list(EVENT_INCIDENT_COLUMNS)
    scores = score_event_risk(links, to_dim_event(cleaned.events))
    assert scores.empty and "risk_score" in scores.columns


@pytest.mark.parametrize("radius_km", [0.0, 0.4, 1.0, 5.0])
def test_pairs_within_radius_are_those_of_measuring_every_centroid(radius_km):
    """The latitude band only skips centroids that cannot be within the radius: the pairs and
    their distances are those of measuring every event against every centroid."""
    from safebeat_assets.transform.linkage import _pairs_within_radius, haversine_km

    rng = np.random.default_rng(7)
    lat = rng.uniform(30.0, 30.6, 766)
    lon = rng.uniform(-98.1, -97.4, 766)
    # Events anywhere around the county, some exactly on a centroid, some without a location.
    event_lat = np.concatenate([rng.uniform(29.9, 30.7, 600), lat[:40], [np.nan, 30.2]])
    event_lon = np.concatenate([rng.uniform(-98.2, -97.3, 600), lon[:40], [-97.7, np.nan]])
    events = pd.DataFrame({"event_lat": event_lat, "event_lon": event_lon})
    pairs = _pairs_within_radius(events, lat, lon, radius_km)

    every = haversine_km(event_lat[:, None], event_lon[:, None], lat[None, :], lon[None, :])
    event_pos, geo_code = np.nonzero(every <= radius_km + 1e-9)
    assert pairs["event_pos"].tolist() == event_pos.tolist()
    assert pairs["geo_code"].tolist() == geo_code.tolist()
    np.testing.assert_array_equal(pairs["distance_km"].to_numpy(), every[event_pos, geo_code])
    assert len(pairs) >= 40  # at least each event on a centroid
