"""Sensors, one module per family:

- `landing`: new landing files request the raw assets;
- `raw_months`: a new raw calls export requests the cleaned calls of the months it changed;
- `orphaned_runs`: runs whose worker process is gone are marked failed;
- `report_after_run`: every ended daily run is followed by the day's report run;
- `run_failure` and `check_failure`: failed runs and failed watched checks raise alerts
  (written under ``reports/alerts/`` and delivered by `publish`). The alert logic itself lives
  in the Dagster-free `safebeat_assets.alerting` package.

The automation condition sensor is declared with the conditions (`defs/automation.py`).
"""

import dagster as dg

from .check_failure import check_failure_alert_sensor
from .landing import landing_zone_sensor
from .orphaned_runs import orphaned_run_sensor
from .raw_months import build_raw_month_change_sensor
from .report_after_run import report_after_daily_run_sensor
from .run_failure import run_failure_alert_sensor


def build_sensors(monthly: dg.PartitionsDefinition) -> list[dg.SensorDefinition]:
    return [
        landing_zone_sensor,
        build_raw_month_change_sensor(monthly),
        run_failure_alert_sensor,
        check_failure_alert_sensor,
        report_after_daily_run_sensor,
        orphaned_run_sensor,
    ]


__all__ = [
    "build_raw_month_change_sensor",
    "build_sensors",
    "check_failure_alert_sensor",
    "landing_zone_sensor",
    "run_failure_alert_sensor",
]
