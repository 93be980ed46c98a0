"""Reporting stage: the daily HTML/JSON report and the alerts JSON, in the `reports` bucket.

Everything the report states comes from what it declares: its inputs (model outputs, the
quarantine, the raw export's row count), the warehouse tables it depends on (aggregated in
SQL), and the latest evaluation of every check.
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
from ..resources import PipelineSettings
from ..storage.lake import ROW_COUNT_METADATA_KEY
from ..storage.report_queries import warehouse_figures
from ..storage.reports import ReportStore
from ..storage.warehouse_io import WarehouseResource
from .checks import ALERT_CHECKS, ASSET_CHECKS
from .checks.alert_rules import high_risk_events
from .conventions import ANALYTICS_OWNERS
from .ml import MODEL_SUMMARY


class ReportConfig(dg.Config):
    report_date: str = ""  # YYYY-MM-DD; empty means today's UTC date


def _check_results(context: dg.AssetExecutionContext) -> list[dict]:
    specs = {
        key: spec
        for checks in ASSET_CHECKS
        for key, spec in zip(checks.check_keys, checks.check_specs, strict=True)
    }
    specs.update({check.spec.key: check.spec for check in ALERT_CHECKS})
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
                "this_run": bool(record and record.run_id == context.run.run_id),
            }
        )
    return results


def _summary(model_output: pd.DataFrame) -> dict:
    return dict(model_output.attrs.get(MODEL_SUMMARY) or {})


@dg.asset(
    group_name="reporting",
    kinds={"html", "json"},
    owners=list(ANALYTICS_OWNERS),
    code_version="1",
    ins={
        # Only their stored row counts (Parquet footers), not their rows.
        "quarantined_911_calls": dg.AssetIn(metadata={ROW_COUNT_METADATA_KEY: True}),
        "raw_911_calls": dg.AssetIn(metadata={ROW_COUNT_METADATA_KEY: True}),
    },
    deps=[FACT_CALLS, DIM_EVENT, FACT_EVENT_INCIDENTS, ZONE_RISK_SCORES],
    description=(
        "Daily report (reports/daily/<date>_report.html and .json) and alerts "
        "(reports/alerts/<date>_alerts.json): calls processed and in the warehouse, geo match "
        "rate, events tracked, rules, zones, the forecast, event risk distribution, the alert "
        "rules and this run's check results. Its status is derived from those outcomes."
    ),
)
def daily_report(
    context: dg.AssetExecutionContext,
    config: ReportConfig,
    raw_911_calls: int,
    quarantined_911_calls: int,
    association_rules: pd.DataFrame,
    zone_clusters: pd.DataFrame,
    call_forecast: pd.DataFrame,
    event_risk_scores: pd.DataFrame,
    warehouse: WarehouseResource,
    reports: ReportStore,
    pipeline: PipelineSettings,
) -> dg.MaterializeResult:
    report_date = (
        date.fromisoformat(config.report_date) if config.report_date else datetime.now(UTC).date()
    )
    figures = warehouse_figures(warehouse.client())
    zone_summary, forecast_summary = _summary(zone_clusters), _summary(call_forecast)
    fired = alert_rules.evaluate_alerts(
        warehouse_calls=figures.calls,
        rules=len(association_rules),
        zones_clustered=len(zone_clusters),
        forecast_available=forecast_available(call_forecast),
        risk_scores=event_risk_scores["risk_score"].tolist(),
        high_risk_events=high_risk_events(event_risk_scores),
        thresholds=pipeline.alert_thresholds(),
    )
    stamp = report_date.isoformat()
    outputs = [
        f"daily/{stamp}_report.html",
        f"daily/{stamp}_report.json",
        f"alerts/{stamp}_alerts.json",
    ]
    inputs = ReportInputs(
        report_date=report_date,
        run_id=context.run.run_id,
        generated_at=datetime.now(UTC),
        calls_processed=raw_911_calls,
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
        check_results=_check_results(context),
        outputs=outputs,
    )
    report = build_report(inputs)
    html = render_html(
        report,
        images={
            "forecast": forecast_plot_png(call_forecast),
            "clusters": cluster_map_png(zone_clusters),
        },
    )
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
