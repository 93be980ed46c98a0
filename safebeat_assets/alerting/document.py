"""The alert document written under ``reports/alerts/`` for failed runs and failed checks.

Same shape as the daily alerts JSON (generated_at, total_alerts, alerts of {severity, type,
message, action_required}), built with `analytics.alerts.alerts_payload`; every alert also
names its run_id, asset and check, and the document adds source, run_id, job_name, severity (the
highest of its alerts) and, once delivered, a `delivery` section.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from ..analytics import alerts as rules
from ..asset_names import FACT_CALLS

INFO = "INFO"
WARNING = rules.WARNING
ERROR = "ERROR"
CRITICAL = rules.CRITICAL
SEVERITY_ORDER = (INFO, WARNING, ERROR, CRITICAL)

RUN_FAILURE = "RUN_FAILURE"
CHECK_FAILURE = "CHECK_FAILURE"

SOURCE_RUN_FAILURE = "run_failure"
SOURCE_CHECK_FAILURE = "checks"

MAX_MESSAGE_CHARS = 500


@dataclass(frozen=True)
class CheckRule:
    """How a failed watched check is reported: severity, alert type and the action to take."""

    severity: str
    type: str
    action_required: str


def rule_of_alert(fired: rules.Alert | None) -> CheckRule:
    """Severity, type and action of an analytics alert rule (the one definition of the rule),
    from the alert it returns for a value that makes it fire."""
    if fired is None:
        raise ValueError("the probe value must make the alert rule fire")
    return CheckRule(fired.severity, fired.type, fired.action_required)


def pre_check_rule(alert_type: str, needs: str) -> CheckRule:
    """How a failed blocking model pre-check is reported (`needs`: what the model lacked)."""
    return CheckRule(
        ERROR,
        alert_type,
        f"Blocking pre-check failed ({needs}); this model was skipped, the rest of the run "
        f"went on. Check that the latest exports landed and {FACT_CALLS} loaded completely.",
    )


@dataclass(frozen=True)
class FailedCheck:
    """One failed check evaluation, as plain values (no Dagster types)."""

    check: str
    asset: str
    run_id: str
    check_severity: str = "ERROR"  # the Dagster AssetCheckSeverity name: WARN or ERROR
    description: str | None = None
    metadata: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class StepFailure:
    """One failed step of a run: its key, error summary and the assets/checks it computes."""

    step_key: str
    error: str
    assets: tuple[str, ...] = ()
    checks: tuple[str, ...] = ()


def utc_now() -> datetime:
    return datetime.now(UTC)


def highest_severity(severities: Iterable[str]) -> str:
    ranked = [s for s in severities if s in SEVERITY_ORDER]
    return max(ranked, key=SEVERITY_ORDER.index) if ranked else INFO


def shorten(text: str, limit: int = MAX_MESSAGE_CHARS) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _metadata_summary(metadata: Mapping[str, Any]) -> str:
    return ", ".join(f"{key}={value}" for key, value in metadata.items() if key != "alert")


def _check_detail(failed: FailedCheck) -> str:
    """The check's own alert text when it has one (`alert` metadata), else its metadata."""
    alert_text = failed.metadata.get("alert")
    if alert_text:
        # "WARNING DATA_VOLUME: 911 calls ..." -> "911 calls ..."
        return str(alert_text).split(": ", 1)[-1]
    summary = _metadata_summary(failed.metadata)
    return summary or (failed.description or "no details recorded")


def check_failure_alert(
    failed: FailedCheck, rule: CheckRule | None = None
) -> tuple[rules.Alert, dict[str, Any]]:
    """The alert for one failed check and its extra fields (run_id, asset, check, ...); `rule`
    is the check's own reporting rule, if it declares one."""
    rule = rule or CheckRule(
        ERROR if failed.check_severity == "ERROR" else WARNING,
        CHECK_FAILURE,
        "Open the check in the Dagster UI and review its metadata.",
    )
    alert = rules.Alert(
        severity=rule.severity,
        type=rule.type,
        message=shorten(f"Check {failed.check} on {failed.asset} failed: {_check_detail(failed)}"),
        action_required=rule.action_required,
    )
    extra = {
        "run_id": failed.run_id,
        "asset": failed.asset,
        "check": failed.check,
        "check_severity": failed.check_severity,
        "metadata": dict(failed.metadata),
    }
    return alert, extra


def run_failure_alerts(
    run_id: str, job_name: str, run_message: str, failures: Sequence[StepFailure]
) -> list[tuple[rules.Alert, dict[str, Any]]]:
    """One ERROR alert per failed step, or a single one for a run that failed outside a step."""
    action = (
        f"Open run {run_id} of {job_name} in the Dagster UI, fix the cause and re-execute "
        "from failure."
    )
    if not failures:
        alert = rules.Alert(ERROR, RUN_FAILURE, shorten(run_message), action)
        return [(alert, {"run_id": run_id, "asset": None, "check": None, "step": None})]
    out = []
    for failure in failures:
        alert = rules.Alert(
            ERROR,
            RUN_FAILURE,
            shorten(f"Step {failure.step_key} of {job_name} failed: {failure.error}"),
            action,
        )
        out.append(
            (
                alert,
                {
                    "run_id": run_id,
                    "asset": ", ".join(failure.assets) or None,
                    "check": ", ".join(failure.checks) or None,
                    "step": failure.step_key,
                },
            )
        )
    return out


def build_alert_document(
    source: str,
    run_id: str,
    job_name: str,
    alerts: Sequence[tuple[rules.Alert, Mapping[str, Any]]],
    generated_at: datetime | None = None,
) -> dict[str, Any]:
    """The alerts JSON: the daily alerts fields first, then source, run, job and the top
    severity."""
    stamp = (generated_at or utc_now()).isoformat(timespec="seconds")
    document = rules.alerts_payload([alert for alert, _ in alerts], generated_at=stamp)
    for item, (_, extra) in zip(document["alerts"], alerts, strict=True):
        item.update(extra)
    document.update(
        {
            "source": source,
            "run_id": run_id,
            "job_name": job_name,
            "severity": highest_severity(alert.severity for alert, _ in alerts),
        }
    )
    return document


def alert_relative_path(source: str, run_id: str, when: datetime | None = None) -> str:
    """``alerts/<UTC date>_<source>_<first 8 of the run id>.json`` under the reports store."""
    day = (when or utc_now()).astimezone(UTC).date().isoformat()
    return f"alerts/{day}_{source}_{run_id[:8]}.json"
