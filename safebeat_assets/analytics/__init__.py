"""Pure analytics over warehouse frames: rules, zones, forecast, risk and alerts (no Dagster).

Names are re-exported lazily so that importing e.g. `analytics.alerts` (used by checks and the
report) does not pay for importing scikit-learn and mlxtend.
"""

from importlib import import_module

_EXPORTS = {
    "Alert": "alerts",
    "AlertThresholds": "alerts",
    "check_clustering": "alerts",
    "check_data_volume": "alerts",
    "check_forecast": "alerts",
    "check_high_risk_spike": "alerts",
    "check_risk_scores": "alerts",
    "check_rules": "alerts",
    "evaluate_alerts": "alerts",
    "ForecastResult": "forecast",
    "forecast_daily_calls": "forecast",
    "risk_distribution": "risk",
    "score_event_risk": "risk",
    "zone_risk_table": "risk",
    "RulesResult": "rules",
    "mine_association_rules": "rules",
    "ZoneResult": "zones",
    "cluster_zones": "zones",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(f"{__name__}.{_EXPORTS[name]}"), name)
