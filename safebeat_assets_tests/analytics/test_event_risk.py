import numpy as np
import pandas as pd
import pytest

from safebeat_assets.analytics.risk import (
    EVENT_RISK_COLUMNS,
    ZONE_RISK_COLUMNS,
    risk_category,
    risk_distribution,
    score_event_risk,
    zone_risk_table,
)


def make_links(rows: list[tuple]) -> pd.DataFrame:
    """(event_id, distance_km, priority or None, response_time or None, category) per link."""
    frame = pd.DataFrame(
        rows,
        columns=["event_id", "distance_km", "priority_numeric", "response_time", "cat"],
    )
    n = len(frame)
    return pd.DataFrame(
        {
            "incident_number": np.arange(n, dtype="int64") + 100_000_000,
            "response_datetime": pd.date_range("2024-03-10 12:00", periods=n, freq="min", tz="UTC"),
            "event_id": frame["event_id"].astype("int64"),
            "call_date": pd.Timestamp("2024-03-10"),
            "geo_id": "484530001001",
            "distance_km": frame["distance_km"].astype("float64"),
            "event_name": frame["event_id"].map(lambda i: f"link name {i}"),
            "event_has_alcohol": False,
            "priority_numeric": frame["priority_numeric"].astype("Int64"),
            "response_time": frame["response_time"].astype("Int64"),
            "final_problem_category": frame["cat"],
        }
    )


def make_events(rows: list[tuple]) -> pd.DataFrame:
    """(event_id, event_name, has_alcohol, has_amplified_sound)."""
    return pd.DataFrame(
        rows, columns=["event_id", "event_name", "has_alcohol", "has_amplified_sound"]
    )


# Hand-computed example (radius 1.5 km):
#   event 1: 4 calls P0,P0,P1,P3 → 4+4+3+1 = 12 points, mean distance 0.3 km, alcohol
#   event 2: 2 calls P2,unknown → 2 points, mean distance 0.75 km
#   event 3: 1 call P3 → 1 point, distance 2.0 km (beyond the radius)
# incident_score: 100, 50, 25; priority_score: 100, 16.67, 8.33
# distance_score: 80, 50, 0
# risk: 1 → 40 + 35 + 12 + 10 = 97; 2 → 20 + 5.8333 + 7.5 = 33.3333; 3 → 10 + 2.9167 = 12.9167
LINKS = [
    (1, 0.1, 0, 100, "Theft"),
    (1, 0.2, 0, 200, "Assault"),
    (1, 0.4, 1, 300, "Theft"),
    (1, 0.5, 3, None, "Disturbance"),
    (2, 0.5, 2, 600, "Noise"),
    (2, 1.0, None, None, "Noise"),
    (3, 2.0, 3, 50, "Alarm"),
]
EVENTS = [(1, "Festival", True, True), (2, "Parade", False, False), (3, "Race", False, False)]


def test_formula_a_hand_computed():
    scores = score_event_risk(make_links(LINKS), make_events(EVENTS)).set_index("event_id")
    assert list(scores.reset_index().columns) == EVENT_RISK_COLUMNS
    np.testing.assert_allclose(scores["incident_score"], [100, 50, 25])
    np.testing.assert_allclose(scores["priority_score"], [100, 200 / 12, 100 / 12])
    np.testing.assert_allclose(scores["distance_score"], [80, 50, 0])
    np.testing.assert_allclose(scores["risk_score"], [97, 20 + 35 * 2 / 12 + 7.5, 10 + 35 / 12])
    assert scores["risk_category"].tolist() == ["HIGH", "LOW", "LOW"]


def test_per_event_summaries():
    scores = score_event_risk(make_links(LINKS), make_events(EVENTS)).set_index("event_id")
    e1, e2 = scores.loc[1], scores.loc[2]
    assert e1["incident_count"] == 4
    assert (e1["p0_count"], e1["p1_count"], e1["p2_count"], e1["p3_count"]) == (2, 1, 0, 1)
    assert e1["avg_priority"] == pytest.approx(1.0)
    assert e1["min_priority"] == 0
    assert e1["avg_response_time"] == pytest.approx(200.0)  # unknown response time excluded
    assert e1["avg_distance_km"] == pytest.approx(0.3)
    assert e1["top_final_category"] == "Theft"
    assert e1["event_name"] == "Festival" and e1["has_alcohol"] and e1["has_amplified_sound"]
    assert e2["avg_priority"] == 2.0  # unknown priority excluded
    assert not e2["has_alcohol"]


def test_sorted_by_risk_descending():
    scores = score_event_risk(make_links(LINKS), make_events(EVENTS))
    assert scores["risk_score"].is_monotonic_decreasing
    assert scores["event_id"].tolist() == [1, 2, 3]


def test_score_is_capped_at_100():
    links = make_links([(7, 0.0, 0, 60, "Theft")])
    scores = score_event_risk(links, make_events([(7, "Big", True, False)]))
    # 40 + 35 + 15 + 10 = 110 before the cap
    assert scores["risk_score"].tolist() == [100.0]
    assert scores["risk_category"].tolist() == ["HIGH"]


def test_category_boundaries():
    cats = risk_category(pd.Series([100.0, 70.0, 69.999, 40.0, 39.999, 0.0]))
    assert cats.tolist() == ["HIGH", "HIGH", "MEDIUM", "MEDIUM", "LOW", "LOW"]


def test_empty_links_give_empty_frame_with_columns():
    for links in (make_links([]), None):
        scores = score_event_risk(links, make_events(EVENTS))
        assert scores.empty and list(scores.columns) == EVENT_RISK_COLUMNS
        assert risk_distribution(scores) == {"HIGH": 0, "MEDIUM": 0, "LOW": 0}


def test_no_known_priorities_does_not_divide_by_zero():
    links = make_links([(1, 0.75, None, None, "Theft"), (2, 0.75, None, None, "Theft")])
    scores = score_event_risk(links, None)
    assert scores["priority_score"].tolist() == [0.0, 0.0]
    assert np.isfinite(scores["risk_score"]).all()
    np.testing.assert_allclose(scores["risk_score"], [40 + 7.5, 40 + 7.5])
    assert scores["event_name"].tolist() == ["link name 1", "link name 2"]  # links fallback


def test_alcohol_from_links_when_event_missing_from_dim():
    links = make_links([(5, 0.0, 3, 1, "Theft")])
    links["event_has_alcohol"] = True
    scores = score_event_risk(links, make_events(EVENTS))
    assert bool(scores["has_alcohol"].iloc[0])


def test_custom_radius():
    links = make_links([(1, 0.25, 1, 1, "Theft")])
    scores = score_event_risk(links, None, radius_km=0.5)
    assert scores["distance_score"].iloc[0] == pytest.approx(50.0)


def test_risk_distribution_counts():
    scores = pd.DataFrame({"risk_category": ["HIGH", "LOW", "LOW", "MEDIUM", "LOW"]})
    assert risk_distribution(scores) == {"HIGH": 1, "MEDIUM": 1, "LOW": 3}
    assert risk_distribution(["LOW"]) == {"HIGH": 0, "MEDIUM": 0, "LOW": 1}
    assert risk_distribution(None) == {"HIGH": 0, "MEDIUM": 0, "LOW": 0}


def test_zone_risk_table_columns():
    zones = pd.DataFrame(
        {
            "geo_id": ["a", "b"],
            "latitude": [30.0, 30.1],
            "longitude": [-97.0, -97.1],
            "incident_count": [3, 4],
            "avg_priority": [1.0, 2.0],
            "avg_response_time": [100.0, 200.0],
            "avg_hour": [10.0, 11.0],
            "log_incidents": np.log1p([3, 4]),
            "location_risk": [2.0, 3.0],
            "cluster_id": [0, 1],
            "risk_zone": ["HIGH_RISK", "LOW_RISK"],
        }
    )
    table = zone_risk_table(zones)
    assert list(table.columns) == ZONE_RISK_COLUMNS
    assert table["risk_zone"].tolist() == ["HIGH_RISK", "LOW_RISK"]
