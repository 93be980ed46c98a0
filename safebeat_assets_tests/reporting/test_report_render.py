import importlib.resources
from datetime import UTC, date, datetime

import numpy as np
import pandas as pd

from safebeat_assets.analytics.alerts import Alert
from safebeat_assets.reporting.render import TEMPLATE_NAME, html_bytes, render_html
from safebeat_assets.reporting.report import ReportInputs, build_report

EVIL = "<script>alert('x')</script>"


def make_report(**overrides) -> dict:
    values = dict(
        report_date=date(2025, 12, 23),
        run_id="run-42",
        generated_at=datetime(2025, 12, 24, 2, 0, tzinfo=UTC),
        calls_processed=835_216,
        calls_quarantined=18,
        calls_in_warehouse=835_198,
        calls_on_latest_date=612,
        latest_data_date=date(2025, 12, 23),
        events_tracked=412,
        events_linked=108,
        geo_match_rate=0.927,
        rules=pd.DataFrame(
            {
                "antecedents": ["Incident_Auto"],
                "consequents": ["Priority_3, Time_Morning"],
                "support": [0.02],
                "confidence": [0.8],
                "lift": [6.95],
                "is_incident_rule": [False],
                "rank": [1],
            }
        ),
        zones=pd.DataFrame({"geo_id": ["a", "b"]}),
        zone_stats={"chosen_k": 7, "silhouette": 0.4},
        forecast=pd.DataFrame(
            {
                "date": pd.date_range("2025-12-24", periods=7),
                "kind": "forecast",
                "actual_calls": np.nan,
                "predicted_calls": np.linspace(780, 790, 7),
                "baseline_calls": 770.0,
                "model": "ridge",
                "is_fallback": False,
            }
        ),
        forecast_stats={"model": "ridge", "mean_predicted_calls": 785.0, "skill_vs_baseline": 0.2},
        event_risk=pd.DataFrame(
            {
                "event_id": [1, 2, 3],
                "event_name": [EVIL, "Parade", "Café Fest ☕"],
                "incident_count": [40, 10, 2],
                "avg_priority": [1.2, 2.0, np.nan],
                "avg_distance_km": [0.4, 0.8, 1.2],
                "has_alcohol": [True, False, False],
                "top_final_category": ["Theft", "Noise", "Alarm"],
                "risk_score": [88.0, 45.0, 10.0],
                "risk_category": ["HIGH", "MEDIUM", "LOW"],
            }
        ),
        alerts=[Alert("CRITICAL", "HIGH_RISK_SPIKE", "12 HIGH risk events (> 10)", "Review")],
        check_results=[
            {
                "name": "geo_match",
                "asset": "enriched_911_calls",
                "passed": False,
                "severity": "WARN",
                "description": EVIL,
            }
        ],
        outputs=["reports/daily/2025-12-23/report.html"],
    )
    values.update(overrides)
    return build_report(ReportInputs(**values))


def test_no_events_source_replaces_the_event_sections():
    html = render_html(
        make_report(
            events_tracked=0,
            events_linked=0,
            event_risk=pd.DataFrame(columns=["event_id", "risk_score", "risk_category"]),
            events_source=False,
        )
    )
    assert "No events source for this city" in html
    assert 'id="no-events-source"' in html
    assert "No event has linked calls" not in html and "Events tracked" not in html


def test_a_city_with_events_shows_no_such_note():
    html = render_html(make_report(events_source=True))
    assert "No events source" not in html and "Events tracked" in html


def test_template_ships_inside_the_package():
    template = importlib.resources.files("safebeat_assets.reporting") / "templates" / TEMPLATE_NAME
    assert template.is_file()


def test_html_has_header_cards_and_sections():
    html = render_html(make_report())
    assert html.startswith("<!DOCTYPE html>")
    assert "2025-12-23" in html and "run-42" in html
    # A failed WARN check and a CRITICAL alert are listed but do not change the status.
    assert 'id="status">SUCCESS<' in html
    for card, value in [
        ("card-calls-processed", "835,216"),
        ("card-calls-warehouse", "835,198"),
        ("card-events", "412"),
        ("card-geo-match", "92.7 %"),
    ]:
        assert f'id="{card}"><div class="value">{value}<' in html
    for section in ("parts", "models", "forecast", "rules", "risk", "alerts", "checks", "outputs"):
        assert f'id="{section}"' in html
    assert "Forecast skill vs seasonal naive" in html and "20.0 %" in html
    assert "Incident_Auto" in html and "6.95" in html
    assert 'class="badge badge-HIGH"' in html and 'class="badge badge-LOW"' in html
    assert "HIGH_RISK_SPIKE" in html and "reports/daily/2025-12-23/report.html" in html
    assert "<style>" in html and "<link" not in html  # self-contained
    assert "safebeat v" in html


def test_all_data_is_escaped():
    html = render_html(make_report())
    assert "<script>" not in html
    assert "&lt;script&gt;" in html


def test_utf8_bytes_length():
    html = render_html(make_report())
    data = html_bytes(html)
    assert "Café Fest ☕" in html
    assert data.decode("utf-8") == html
    assert len(data) > len(html)  # multi-byte characters: upload the byte length


def test_missing_values_render_as_na():
    report = make_report(forecast_stats={}, zone_stats={}, alerts=[], check_results=[])
    report["ml_models"]["forecast_mean_calls_per_day"] = None
    html = render_html(report)
    assert 'id="status">SUCCESS<' in html
    assert "n/a" in html and "No alerts." in html


def test_inline_images():
    html = render_html(make_report(), images={"forecast": b"\x89PNG fake"})
    assert 'src="data:image/png;base64,iVBORyBmYWtl"' in html
