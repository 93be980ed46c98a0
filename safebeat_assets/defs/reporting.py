"""Reporting stage: the daily HTML/JSON report and the alerts JSON, in the `reports` bucket."""

import json
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import dagster as dg
import pandas as pd

from ..analytics import alerts as alert_rules
from ..reporting import (
    ReportInputs,
    build_report,
    cluster_map_png,
    forecast_plot_png,
    html_bytes,
    render_html,
)
from ..storage.reports import ReportStore
from ..storage.warehouse_io import WarehouseResource
from .checks import ALERT_CHECKS, ALL_CHECKS, forecast_available
from .common import ANALYTICS_OWNERS, PipelineSettings, columns_in


class ReportConfig(dg.Config):
    report_date: str = ""  # YYYY-MM-DD; empty means today's UTC date


def _latest_metadata(context: dg.AssetExecutionContext, asset: str) -> dict[str, Any]:
    event = context.instance.get_latest_materialization_event(dg.AssetKey(asset))
    if event is None or event.asset_materialization is None:
        return {}
    return {k: v.value for k, v in event.asset_materialization.metadata.items()}


def _check_results(context: dg.AssetExecutionContext) -> list[dict]:
    specs = {
        key: spec
        for checks in ALL_CHECKS
        for key, spec in zip(checks.check_keys, checks.check_specs, strict=True)
    }
    specs.update({check.spec.key: check.spec for check in ALERT_CHECKS})
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


@dg.asset(
    group_name="reporting",
    kinds={"html", "json"},
    owners=ANALYTICS_OWNERS,
    code_version="1",
    ins={"quarantined_911_calls": columns_in("reject_reason")},
    deps=["fact_911_calls", "dim_event", "fact_event_incidents", "zone_risk_scores"],
    description=(
        "Daily report (reports/daily/<date>_report.html and .json) and alerts "
        "(reports/alerts/<date>_alerts.json): calls processed and in the warehouse, geo match "
        "rate, events tracked, rules, zones, 7-day forecast, event risk distribution, the five "
        "alert rules and this run's check results. Its status is derived from those outcomes."
    ),
)
def daily_report(
    context: dg.AssetExecutionContext,
    config: ReportConfig,
    quarantined_911_calls: pd.DataFrame,
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
    client = warehouse.client()
    calls, matched, latest = client.fetch_one(
        "SELECT count(*), count(geo_id), max(response_date) FROM {fact}", fact="fact_911_calls"
    )
    on_latest = client.fetch_one(
        "SELECT count(*) FROM {fact} WHERE response_date = (SELECT max(response_date) FROM {fact})",
        fact="fact_911_calls",
    )[0]
    events, linked = client.fetch_one(
        "SELECT (SELECT count(*) FROM {events}), (SELECT count(DISTINCT event_id) FROM {links})",
        events="dim_event",
        links="fact_event_incidents",
    )
    zone_meta = _latest_metadata(context, "zone_clusters")
    forecast_meta = _latest_metadata(context, "call_forecast")
    forecast_stats = {
        "model": forecast_meta.get("model"),
        "is_fallback": forecast_meta.get("is_fallback", False),
        "mean_predicted_calls": forecast_meta.get("mean_predicted_calls_per_day"),
        **(forecast_meta.get("test_metrics") or {}),
    }
    thresholds = alert_rules.AlertThresholds(
        min_warehouse_calls=pipeline.min_warehouse_calls, min_zones=pipeline.min_zones_clustered
    )
    fired = alert_rules.evaluate_alerts(
        warehouse_calls=int(calls),
        rules=len(association_rules),
        zones_clustered=len(zone_clusters),
        forecast_available=forecast_available(call_forecast),
        risk_scores=event_risk_scores["risk_score"].tolist(),
        high_risk_events=int((event_risk_scores["risk_category"] == "HIGH").sum()),
        thresholds=thresholds,
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
        # From raw's record, not its data: a new export must not make the report stale before
        # the facts and models it summarises are rebuilt.
        calls_processed=int(_latest_metadata(context, "raw_911_calls").get("dagster/row_count", 0)),
        calls_quarantined=len(quarantined_911_calls),
        calls_in_warehouse=int(calls),
        calls_on_latest_date=int(on_latest),
        latest_data_date=latest,
        events_tracked=int(events),
        events_linked=int(linked),
        geo_match_rate=float(matched) / calls if calls else 0.0,
        rules=association_rules,
        zones=zone_clusters,
        zone_stats={
            "chosen_k": zone_meta.get("chosen_k"),
            "silhouette": zone_meta.get("silhouette"),
            "zone_counts": zone_meta.get("zone_counts", {}),
        },
        forecast=call_forecast,
        forecast_stats=forecast_stats,
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
                columns=[dg.TableColumn(name=key, type="object") for key in report]
            ),
        }
    )
