import json

import pandas as pd
import pytest

from safebeat_assets.analytics.alerts import (
    Alert,
    AlertThresholds,
    alerts_payload,
    check_clustering,
    check_data_volume,
    check_forecast,
    check_high_risk_spike,
    check_risk_scores,
    check_rules,
    evaluate_alerts,
)

HEALTHY = dict(
    warehouse_calls=835_198,
    rules=24,
    zones_clustered=637,
    forecast_available=True,
    risk_scores=[97.0, 12.5, 0.0],
    high_risk_events=3,
)


def test_healthy_run_has_no_alerts():
    assert evaluate_alerts(**HEALTHY) == []


@pytest.mark.parametrize(
    ("value", "fires"), [(99_999, True), (100_000, False), (0, True), (None, True)]
)
def test_data_volume_boundary(value, fires):
    alert = check_data_volume(value)
    assert (alert is not None) is fires
    if fires:
        assert (alert.severity, alert.type) == ("WARNING", "DATA_VOLUME")


@pytest.mark.parametrize(("value", "fires"), [(0, True), (1, False), (None, True)])
def test_rules_boundary(value, fires):
    alert = check_rules(value)
    assert (alert is not None) is fires
    if fires:
        assert (alert.severity, alert.type) == ("WARNING", "ML_RULES_EMPTY")


@pytest.mark.parametrize(("value", "fires"), [(99, True), (100, False), (None, True)])
def test_clustering_boundary(value, fires):
    alert = check_clustering(value)
    assert (alert is not None) is fires
    if fires:
        assert (alert.severity, alert.type) == ("WARNING", "ML_CLUSTERING")


def test_forecast_missing():
    assert check_forecast(True) is None
    alert = check_forecast(False)
    assert (alert.severity, alert.type) == ("WARNING", "ML_FORECAST_MISSING")


@pytest.mark.parametrize(
    ("scores", "fires"),
    [
        ([0.0, 0.0], True),
        ([], True),
        (None, True),
        ([0.0, float("nan"), None], True),
        (pd.Series([0.0, pd.NA], dtype="Float64"), True),
        ([0.0, 0.01], False),
    ],
)
def test_risk_all_zero(scores, fires):
    alert = check_risk_scores(scores)
    assert (alert is not None) is fires
    if fires:
        assert (alert.severity, alert.type) == ("WARNING", "RISK_ALL_ZERO")


@pytest.mark.parametrize("scores", [[], None, [0.0]])
def test_no_risk_scores_is_no_alert_without_an_events_source(scores):
    """A city that publishes no permits has no events to score: not a broken linkage."""
    assert check_risk_scores(scores, events_source=False) is None
    assert check_risk_scores(scores) is not None  # with a feed, no scores still fires


def test_evaluate_without_an_events_source_keeps_the_other_rules():
    alerts = evaluate_alerts(
        warehouse_calls=5,
        rules=0,
        zones_clustered=637,
        forecast_available=True,
        risk_scores=[],
        high_risk_events=0,
        events_source=False,
    )
    assert [a.type for a in alerts] == ["DATA_VOLUME", "ML_RULES_EMPTY"]


@pytest.mark.parametrize(("value", "fires"), [(10, False), (11, True), (0, False), (None, False)])
def test_high_risk_spike_boundary(value, fires):
    alert = check_high_risk_spike(value)
    assert (alert is not None) is fires
    if fires:
        assert (alert.severity, alert.type) == ("CRITICAL", "HIGH_RISK_SPIKE")


def test_custom_thresholds():
    strict = AlertThresholds(min_warehouse_calls=10, min_rules=5, min_zones=3, max_high_events=0)
    assert check_data_volume(10, strict) is None
    assert check_rules(4, strict) is not None
    assert check_clustering(3, strict) is None
    assert check_high_risk_spike(1, strict) is not None


def test_evaluate_collects_every_rule_in_order():
    alerts = evaluate_alerts(
        warehouse_calls=5,
        rules=0,
        zones_clustered=2,
        forecast_available=False,
        risk_scores=[],
        high_risk_events=11,
    )
    assert [a.type for a in alerts] == [
        "DATA_VOLUME",
        "ML_RULES_EMPTY",
        "ML_CLUSTERING",
        "ML_FORECAST_MISSING",
        "RISK_ALL_ZERO",
        "HIGH_RISK_SPIKE",
    ]
    assert all(isinstance(a, Alert) and a.message and a.action_required for a in alerts)


def test_alerts_payload_is_json():
    alerts = evaluate_alerts(**{**HEALTHY, "rules": 0})
    payload = alerts_payload(alerts, "2025-12-23T02:00:00+00:00")
    doc = json.loads(json.dumps(payload))
    assert doc["total_alerts"] == 1
    assert doc["alerts"][0] == {
        "severity": "WARNING",
        "type": "ML_RULES_EMPTY",
        "message": alerts[0].message,
        "action_required": alerts[0].action_required,
    }


def test_alert_is_immutable():
    alert = check_forecast(False)
    with pytest.raises(AttributeError):
        alert.severity = "INFO"
