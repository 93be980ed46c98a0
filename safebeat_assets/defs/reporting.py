"""Reporting stage: the daily HTML/JSON report and the alerts JSON, in the `reports` bucket.

Everything the report states comes from what it declares: its inputs (model outputs, the
quarantine, the raw export's row count), the warehouse tables it depends on (aggregated in
SQL), and the latest evaluation of every check.

It runs in its own run after the daily run (whatever that run's outcome) and never needs every
model: a model that was skipped or never built is listed as such, and the status is SUCCESS,
PARTIAL or FAILED (`reporting.status`). When even the report run fails, the run-failure sensor
writes a FAILED report through `write_failed_report`.
"""

import json
from datetime import UTC, date, datetime
from pathlib import Path

import dagster as dg
import pandas as pd

from ..analytics import alerts as alert_rules
from ..analytics.forecast import forecast_available
from ..asset_names import (
    DAILY_REPORT,
    DIM_EVENT,
    EVENT_RISK_SCORES,
    FACT_CALLS,
    FACT_EVENT_INCIDENTS,
    ZONE_RISK_SCORES,
)
from ..contracts import column_descriptions
from ..reporting import (
    ReportInputs,
    build_report,
    cluster_map_png,
    forecast_plot_png,
    html_bytes,
    render_html,
)
from ..reporting.status import StepError, build_failed_report
from ..resources import PipelineSettings
from ..retries import TRANSIENT_RETRY, fail_fast_unless_transient_fn
from ..storage.lake import (
    COLUMNS_METADATA_KEY,
    MISSING_AS_NONE_METADATA_KEY,
    ROW_COUNT_METADATA_KEY,
)
from ..storage.report_queries import warehouse_figures
from ..storage.reports import ReportStore
from ..storage.tables import TABLES
from ..storage.warehouse_io import WarehouseResource
from .checks import ALERT_CHECKS, ASSET_CHECKS, PRE_CHECKS
from .checks.alert_rules import high_risk_events
from .conventions import ANALYTICS_OWNERS
from .ml import MODEL_SUMMARY
from .report_parts import part_outcomes


class ReportConfig(dg.Config):
    report_date: str = ""  # YYYY-MM-DD; empty means today's UTC date
    # The daily run this report follows (set by the report-after-run sensor and the demo): its
    # failed steps are listed per part. Empty: the report describes the latest state.
    source_run_id: str = ""


def _check_specs() -> dict[dg.AssetCheckKey, dg.AssetCheckSpec]:
    specs = {
        key: spec
        for checks in ASSET_CHECKS
        for key, spec in zip(checks.check_keys, checks.check_specs, strict=True)
    }
    specs.update({check.spec.key: check.spec for check in [*ALERT_CHECKS, *PRE_CHECKS]})
    return specs


def _check_results(context: dg.AssetExecutionContext, reported_run_id: str) -> list[dict]:
    """Every check's latest evaluation; `this_run`: evaluated by the run being reported (the
    daily run this report follows, or the report's own run when it reports itself)."""
    specs = _check_specs()
    # One query for all checks.
    records = context.instance.event_log_storage.get_latest_asset_check_execution_by_key(
        list(specs)
    )
    results = []
    for key, spec in sorted(specs.items(), key=lambda item: item[0].to_user_string()):
        record = records.get(key)
        evaluation = record.event.asset_check_evaluation if record and record.event else None
        results.append(
            {
                "name": key.name,
                "asset": key.asset_key.to_user_string(),
                "passed": bool(evaluation.passed) if evaluation else False,
                "severity": evaluation.severity.value if evaluation else "WARN",
                "description": spec.description or "",
                "evaluated": evaluation is not None,
                "this_run": bool(record and record.run_id == reported_run_id),
            }
        )
    return results


def _summary(model_output: pd.DataFrame | None) -> dict:
    if model_output is None:
        return {}
    return dict(model_output.attrs.get(MODEL_SUMMARY) or {})


def _event_risk(client) -> pd.DataFrame | None:
    if not client.has_table(EVENT_RISK_SCORES):
        return None
    return client.read_table(TABLES[EVENT_RISK_SCORES])


# A model skipped by its pre-check, or never built yet, is None: the report says so.
OPTIONAL_MODEL = dg.AssetIn(metadata={MISSING_AS_NONE_METADATA_KEY: True})


@dg.asset(
    group_name="reporting",
    retry_policy=TRANSIENT_RETRY,
    kinds={"html", "json"},
    owners=list(ANALYTICS_OWNERS),
    code_version="2",
    ins={
        # Only the quarantine's stored row count (Parquet footers), not its rows; the raw
        # export's manifest counts its rows per file and month.
        "quarantined_911_calls": dg.AssetIn(metadata={ROW_COUNT_METADATA_KEY: True}),
        "raw_911_calls": dg.AssetIn(metadata={COLUMNS_METADATA_KEY: ["rows"]}),
        "association_rules": OPTIONAL_MODEL,
        "zone_clusters": OPTIONAL_MODEL,
        "call_forecast": OPTIONAL_MODEL,
    },
    deps=[FACT_CALLS, DIM_EVENT, FACT_EVENT_INCIDENTS, ZONE_RISK_SCORES, EVENT_RISK_SCORES],
    description=(
        "Daily report (reports/daily/<date>_report.html and .json) and alerts "
        "(reports/alerts/<date>_alerts.json): calls processed and in the warehouse, geo match "
        "rate, events tracked, rules, zones, the forecast, event risk distribution, the alert "
        "rules and the checks. Status SUCCESS, PARTIAL (each skipped or failed part with its "
        "reason) or FAILED (written by the run-failure sensor when the report run fails). Runs "
        "after every daily run, whatever its outcome."
    ),
)
@fail_fast_unless_transient_fn
def daily_report(
    context: dg.AssetExecutionContext,
    config: ReportConfig,
    raw_911_calls: pd.DataFrame,
    quarantined_911_calls: int,
    association_rules: pd.DataFrame | None,
    zone_clusters: pd.DataFrame | None,
    call_forecast: pd.DataFrame | None,
    warehouse: WarehouseResource,
    reports: ReportStore,
    pipeline: PipelineSettings,
) -> dg.MaterializeResult:
    report_date = (
        date.fromisoformat(config.report_date) if config.report_date else datetime.now(UTC).date()
    )
    client = warehouse.client()
    figures = warehouse_figures(client)
    event_risk_scores = _event_risk(client)
    zone_summary, forecast_summary = _summary(zone_clusters), _summary(call_forecast)
    source_run_id = config.source_run_id or None
    parts = part_outcomes(context.instance, _check_specs(), source_run_id)
    fired = alert_rules.evaluate_alerts(
        warehouse_calls=figures.calls,
        rules=0 if association_rules is None else len(association_rules),
        zones_clustered=0 if zone_clusters is None else len(zone_clusters),
        forecast_available=call_forecast is not None and forecast_available(call_forecast),
        risk_scores=[] if event_risk_scores is None else event_risk_scores["risk_score"].tolist(),
        high_risk_events=0 if event_risk_scores is None else high_risk_events(event_risk_scores),
        thresholds=pipeline.alert_thresholds(),
        events_source=pipeline.events_source,
    )
    stamp = report_date.isoformat()
    outputs = [*report_paths(report_date), f"alerts/{stamp}_alerts.json"]
    inputs = ReportInputs(
        report_date=report_date,
        run_id=source_run_id or context.run.run_id,
        generated_at=datetime.now(UTC),
        calls_processed=int(raw_911_calls["rows"].sum()),
        calls_quarantined=quarantined_911_calls,
        calls_in_warehouse=figures.calls,
        calls_on_latest_date=figures.calls_on_latest_date,
        latest_data_date=figures.latest_date,
        events_tracked=figures.events,
        events_linked=figures.events_linked,
        geo_match_rate=figures.matched_calls / figures.calls if figures.calls else 0.0,
        rules=association_rules,
        zones=zone_clusters,
        zone_stats={
            "chosen_k": zone_summary.get("chosen_k"),
            "silhouette": zone_summary.get("silhouette"),
            "zone_counts": zone_summary.get("zone_counts", {}),
        },
        forecast=call_forecast,
        forecast_stats={
            "model": forecast_summary.get("model"),
            "is_fallback": forecast_summary.get("is_fallback", False),
            "mean_predicted_calls": forecast_summary.get("mean_predicted_calls"),
            **(forecast_summary.get("test_metrics") or {}),
        },
        event_risk=event_risk_scores,
        alerts=fired,
        check_results=_check_results(context, source_run_id or context.run.run_id),
        outputs=outputs,
        parts=parts,
        events_source=pipeline.events_source,
        city_title=pipeline.city_title,
        city=pipeline.city,
    )
    report = build_report(inputs)
    images = {}
    if call_forecast is not None:
        images["forecast"] = forecast_plot_png(call_forecast)
    if zone_clusters is not None:
        images["clusters"] = cluster_map_png(zone_clusters)
    html = render_html(report, images=images)
    html_uri = reports.write(outputs[0], html_bytes(html))
    json_uri = reports.write(outputs[1], json.dumps(report, indent=2).encode("utf-8"))
    alerts_doc = alert_rules.alerts_payload(
        fired, generated_at=report["report_metadata"]["generated_at"]
    )
    alerts_uri = reports.write(outputs[2], json.dumps(alerts_doc, indent=2).encode("utf-8"))
    status = report["report_metadata"]["status"]
    descriptions = column_descriptions(DAILY_REPORT)
    context.log.info(f"daily report {stamp}: status {status}, {len(fired)} alert(s) -> {html_uri}")
    return dg.MaterializeResult(
        metadata={
            "status": status,
            "parts": dg.MetadataValue.md(
                "\n".join(
                    f"- **{p.part}**: {p.state}" + (f" — {p.reason}" if p.reason else "")
                    for p in parts
                )
            ),
            "report_html": dg.MetadataValue.path(html_uri),
            "report_link": dg.MetadataValue.url(
                html_uri if "://" in html_uri else Path(html_uri).resolve().as_uri()
            ),
            "report_json": dg.MetadataValue.path(json_uri),
            "alerts_json": dg.MetadataValue.path(alerts_uri),
            "alerts": dg.MetadataValue.md(
                "\n".join(f"- **{a.severity} {a.type}**: {a.message}" for a in fired) or "_none_"
            ),
            "alert_count": len(fired),
            "dagster/row_count": 1,
            "dagster/column_schema": dg.TableSchema(
                columns=[
                    dg.TableColumn(name=key, type="object", description=descriptions.get(key))
                    for key in report
                ]
            ),
        }
    )


def report_paths(report_date: date) -> tuple[str, str]:
    stamp = report_date.isoformat()
    return f"daily/{stamp}_report.html", f"daily/{stamp}_report.json"


def write_failed_report(
    reports: ReportStore,
    report_date: date,
    run_id: str,
    job_name: str,
    failed_steps: list[StepError],
    message: str,
    city: tuple[str, str] | None = None,
) -> str:
    """The FAILED report for a day whose report step could not run; returns the HTML path.
    `city`: the city's (name, title)."""
    report = build_failed_report(
        report_date, run_id, datetime.now(UTC), job_name, failed_steps, message, city
    )
    html_path, json_path = report_paths(report_date)
    uri = reports.write(html_path, html_bytes(render_html(report, images={})))
    reports.write(json_path, json.dumps(report, indent=2).encode("utf-8"))
    return uri


def configured_report_date(run: dg.DagsterRun) -> date:
    """The report date in a report run's config, else today (UTC)."""
    config = (run.run_config or {}).get("ops", {}).get(DAILY_REPORT, {}).get("config", {})
    value = config.get("report_date") if isinstance(config, dict) else None
    return date.fromisoformat(value) if value else datetime.now(UTC).date()
