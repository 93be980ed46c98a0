"""The daily report model: run outcomes in, a JSON-serialisable dict out.

The status is derived from real outcomes (the pipeline we replace hard-coded SUCCESS), and every number is
taken from the artefacts the run produced, never restated by hand. A model that was never built
(None) shows as null, not as zero: zero would claim it ran and found nothing.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from importlib.metadata import PackageNotFoundError, version

import numpy as np
import pandas as pd

from safebeat_assets.analytics.alerts import Alert
from safebeat_assets.analytics.risk import risk_distribution
from safebeat_assets.domain import NO_EVENTS_SOURCE, NO_EVENTS_SOURCE_TEXT
from safebeat_assets.reporting.status import PartOutcome, failures, overall_status

PIPELINE_NAME = "safebeat"
TOP_RULES = 10
TOP_EVENTS = 10

CHECK_KEYS = ("name", "asset", "passed", "severity", "description")


@dataclass
class ReportInputs:
    report_date: date
    run_id: str
    generated_at: datetime
    # The counts are None only in a FAILED report, where nothing was measured.
    calls_processed: int | None
    calls_quarantined: int | None
    calls_in_warehouse: int | None
    calls_on_latest_date: int | None
    latest_data_date: date | None
    events_tracked: int | None
    events_linked: int | None
    geo_match_rate: float | None  # share 0..1
    rules: pd.DataFrame | None  # None: the model was never built
    zones: pd.DataFrame | None
    zone_stats: dict
    forecast: pd.DataFrame | None
    forecast_stats: dict
    event_risk: pd.DataFrame | None
    alerts: list[Alert]
    check_results: list[dict]  # name, asset, passed, severity (ERROR/WARN), description
    outputs: list[str] = field(default_factory=list)
    parts: list[PartOutcome] = field(default_factory=list)
    job_name: str | None = None
    # False for a city without a permit feed; None when unknown (the FAILED report).
    events_source: bool | None = None
    # The city the report is about (SAFEBEAT_CITY): its title for people and its adapter name.
    city_title: str | None = None
    city: str | None = None


def pipeline_version() -> str:
    try:
        return version(PIPELINE_NAME)
    except PackageNotFoundError:
        return "unknown"


def to_jsonable(value):
    """Recursively turn numpy / pandas / datetime values into plain JSON types (NaN → None)."""
    if isinstance(value, Mapping):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [to_jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return [to_jsonable(v) for v in value.tolist()]
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, (pd.Timestamp, datetime, date)):
        return value.isoformat()
    return value if isinstance(value, str) else str(value)


def _round(value, digits: int):
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return None
    return round(float(value), digits)


def _date_str(value) -> str | None:
    if value is None or value is pd.NaT:
        return None
    return pd.Timestamp(value).date().isoformat()


def _records(frame: pd.DataFrame, columns: Sequence[str]) -> list[dict]:
    present = [c for c in columns if c in frame.columns]
    return to_jsonable(frame[present].to_dict(orient="records"))


def _top_rules(rules: pd.DataFrame) -> list[dict]:
    if rules is None or rules.empty:
        return []
    ordered = rules.sort_values("rank") if "rank" in rules else rules
    top = ordered.head(TOP_RULES).copy()
    for col in ("support", "confidence", "lift"):
        top[col] = top[col].round(4)
    return _records(top, ["rank", "antecedents", "consequents", "support", "confidence", "lift"])


def _forecast_rows(forecast: pd.DataFrame) -> list[dict]:
    if forecast is None or forecast.empty:
        return []
    rows = forecast.loc[forecast["kind"] == "forecast"].sort_values("date").copy()
    rows["date"] = rows["date"].map(_date_str)
    rows["weekday"] = pd.to_datetime(rows["date"]).dt.day_name()
    rows["predicted_calls"] = rows["predicted_calls"].round(1)
    rows["baseline_calls"] = rows["baseline_calls"].round(1)
    return _records(rows, ["date", "weekday", "predicted_calls", "baseline_calls", "model"])


def _top_events(event_risk: pd.DataFrame) -> list[dict]:
    if event_risk is None or event_risk.empty:
        return []
    top = event_risk.sort_values(
        ["risk_score", "event_id"], ascending=[False, True], kind="mergesort"
    ).head(TOP_EVENTS)
    top = top.assign(
        risk_score=top["risk_score"].round(1),
        avg_priority=top["avg_priority"].round(2),
        avg_distance_km=top["avg_distance_km"].round(3),
    )
    return _records(
        top,
        [
            "event_id",
            "event_name",
            "incident_count",
            "avg_priority",
            "avg_distance_km",
            "has_alcohol",
            "top_final_category",
            "risk_score",
            "risk_category",
        ],
    )


def _mean_predicted(forecast: pd.DataFrame | None, stats: Mapping):
    mean = stats.get("mean_predicted_calls") if stats else None
    if mean is None and forecast is not None and not forecast.empty:
        horizon = forecast.loc[forecast["kind"] == "forecast", "predicted_calls"]
        mean = horizon.mean() if not horizon.empty else None
    return _round(mean, 1)


def _count(frame: pd.DataFrame | None) -> int | None:
    return None if frame is None else len(frame)


def _ml_models(inputs: ReportInputs) -> dict:
    rules, zones = inputs.rules, inputs.zones
    zstats, fstats = inputs.zone_stats or {}, inputs.forecast_stats or {}
    scores = inputs.event_risk
    incident_rules = None
    if rules is not None:
        incident_rules = int(rules["is_incident_rule"].sum()) if "is_incident_rule" in rules else 0
    return {
        "rules_discovered": _count(rules),
        "incident_rules": incident_rules,
        "zones_clustered": _count(zones),
        "zone_clusters": zstats.get("chosen_k"),
        "zone_silhouette": _round(zstats.get("silhouette"), 4),
        "zone_counts": zstats.get("zone_counts", {}),
        "forecast_model": fstats.get("model"),
        "forecast_mean_calls_per_day": _mean_predicted(inputs.forecast, fstats),
        "forecast_mae": _round(fstats.get("mae"), 2),
        "forecast_baseline_mae": _round(fstats.get("baseline_mae"), 2),
        "forecast_skill_vs_baseline": _round(fstats.get("skill_vs_baseline"), 4),
        "forecast_r2": _round(fstats.get("r2"), 4),
        "forecast_is_fallback": (
            None if inputs.forecast is None else bool(fstats.get("is_fallback", False))
        ),
        "forecast_fallback_reason": fstats.get("fallback_reason"),
        "events_scored": _count(scores),
        "risk_distribution": None if scores is None else risk_distribution(scores),
    }


def _events_source(inputs: ReportInputs) -> tuple[str | None, str | None]:
    """Where the events came from and, for a city without a feed, what the event sections say
    instead of an empty table."""
    if inputs.events_source is None:
        return None, None
    if inputs.events_source:
        return "landing", None
    return NO_EVENTS_SOURCE, NO_EVENTS_SOURCE_TEXT


def assemble_report(inputs: ReportInputs, status: str, message: str | None = None) -> dict:
    """The report dict with the status already decided (`build_report` or the FAILED report)."""
    parts = list(inputs.parts)
    events_source, events_note = _events_source(inputs)
    report = {
        "report_metadata": {
            "pipeline": PIPELINE_NAME,
            "version": pipeline_version(),
            "run_id": inputs.run_id,
            "job_name": inputs.job_name,
            "generated_at": inputs.generated_at,
            "report_date": _date_str(inputs.report_date),
            "city": inputs.city_title,
            "city_name": inputs.city,
            "status": status,
            "skipped_or_failed": sum(not p.ok for p in parts),
            "message": message,
        },
        "parts": [p.to_dict() for p in parts],
        "failures": failures(parts, inputs.check_results),
        "data_processing": {
            "calls_processed": inputs.calls_processed,
            "calls_quarantined": inputs.calls_quarantined,
            "geo_match_rate": _round(inputs.geo_match_rate, 4),
            "events_tracked": inputs.events_tracked,
            "events_linked": inputs.events_linked,
            "events_source": events_source,
            "events_note": events_note,
        },
        "database_stats": {
            "calls_in_warehouse": inputs.calls_in_warehouse,
            "calls_on_latest_date": inputs.calls_on_latest_date,
            "latest_data_date": _date_str(inputs.latest_data_date),
            "events": inputs.events_tracked,
            "risk_scores": _count(inputs.event_risk),
        },
        "ml_models": _ml_models(inputs),
        "top_rules": _top_rules(inputs.rules),
        "forecast": _forecast_rows(inputs.forecast),
        "top_risky_events": _top_events(inputs.event_risk),
        "alerts": [a.to_dict() for a in inputs.alerts],
        # The five contract keys always appear; extra keys from the wiring pass through.
        "checks": [{**{k: c.get(k) for k in CHECK_KEYS}, **c} for c in inputs.check_results],
        "outputs_generated": list(inputs.outputs),
    }
    return to_jsonable(report)


def build_report(inputs: ReportInputs) -> dict:
    """The report as a JSON-serialisable dict (json.dumps works on it as is)."""
    return assemble_report(inputs, overall_status(inputs.parts, inputs.check_results))
