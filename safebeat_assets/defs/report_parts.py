"""What the daily report says about each part of the pipeline: built, skipped (a blocking check
failed: which, its measured value and threshold), failed (the step's error in the run the report
follows) or missing (never built). Read from the Dagster instance; the rules of the status
itself live in the Dagster-free `reporting.status`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime

import dagster as dg

from ..asset_names import (
    ASSOCIATION_RULES,
    CALL_BASELINE_RATES,
    CALL_FORECAST,
    CALL_HOT_SPOTS,
    DIM_EVENT,
    DIM_GEO,
    EVENT_IMPACT_MODEL,
    EVENT_RISK_SCORES,
    FACT_CALLS,
    FACT_EVENT_INCIDENTS,
    ZONE_CLUSTERS,
    ZONE_RISK_SCORES,
)
from ..reporting.status import PartOutcome, StepError
from .checks.pre_checks import PRE_CHECKS
from .sensors.publish import error_summary, plain_metadata

PRE_CHECK_NAMES = frozenset(check.name for check in PRE_CHECKS)

PARTS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("warehouse", (DIM_GEO, DIM_EVENT, FACT_CALLS)),
    ("event links", (FACT_EVENT_INCIDENTS,)),
    ("association rules", (ASSOCIATION_RULES,)),
    ("zones", (ZONE_CLUSTERS, ZONE_RISK_SCORES)),
    ("forecast", (CALL_FORECAST,)),
    ("event risk", (EVENT_RISK_SCORES,)),
    ("hot spots", (CALL_HOT_SPOTS,)),
    ("event impact", (CALL_BASELINE_RATES, EVENT_IMPACT_MODEL)),
)
PLAN_EVENTS = {
    dg.DagsterEventType.ASSET_MATERIALIZATION_PLANNED,
    dg.DagsterEventType.ASSET_CHECK_EVALUATION_PLANNED,
}


def run_step_errors(instance: dg.DagsterInstance, run_id: str) -> list[StepError]:
    """The failed steps of a run, with the assets each one was to build."""
    planned: dict[str, set[str]] = {}
    for entry in instance.all_logs(run_id, of_type=PLAN_EVENTS):
        event = entry.dagster_event
        if event is None or not event.step_key:
            continue
        data = event.event_specific_data
        key = event.asset_key or getattr(data, "asset_key", None)
        if key is not None:
            planned.setdefault(event.step_key, set()).add(key.to_user_string())
    errors = []
    for entry in instance.all_logs(run_id, of_type=dg.DagsterEventType.STEP_FAILURE):
        event = entry.dagster_event
        error = getattr(event.event_specific_data, "error", None)
        errors.append(
            StepError(
                step_key=event.step_key or "",
                error=error_summary(error),
                assets=tuple(sorted(planned.get(event.step_key or "", ()))),
            )
        )
    return errors


def _failed_error_checks(
    instance: dg.DagsterInstance, check_keys: Sequence[dg.AssetCheckKey]
) -> dict[str, list[tuple[str, dict]]]:
    """asset -> [(check name, metadata)] of ERROR checks whose latest evaluation failed."""
    records = instance.event_log_storage.get_latest_asset_check_execution_by_key(list(check_keys))
    failed: dict[str, list[tuple[str, dict]]] = {}
    for key, record in records.items():
        evaluation = record.event.asset_check_evaluation if record and record.event else None
        if evaluation is None or evaluation.passed:
            continue
        if evaluation.severity != dg.AssetCheckSeverity.ERROR:
            continue
        failed.setdefault(key.asset_key.to_user_string(), []).append(
            (key.name, plain_metadata(evaluation.metadata))
        )
    return failed


def _built_at(instance: dg.DagsterInstance, asset: str) -> str | None:
    event = instance.get_latest_materialization_event(dg.AssetKey(asset))
    if event is None:
        return None
    return datetime.fromtimestamp(event.timestamp, UTC).isoformat(timespec="seconds")


def _held_back(
    part: str, assets: tuple[str, ...], asset: str, check: str, metadata: Mapping, skipped: bool
) -> PartOutcome:
    """A part a blocking check held back. The check, its measured values and threshold are
    fields that `PartOutcome.summary` words; the reason only says which asset it concerns."""
    return PartOutcome(
        part=part,
        assets=assets,
        state="skipped" if skipped else "failed",
        check=check,
        measured={k: v for k, v in metadata.items() if k != "threshold"},
        threshold=metadata.get("threshold"),
        reason=f"{asset} was not built"
        if skipped
        else f"{asset} was built from data that did not pass",
    )


def part_outcomes(
    instance: dg.DagsterInstance,
    check_keys: Iterable[dg.AssetCheckKey],
    source_run_id: str | None,
) -> list[PartOutcome]:
    failed_checks = _failed_error_checks(instance, list(check_keys))
    step_errors = run_step_errors(instance, source_run_id) if source_run_id else []
    outcomes = []
    for part, assets in PARTS:
        built_at = {asset: _built_at(instance, asset) for asset in assets}
        last_built = min((t for t in built_at.values() if t), default=None)
        checks = [(a, c, m) for a in assets for c, m in failed_checks.get(a, [])]
        errors = [e for e in step_errors if set(e.assets) & set(assets)]
        if checks:
            asset, check, metadata = checks[0]
            # A failed pre-check means the model was not fitted on purpose; any other failed
            # ERROR check means the part's data is wrong.
            held_back = _held_back(
                part, assets, asset, check, metadata, skipped=check in PRE_CHECK_NAMES
            )
            outcomes.append(replace(held_back, last_built=last_built))
        elif errors:
            outcomes.append(
                PartOutcome(
                    part=part,
                    assets=assets,
                    state="failed",
                    error=errors[0].error,
                    reason=f"step {errors[0].step_key} failed",
                    last_built=last_built,
                )
            )
        elif any(t is None for t in built_at.values()):
            never = [a for a, t in built_at.items() if t is None]
            outcomes.append(
                PartOutcome(
                    part=part,
                    assets=assets,
                    state="missing",
                    reason=f"never built: {', '.join(never)}",
                )
            )
        else:
            outcomes.append(
                PartOutcome(part=part, assets=assets, state="built", last_built=last_built)
            )
    return outcomes
