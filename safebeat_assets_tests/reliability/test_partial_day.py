"""Per-model gating and a report every day: 20 days of data are too few for the forecast only.

Rules, zones, event links and risk scores are still built; the forecast is skipped by its own
blocking pre-check (visible as a failed ERROR check), and the day's report says PARTIAL, naming
the check, its measured value and threshold.
"""

import json
from dataclasses import replace

import pytest

from safebeat_assets.asset_names import (
    ASSOCIATION_RULES,
    CALL_FORECAST,
    EVENT_RISK_SCORES,
    FACT_EVENT_INCIDENTS,
    ZONE_CLUSTERS,
    ZONE_RISK_SCORES,
)
from safebeat_assets.sample import generate_sample
from safebeat_assets_tests.helpers import REPORT_DATE, row_counts, run_daily_job


@pytest.fixture(scope="module")
def twenty_days_landing(tmp_path_factory):
    landing = tmp_path_factory.mktemp("twenty-days")
    generate_sample(landing, n_calls=6_000, seed=11, start="2025-06-01", end="2025-06-20")
    return landing


@pytest.mark.e2e
def test_twenty_days_give_everything_but_the_forecast(local_settings, twenty_days_landing):
    settings = replace(local_settings, landing_dir=twenty_days_landing)
    result = run_daily_job(settings)

    counts = row_counts(result)
    for built in (ASSOCIATION_RULES, ZONE_CLUSTERS, FACT_EVENT_INCIDENTS, EVENT_RISK_SCORES):
        assert counts.get(built, 0) > 0, built
    assert ZONE_RISK_SCORES in counts
    assert CALL_FORECAST not in counts

    pre_check = next(
        e
        for e in result.get_asset_check_evaluations()
        if e.check_name == "enough_days_for_forecast"
    )
    assert not pre_check.passed
    assert pre_check.metadata["distinct_days"].value == 20
    assert pre_check.metadata["threshold"].value == 30
    other_pre_checks = {
        e.check_name: e.passed
        for e in result.get_asset_check_evaluations()
        if e.check_name in {"enough_calls_for_rules", "enough_geolocated_calls_for_zones"}
    }
    assert other_pre_checks == {
        "enough_calls_for_rules": True,
        "enough_geolocated_calls_for_zones": True,
    }
    # The daily run fails (a blocking check failed) but the report run succeeds.
    assert not result.daily.success
    assert result.report_run.success
    assert result.report.status == "PARTIAL"

    report_json = settings.lake_dir / "reports" / "daily" / f"{REPORT_DATE}_report.json"
    report = json.loads(report_json.read_text())
    assert report["report_metadata"]["status"] == "PARTIAL"
    parts = {part["part"]: part for part in report["parts"]}
    assert parts["forecast"]["state"] == "skipped"
    assert parts["forecast"]["check"] == "enough_days_for_forecast"
    assert parts["forecast"]["measured"] == {"distinct_days": 20}
    assert parts["forecast"]["threshold"] == 30
    for built in ("warehouse", "event links", "association rules", "zones", "event risk"):
        assert parts[built]["state"] == "built", parts[built]
    html = report_json.with_suffix(".html").read_text()
    assert "enough_days_for_forecast" in html and "PARTIAL" in html
