"""Asset checks, one module per family:

- `warehouse_sql`: blocking integrity checks on every warehouse table (SQL on the stored tables);
- `pre_checks`: the blocking ML pre-checks, each evaluated in its own model's step before it is
  fitted (they replace the old pipeline's skip logic; a failure skips that model only);
- `models`: blocking checks on the model outputs;
- `hot_spots`: checks on the hot-spot maps (SQL on the stored table);
- `event_impact`: SQL checks on the baseline rates (the model's own checks run in its step);
- `alert_rules`: the alert rules and the geo match rate as WARN checks evaluated in the step of
  the asset they judge.

Names read as assertions and carry no number that settings can change (the threshold is in
the description and the metadata).
"""

from collections.abc import Mapping

import dagster as dg

from ... import alerting
from .alert_rules import ALERT_CHECKS, CallTotals, alert_check_results, alert_check_specs
from .event_impact import BASELINE_ASSET_CHECKS
from .hot_spots import HOT_SPOT_CHECKS
from .models import MODEL_CHECKS
from .pre_checks import PRE_CHECKS
from .warehouse_sql import SQL_ASSET_CHECKS, SQL_CHECKS

# The separately defined checks; the alert-rule checks are part of their assets.
ASSET_CHECKS: list[dg.AssetChecksDefinition] = [
    *SQL_ASSET_CHECKS,
    *MODEL_CHECKS,
    *HOT_SPOT_CHECKS,
    *BASELINE_ASSET_CHECKS,
]

# The checks whose failure raises an alert, and how it is reported.
WATCHED_CHECKS: Mapping[str, alerting.CheckRule] = {
    check.name: check.alert
    for check in [*ALERT_CHECKS, *SQL_CHECKS, *PRE_CHECKS]
    if check.alert is not None
}

__all__ = [
    "ALERT_CHECKS",
    "ASSET_CHECKS",
    "SQL_CHECKS",
    "WATCHED_CHECKS",
    "PRE_CHECKS",
    "CallTotals",
    "alert_check_results",
    "alert_check_specs",
]
