import json

import numpy as np
import pandas as pd
import pytest

from safebeat_assets.analytics.zones import (
    CENTROID_COLUMNS,
    ZONE_COLUMNS,
    cluster_zones,
    location_features,
    location_risk,
    zone_labels,
)


def make_calls(seed: int = 0) -> pd.DataFrame:
    """Three spatial groups of 12 block groups each, with clearly different call volumes.

    Group A (north): busy, urgent calls; B (centre): medium; C (south): quiet, low priority.
    Plus calls that must be ignored: no geo_id, or no coordinates.
    """
    rng = np.random.default_rng(seed)
    groups = [
        ("A", 30.40, -97.80, 200, [0, 1]),
        ("B", 30.27, -97.74, 60, [1, 2]),
        ("C", 30.15, -97.68, 10, [2, 3]),
    ]
    rows = []
    for name, lat, lon, calls_per_location, priorities in groups:
        for i in range(12):
            geo = f"48453{name}{i:06d}"
            glat, glon = lat + rng.normal(0, 0.01), lon + rng.normal(0, 0.01)
            for _ in range(calls_per_location + int(rng.integers(0, 5))):
                rows.append(
                    {
                        "geo_id": geo,
                        "latitude_centroid": glat,
                        "longitude_centroid": glon,
                        "priority_numeric": int(rng.choice(priorities)),
                        "response_time": int(rng.integers(300, 900)),
                        "response_hour": int(rng.integers(0, 24)),
                    }
                )
    rows += [
        {"geo_id": None, "latitude_centroid": np.nan, "longitude_centroid": np.nan},
        {"geo_id": "484530000999", "latitude_centroid": np.nan, "longitude_centroid": np.nan},
    ] * 5
    calls = pd.DataFrame(rows)
    calls["priority_numeric"] = calls["priority_numeric"].astype("Int64")
    calls["response_time"] = calls["response_time"].astype("Int64")
    calls["response_hour"] = calls["response_hour"].fillna(0).astype("int64")
    return calls


def small_calls(rows: list[tuple]) -> pd.DataFrame:
    """(geo_id, lat, lon, priority or None, response_time or None, hour) per call."""
    frame = pd.DataFrame(
        rows,
        columns=[
            "geo_id",
            "latitude_centroid",
            "longitude_centroid",
            "priority_numeric",
            "response_time",
            "response_hour",
        ],
    )
    frame["priority_numeric"] = frame["priority_numeric"].astype("Int64")
    frame["response_time"] = frame["response_time"].astype("Int64")
    return frame


def test_contract_columns_and_k_in_range():
    result = cluster_zones(make_calls())
    assert list(result.zones.columns) == ZONE_COLUMNS
    assert list(result.centroids.columns) == CENTROID_COLUMNS
    assert result.stats["locations"] == 36 == len(result.zones)  # ignored rows without coords
    assert 3 <= result.stats["chosen_k"] <= 9
    assert set(result.stats["silhouette_by_k"]) == set(range(3, 10))
    best = max(result.stats["silhouette_by_k"].values())
    assert result.stats["silhouette"] == best
    assert result.zones["cluster_id"].dtype == "int64"
    assert sum(result.stats["cluster_sizes"].values()) == 36
    assert sum(result.stats["zone_counts"].values()) == 36
    json.dumps(result.stats)  # stats go straight into Dagster metadata


def test_zones_are_cluster_risk_tertiles():
    result = cluster_zones(make_calls())
    cents = result.centroids
    p66 = np.percentile(cents["mean_location_risk"], 66)
    p33 = np.percentile(cents["mean_location_risk"], 33)
    for row in cents.itertuples():
        expected = (
            "HIGH_RISK"
            if row.mean_location_risk >= p66
            else "MEDIUM_RISK"
            if row.mean_location_risk >= p33
            else "LOW_RISK"
        )
        assert row.risk_zone == expected
    # every location inherits its cluster's zone
    merged = result.zones.merge(cents[["cluster_id", "risk_zone"]], on="cluster_id")
    assert (merged["risk_zone_x"] == merged["risk_zone_y"]).all()
    # the busy, urgent north is HIGH, the quiet south LOW
    zone_of = result.zones.set_index("geo_id")["risk_zone"]
    assert (zone_of[zone_of.index.str.startswith("48453A")] == "HIGH_RISK").all()
    assert (zone_of[zone_of.index.str.startswith("48453C")] == "LOW_RISK").all()
    # cluster 0 is the riskiest
    assert cents["mean_location_risk"].is_monotonic_decreasing


def test_zone_labels_percentiles():
    labels = zone_labels(pd.Series([1.0, 2.0, 3.0, 4.0, 5.0, 6.0]))
    assert (
        labels.tolist()
        == ["LOW_RISK", "LOW_RISK", "MEDIUM_RISK", "MEDIUM_RISK"] + ["HIGH_RISK"] * 2
    )


def test_location_risk_formula_on_output_columns():
    zones = cluster_zones(make_calls()).zones
    expected = (
        0.5 * np.log1p(zones["incident_count"])
        + 0.3 * (4 - zones["avg_priority"])
        + 0.2 * (zones["avg_response_time"] / 600)
    )
    np.testing.assert_allclose(zones["location_risk"], expected)
    np.testing.assert_allclose(zones["log_incidents"], np.log1p(zones["incident_count"]))
    assert location_risk(pd.Series([np.log1p(9)]), pd.Series([1.0]), pd.Series([600.0])).iloc[
        0
    ] == pytest.approx(0.5 * np.log(10) + 0.9 + 0.2)


def test_unknown_and_sentinel_priorities_are_excluded_from_averages():
    calls = small_calls(
        [
            ("g1", 30.0, -97.0, 0, 100, 1),
            ("g1", 30.0, -97.0, None, None, 3),
            ("g1", 30.0, -97.0, 9, 300, 5),  # the old pipeline's sentinel must never count
            ("g2", 30.1, -97.1, None, None, 2),
            ("g3", 30.2, -97.2, 2, 200, 4),
        ]
    )
    feats = location_features(calls).set_index("geo_id")
    assert feats.loc["g1", "avg_priority"] == 0.0
    assert feats.loc["g1", "avg_response_time"] == 200.0
    assert feats.loc["g1", "incident_count"] == 3
    assert feats.loc["g1", "avg_hour"] == 3.0
    assert np.isnan(feats.loc["g2", "avg_priority"])


def test_unknown_location_averages_use_overall_mean_in_risk():
    calls = small_calls(
        [
            ("g1", 30.0, -97.0, 0, 100, 1),
            ("g2", 30.1, -97.1, None, None, 2),
            ("g3", 30.2, -97.2, 2, 500, 4),
            ("g4", 30.3, -97.3, 3, 300, 4),
            ("g5", 30.4, -97.4, 1, 100, 4),
        ]
    )
    result = cluster_zones(calls)
    g2 = result.zones.set_index("geo_id").loc["g2"]
    assert np.isnan(g2["avg_priority"])  # honest output
    fill_p, fill_rt = 1.5, 250.0  # mean over the located calls with a known value
    assert result.stats["avg_priority_fill_value"] == fill_p
    assert result.stats["avg_response_time_fill_value"] == fill_rt
    assert g2["location_risk"] == pytest.approx(
        0.5 * np.log(2) + 0.3 * (4 - fill_p) + 0.2 * fill_rt / 600
    )
    assert (result.zones["location_risk"] > 0).all()


def test_k_is_capped_below_number_of_locations():
    calls = small_calls([(f"g{i}", 30 + i / 10, -97 - i / 7, i % 4, 100 * i, i) for i in range(5)])
    result = cluster_zones(calls)
    assert set(result.stats["silhouette_by_k"]) == {3, 4}
    assert result.stats["chosen_k"] in (3, 4)


def test_too_few_locations_gives_one_cluster():
    calls = small_calls([("g1", 30.0, -97.0, 1, 100, 1), ("g2", 30.1, -97.1, 2, 200, 2)])
    result = cluster_zones(calls)
    assert result.stats["chosen_k"] == 1
    assert result.zones["cluster_id"].tolist() == [0, 0]
    assert result.stats["silhouette"] is None


def test_deterministic_and_empty_input():
    calls = make_calls()
    a, b = cluster_zones(calls), cluster_zones(calls)
    pd.testing.assert_frame_equal(a.zones, b.zones)
    empty = cluster_zones(calls.iloc[:0])
    assert empty.zones.empty and list(empty.zones.columns) == ZONE_COLUMNS
    assert empty.stats["locations"] == 0
