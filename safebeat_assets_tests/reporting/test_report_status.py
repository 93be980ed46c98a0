import html as html_lib
import json
from datetime import UTC, date, datetime

import numpy as np
import pytest

from safebeat_assets.reporting.render import render_html
from safebeat_assets.reporting.report import build_report
from safebeat_assets.reporting.status import (
    PartOutcome,
    StepError,
    build_failed_report,
    overall_status,
)
from safebeat_assets_tests.reporting.test_report_model import make_inputs

MODELS = ("association_rules", "zone_clusters", "call_forecast", "event_risk_scores")
FORECAST_SKIPPED = PartOutcome(
    "call_forecast",
    ("call_forecast",),
    "skipped",
    check="enough_days_for_forecast",
    measured={"distinct_days": np.int64(20)},
    threshold=30,
    last_built="2025-12-01",
)
SKIPPED_SENTENCE = (
    "call_forecast skipped: enough_days_for_forecast failed, distinct_days 20 < threshold 30"
)


def built(*names: str) -> list[PartOutcome]:
    return [PartOutcome(name, (name,), "built") for name in names]


def error_check(name: str, asset: str, passed: bool, **extra) -> dict:
    return {
        "name": name,
        "asset": asset,
        "passed": passed,
        "severity": "ERROR",
        "description": "",
        **extra,
    }


def failed_report() -> dict:
    return build_failed_report(
        report_date=date(2025, 12, 23),
        run_id="run-9",
        generated_at=datetime(2025, 12, 24, 2, 0, tzinfo=UTC),
        job_name="daily_job",
        failed_steps=[
            StepError(
                "enriched_911_calls",
                "ValueError: bad <b>geo</b> & 'quotes'\nTraceback (most recent call last): ...",
                ("enriched_911_calls",),
            ),
            StepError("load_warehouse", "ConnectionError: warehouse unreachable"),
        ],
        message="Run run-9 failed before daily_report",
    )


def test_every_part_built_is_success():
    report = build_report(make_inputs(parts=built(*MODELS)))
    meta = report["report_metadata"]
    assert meta["status"] == "SUCCESS" and meta["skipped_or_failed"] == 0
    assert [p["state"] for p in report["parts"]] == ["built"] * 4
    assert report["failures"] == []
    assert "badge badge-built" in render_html(report)


def test_skipped_forecast_is_partial_with_measure_and_threshold():
    parts = [*built("association_rules", "zone_clusters", "event_risk_scores"), FORECAST_SKIPPED]
    checks = [error_check("enough_days_for_forecast", "call_forecast", passed=False)]
    report = build_report(
        make_inputs(parts=parts, check_results=checks, forecast=None, forecast_stats={})
    )
    report = json.loads(json.dumps(report, allow_nan=False))  # as a JSON reader sees it

    assert report["report_metadata"]["status"] == "PARTIAL"
    assert report["report_metadata"]["skipped_or_failed"] == 1
    [part] = [p for p in report["parts"] if p["state"] != "built"]
    assert part["check"] == "enough_days_for_forecast"
    assert part["measured"] == {"distinct_days": 20} and part["threshold"] == 30
    assert part["summary"].startswith(SKIPPED_SENTENCE)
    assert part["last_built"] == "2025-12-01"
    # The pre-check that skipped the forecast is the part's reason, not a second failure.
    assert [f["message"] for f in report["failures"]] == [part["summary"]]

    html = render_html(report)
    assert 'id="status">PARTIAL<' in html and ".badge-PARTIAL" in html
    assert 'class="badge badge-skipped">skipped<' in html
    assert html_lib.escape(SKIPPED_SENTENCE) in html  # the comparison's < is escaped
    assert "distinct_days <strong>20</strong>" in html
    assert "(threshold <strong>30</strong>)" in html
    assert "Forecast not generated." in html
    assert html.index('id="parts"') < html.index('id="models"')  # near the top


def test_failed_error_check_is_partial_and_listed():
    checks = [
        error_check("fact_rows", "fact_911_calls", passed=False, description="≥ 1 row"),
        error_check("never_ran", "dim_geo", passed=False, evaluated=False),
    ]
    report = build_report(make_inputs(parts=built(*MODELS), check_results=checks))
    assert report["report_metadata"]["status"] == "PARTIAL"
    assert report["report_metadata"]["skipped_or_failed"] == 0
    assert report["failures"] == [
        {
            "kind": "check",
            "name": "fact_rows",
            "assets": ["fact_911_calls"],
            "state": "failed",
            "message": "fact_rows on fact_911_calls failed (ERROR): ≥ 1 row",
        }
    ]
    assert "fact_rows on fact_911_calls failed (ERROR)" in render_html(report)


def test_a_check_never_evaluated_does_not_fail_the_run():
    checks = [error_check("never_ran", "dim_geo", passed=False, evaluated=False)]
    assert overall_status(built(*MODELS), checks) == "SUCCESS"


@pytest.mark.parametrize(
    ("part", "sentence"),
    [
        (PartOutcome("zones", ("zone_clusters",), "missing"), "zones missing: never built"),
        (
            PartOutcome("rules", ("association_rules",), "failed", error="KeyError: x\n  at ..."),
            "rules failed: KeyError: x",
        ),
        (
            PartOutcome("rules", (), "skipped", check="c", measured={"calls": 950}, threshold=1000),
            "rules skipped: c failed, calls 950 < threshold 1,000",
        ),
        (PartOutcome("rules", (), "built"), "rules built"),
    ],
)
def test_part_summaries(part, sentence):
    assert part.summary == sentence
    assert overall_status([part], []) == ("SUCCESS" if part.ok else "PARTIAL")


def test_part_state_is_validated():
    with pytest.raises(ValueError, match="state"):
        PartOutcome("rules", (), "WARNING")


def test_missing_and_failed_parts_render_with_their_badges():
    parts = [
        PartOutcome("zones", ("zone_clusters",), "missing"),
        PartOutcome("rules", ("association_rules",), "failed", error="boom <i>"),
    ]
    html = render_html(build_report(make_inputs(parts=parts, rules=None, zones=None)))
    assert 'class="badge badge-missing">missing<' in html and "Never built." in html
    assert 'class="badge badge-failed">failed<' in html
    assert "boom &lt;i&gt;" in html and "boom <i>" not in html


def test_models_never_built_are_null_not_zero():
    report = build_report(
        make_inputs(
            rules=None,
            zones=None,
            zone_stats={},
            forecast=None,
            forecast_stats={},
            event_risk=None,
        )
    )
    json.dumps(report, allow_nan=False)
    ml = report["ml_models"]
    for key in (
        "rules_discovered",
        "incident_rules",
        "zones_clustered",
        "forecast_mean_calls_per_day",
        "forecast_is_fallback",
        "events_scored",
        "risk_distribution",
    ):
        assert ml[key] is None, key
    assert report["database_stats"]["risk_scores"] is None
    assert report["top_rules"] == [] and report["forecast"] == []
    assert report["top_risky_events"] == []

    html = render_html(report)
    assert html.count("not generated") >= 3  # rules, zones and forecast rows of the models table
    assert "Association rules not generated." in html
    assert "Event risk not generated." in html


def test_empty_models_are_zero_not_null():
    ml = build_report(make_inputs(rules=make_inputs().rules.iloc[:0]))["ml_models"]
    assert ml["rules_discovered"] == 0 and ml["incident_rules"] == 0


def test_failed_report_has_the_same_shape_as_a_report():
    failed, normal = failed_report(), build_report(make_inputs())
    assert list(failed) == list(normal)
    for key, value in normal.items():
        assert type(failed[key]) is type(value), key
        if isinstance(value, dict):
            assert set(failed[key]) == set(value), key
    assert json.loads(json.dumps(failed, allow_nan=False)) == failed


def test_failed_report_content():
    report = failed_report()
    meta = report["report_metadata"]
    assert meta["status"] == "FAILED" and meta["run_id"] == "run-9"
    assert meta["job_name"] == "daily_job" and meta["skipped_or_failed"] == 2
    assert meta["message"] == "Run run-9 failed before daily_report"
    assert [(p["part"], p["state"]) for p in report["parts"]] == [
        ("enriched_911_calls", "failed"),
        ("load_warehouse", "failed"),
    ]
    assert report["parts"][0]["error"].startswith("ValueError: bad <b>geo</b>")
    assert report["data_processing"]["calls_processed"] is None
    assert report["ml_models"]["rules_discovered"] is None
    assert report["alerts"] == [] and report["checks"] == []


@pytest.mark.parametrize("images", [None, {"forecast": b"", "clusters": None}])
def test_failed_report_renders_steps_and_escaped_errors(images):
    html = render_html(failed_report(), images=images)
    assert 'id="status">FAILED<' in html
    assert "daily_job" in html and "Run run-9 failed before daily_report" in html
    assert 'id="failures"' in html and "stopped before the report step" in html
    assert "enriched_911_calls failed: ValueError: bad" in html
    assert "load_warehouse failed: ConnectionError: warehouse unreachable" in html
    assert "Traceback (most recent call last)" in html  # the full error, in the parts table
    assert "<b>geo</b>" not in html
    assert "&lt;b&gt;geo&lt;/b&gt; &amp; &#39;quotes&#39;" in html
    assert html.index('id="failures"') < html.index('id="card-calls-processed"')
    assert 'id="card-calls-processed"><div class="value">n/a<' in html
    assert "Forecast not generated." in html and "No checks recorded." in html
    assert "data:image/png" not in html
