import json
from datetime import UTC, date, datetime

import numpy as np
import pandas as pd
import pytest

from safebeat_assets.analytics.alerts import Alert, check_rules
from safebeat_assets.reporting.report import ReportInputs, build_report
from safebeat_assets.reporting.status import PartOutcome, overall_status


def make_rules(n: int = 12) -> pd.DataFrame:
    lift = np.linspace(5.0, 1.3, n)
    return pd.DataFrame(
        {
            "antecedents": [f"Incident_{i}" for i in range(n)],
            "consequents": ["Priority_3"] * n,
            "support": np.full(n, 0.02),
            "confidence": np.full(n, 0.5),
            "lift": lift,
            "conviction": [np.nan] + [2.0] * (n - 1),
            "is_incident_rule": [False, True] * (n // 2),
            "rank": np.arange(1, n + 1),
        }
    )


def make_forecast() -> pd.DataFrame:
    back = pd.date_range("2025-12-10", periods=7)
    ahead = pd.date_range("2025-12-24", periods=7)
    return pd.DataFrame(
        {
            "date": back.append(ahead),
            "kind": ["backtest"] * 7 + ["forecast"] * 7,
            "actual_calls": [780.0] * 7 + [np.nan] * 7,
            "predicted_calls": [777.0] * 7 + [780.04, 781.0, 782.0, 783.0, 784.0, 785.0, 786.0],
            "baseline_calls": [770.0] * 14,
            "model": "ridge",
            "is_fallback": False,
        }
    )


def make_event_risk() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "event_id": np.arange(1, 13),
            "event_name": ["<script>alert(1)</script>"] + [f"Event {i}" for i in range(2, 13)],
            "incident_count": np.arange(12, 0, -1),
            "avg_priority": [1.5] * 11 + [np.nan],
            "avg_distance_km": [0.5] * 12,
            "has_alcohol": [True] + [False] * 11,
            "top_final_category": "Theft",
            "risk_score": np.linspace(95, 5, 12),
            "risk_category": ["HIGH", "HIGH"] + ["MEDIUM"] * 4 + ["LOW"] * 6,
        }
    )


def make_inputs(**overrides) -> ReportInputs:
    values = dict(
        report_date=date(2025, 12, 23),
        run_id="run-123",
        generated_at=datetime(2025, 12, 24, 2, 0, tzinfo=UTC),
        calls_processed=835_216,
        calls_quarantined=18,
        calls_in_warehouse=835_198,
        calls_on_latest_date=612,
        latest_data_date=date(2025, 12, 23),
        events_tracked=412,
        events_linked=108,
        geo_match_rate=0.92734,
        rules=make_rules(),
        zones=pd.DataFrame({"geo_id": [f"g{i}" for i in range(637)]}),
        zone_stats={
            "chosen_k": 7,
            "silhouette": 0.41234,
            "zone_counts": {"HIGH_RISK": 100, "MEDIUM_RISK": 200, "LOW_RISK": 337},
        },
        forecast=make_forecast(),
        forecast_stats={
            "model": "ridge",
            "mean_predicted_calls": 783.005714,
            "mae": 30.5,
            "baseline_mae": 40.0,
            "skill_vs_baseline": 0.2375,
            "r2": np.float64(0.51),
            "is_fallback": False,
            "fallback_reason": None,
        },
        event_risk=make_event_risk(),
        alerts=[],
        check_results=[
            {
                "name": "rules_precheck",
                "asset": "association_rules",
                "passed": True,
                "severity": "ERROR",
                "description": "≥ 1,000 fact rows",
            }
        ],
        outputs=["reports/daily/2025-12-23/report.json"],
    )
    values.update(overrides)
    return ReportInputs(**values)


def check(passed: bool, severity: str) -> dict:
    return {"name": "c", "asset": "a", "passed": passed, "severity": severity, "description": ""}


BUILT = PartOutcome("association_rules", ("association_rules",), "built")
SKIPPED = PartOutcome("call_forecast", ("call_forecast",), "skipped", check="enough_days")


@pytest.mark.parametrize(
    ("parts", "checks", "expected"),
    [
        ([], [], "SUCCESS"),
        ([BUILT], [check(True, "ERROR"), check(True, "WARN")], "SUCCESS"),
        ([BUILT], [check(False, "WARN")], "SUCCESS"),
        ([BUILT, SKIPPED], [], "PARTIAL"),
        ([BUILT], [check(False, "ERROR")], "PARTIAL"),
        ([], [check(False, "error"), check(False, "WARN")], "PARTIAL"),
    ],
)
def test_status_is_derived(parts, checks, expected):
    assert overall_status(parts, checks) == expected


@pytest.mark.parametrize("alerts", [[check_rules(0)], [Alert("CRITICAL", "X", "m", "a")]])
def test_alerts_never_change_the_status(alerts):
    report = build_report(make_inputs(alerts=alerts, parts=[BUILT]))
    assert report["report_metadata"]["status"] == "SUCCESS"
    assert len(report["alerts"]) == 1


def test_report_is_json_serialisable_and_complete():
    report = build_report(make_inputs())
    text = json.dumps(report, allow_nan=False)  # NaN must have become null
    assert json.loads(text) == report
    assert set(report) == {
        "report_metadata",
        "parts",
        "failures",
        "data_processing",
        "database_stats",
        "ml_models",
        "top_rules",
        "forecast",
        "top_risky_events",
        "alerts",
        "checks",
        "outputs_generated",
    }
    meta = report["report_metadata"]
    assert meta["status"] == "SUCCESS"
    assert meta["report_date"] == "2025-12-23" and meta["run_id"] == "run-123"
    assert meta["generated_at"].startswith("2025-12-24T02:00:00")


@pytest.mark.parametrize(
    ("events_source", "source", "note"),
    [
        (True, "landing", None),
        (False, "none", "No events source for this city"),
        (None, None, None),  # unknown: the FAILED report measured nothing
    ],
)
def test_data_processing_states_the_events_source(events_source, source, note):
    inputs = make_inputs(events_source=events_source)
    if events_source is False:
        inputs = make_inputs(
            events_source=False,
            events_tracked=0,
            events_linked=0,
            event_risk=make_event_risk().iloc[:0],
        )
    report = build_report(inputs)
    processing = report["data_processing"]
    assert (processing["events_source"], processing["events_note"]) == (source, note)
    if events_source is False:
        assert report["top_risky_events"] == []
        assert report["ml_models"]["events_scored"] == 0
        assert report["ml_models"]["risk_distribution"] == {"HIGH": 0, "MEDIUM": 0, "LOW": 0}


def test_ml_models_section():
    ml = build_report(make_inputs())["ml_models"]
    assert ml["rules_discovered"] == 12 and ml["incident_rules"] == 6
    assert ml["zones_clustered"] == 637 and ml["zone_clusters"] == 7
    assert ml["forecast_mean_calls_per_day"] == 783.0  # 1 decimal
    assert ml["forecast_skill_vs_baseline"] == 0.2375
    assert ml["risk_distribution"] == {"HIGH": 2, "MEDIUM": 4, "LOW": 6}
    assert isinstance(ml["forecast_r2"], float)


def test_tables_are_trimmed_and_ordered():
    report = build_report(make_inputs())
    assert len(report["top_rules"]) == 10 and report["top_rules"][0]["rank"] == 1
    assert len(report["top_risky_events"]) == 10
    assert report["top_risky_events"][0]["risk_score"] == 95.0
    forecast = report["forecast"]
    assert len(forecast) == 7 and forecast[0]["date"] == "2025-12-24"
    assert forecast[0]["weekday"] == "Wednesday" and forecast[0]["predicted_calls"] == 780.0


def test_alerts_are_listed():
    alerts = [Alert("WARNING", "ML_RULES_EMPTY", "none", "look")]
    report = build_report(make_inputs(alerts=alerts, rules=make_rules().iloc[:0]))
    assert report["report_metadata"]["status"] == "SUCCESS"
    assert report["alerts"] == [
        {
            "severity": "WARNING",
            "type": "ML_RULES_EMPTY",
            "message": "none",
            "action_required": "look",
        }
    ]
    assert report["top_rules"] == [] and report["ml_models"]["rules_discovered"] == 0


def test_checks_keep_contract_keys_and_extras():
    extra = {"name": "c", "passed": True, "severity": "WARN", "this_run": True}
    checks = build_report(make_inputs(check_results=[extra]))["checks"]
    assert checks == [
        {
            "name": "c",
            "asset": None,
            "passed": True,
            "severity": "WARN",
            "description": None,
            "this_run": True,
        }
    ]


def test_missing_forecast_is_reported_as_none():
    report = build_report(
        make_inputs(forecast=make_forecast().iloc[:0], forecast_stats={}, latest_data_date=None)
    )
    assert report["ml_models"]["forecast_mean_calls_per_day"] is None
    assert report["forecast"] == []
    assert report["database_stats"]["latest_data_date"] is None
    json.dumps(report, allow_nan=False)
