"""Sensors: new landing files request the raw assets; failed runs and failed checks raise alerts.

- `landing_zone_sensor` fingerprints the landing zone (ETags on S3, SHA-256 locally, re-hashed
  only when size or mtime changed) and requests the raw asset of each changed source. The rest
  of the graph follows through the automation conditions.
- `run_failure_alert_sensor` writes ``alerts/<date>_run_failure_<run>.json`` for a failed run.
- `check_failure_alert_sensor` writes ``alerts/<date>_checks_<run>.json`` for a finished run
  whose watched checks (alert rules, HIGH-risk spike, blocking ML pre-checks) failed.

Both alert sensors send the document by e-mail and/or webhook when `AlertChannels` configures
them and record the outcome in the document's ``delivery`` section. The alert logic itself
lives in the Dagster-free `safebeat_assets.alerting` package.
"""

from __future__ import annotations

import hashlib
import json
import math
import time
from collections.abc import Iterable, Mapping
from typing import Any

import dagster as dg

from .. import alerting
from ..settings import (
    ENV_ALERT_FROM,
    ENV_ALERT_SMTP_HOST,
    ENV_ALERT_SMTP_PASSWORD,
    ENV_ALERT_SMTP_PORT,
    ENV_ALERT_SMTP_USER,
    ENV_ALERT_TO,
    ENV_ALERT_WEBHOOK_URL,
    Settings,
)
from ..storage.landing import SOURCE_PATTERNS, LandingZone
from ..storage.reports import ReportStore

# --------------------------------------------------------------------------------------------
# Alert channels
# --------------------------------------------------------------------------------------------

_ENV_FIELDS = {
    ENV_ALERT_SMTP_HOST: "smtp_host",
    ENV_ALERT_SMTP_USER: "smtp_user",
    ENV_ALERT_SMTP_PASSWORD: "smtp_password",
    ENV_ALERT_FROM: "mail_from",
    ENV_ALERT_TO: "mail_to",
    ENV_ALERT_WEBHOOK_URL: "webhook_url",
}


class AlertChannels(dg.ConfigurableResource):
    """Where alerts go besides the JSON file. An empty host / URL switches that channel off."""

    smtp_host: str = ""
    smtp_port: int = 587
    smtp_user: str = ""
    smtp_password: str = ""
    smtp_starttls: bool = True
    mail_from: str = ""
    mail_to: str = ""  # comma separated
    webhook_url: str = ""
    timeout_seconds: float = 10.0

    @classmethod
    def from_settings(cls, settings: Settings) -> AlertChannels:
        """Channels from the SAFEBEAT_ALERT_* variables that are set, as `dg.EnvVar`
        references (read when the sensor runs, never stored in config); the others keep the
        defaults, so an unconfigured deployment loads with both channels off."""
        values: dict[str, Any] = {
            field: dg.EnvVar(name)
            for name, field in _ENV_FIELDS.items()
            if name in settings.alert_env_set
        }
        if ENV_ALERT_SMTP_PORT in settings.alert_env_set:
            values["smtp_port"] = dg.EnvVar.int(ENV_ALERT_SMTP_PORT)
        values["smtp_starttls"] = settings.alert_smtp_starttls
        return cls(**values)

    def smtp_settings(self) -> alerting.SmtpSettings | None:
        if not self.smtp_host.strip():
            return None
        return alerting.SmtpSettings(
            host=self.smtp_host.strip(),
            port=self.smtp_port,
            user=self.smtp_user,
            password=self.smtp_password,
            starttls=self.smtp_starttls,
            mail_from=self.mail_from.strip(),
            mail_to=alerting.parse_recipients(self.mail_to),
            timeout=self.timeout_seconds,
        )

    def deliver(self, document: Mapping[str, Any], alert_uri: str | None, log) -> dict[str, Any]:
        return alerting.deliver(
            document,
            self.smtp_settings(),
            self.webhook_url.strip(),
            alert_uri=alert_uri,
            timeout=self.timeout_seconds,
            log=log,
        )


def _json_bytes(document: Mapping[str, Any]) -> bytes:
    return json.dumps(document, indent=2, ensure_ascii=False, default=str).encode("utf-8")


def publish_alert(
    document: dict[str, Any],
    relative_path: str,
    reports: ReportStore,
    channels: AlertChannels,
    log,
) -> str:
    """Write the alert file, deliver it, then rewrite it with the `delivery` outcome.

    Written first so the alert exists even if a channel hangs; a failed write raises (the tick
    fails and is retried). Delivery failures are logged and recorded, never raised.
    """
    uri = reports.write(relative_path, _json_bytes({**document, "delivery": {"status": "pending"}}))
    document["delivery"] = channels.deliver(document, uri, log)
    reports.write(relative_path, _json_bytes(document))
    failed = alerting.delivery_failures(document["delivery"])
    log.info(
        f"{document['severity']} alert ({document['total_alerts']} item(s)) written to {uri}"
        + (f"; delivery failed on {', '.join(failed)}" if failed else "")
    )
    return uri


def _plain(value: Any) -> Any:
    value = getattr(value, "value", value)
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)  # NaN / inf are not JSON
    if value is None or isinstance(value, str | int | float | bool):
        return value
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    return str(value)


def _plain_metadata(metadata: Mapping[str, Any] | None) -> dict[str, Any]:
    return {key: _plain(value) for key, value in (metadata or {}).items()}


def _error_summary(error) -> str:
    """The innermost cause of a serialized error ("ValueError: boom"), else its own message."""
    if error is None:
        return "no error details recorded"
    while getattr(error, "cause", None) is not None:
        error = error.cause
    return error.message.strip() or error.cls_name or "unknown error"


# --------------------------------------------------------------------------------------------
# Run failures
# --------------------------------------------------------------------------------------------

PLAN_EVENTS = {
    dg.DagsterEventType.ASSET_MATERIALIZATION_PLANNED,
    dg.DagsterEventType.ASSET_CHECK_EVALUATION_PLANNED,
}
PLAN_EVENT_LIMIT = 1_000


def _planned_by_step(instance: dg.DagsterInstance, run_id: str) -> dict[str, tuple[set, set]]:
    """step key -> (asset keys, check names) the run planned for that step."""
    planned: dict[str, tuple[set, set]] = {}
    records = instance.get_records_for_run(run_id, of_type=PLAN_EVENTS, limit=PLAN_EVENT_LIMIT)
    for record in records.records:
        event = record.event_log_entry.dagster_event
        if event is None or not event.step_key:
            continue
        assets, checks = planned.setdefault(event.step_key, (set(), set()))
        data = event.event_specific_data
        if event.event_type == dg.DagsterEventType.ASSET_CHECK_EVALUATION_PLANNED:
            assets.add(data.asset_key.to_user_string())
            checks.add(data.check_name)
        elif event.asset_key is not None:
            assets.add(event.asset_key.to_user_string())
    return planned


@dg.run_failure_sensor(
    name="run_failure_alert_sensor",
    default_status=dg.DefaultSensorStatus.RUNNING,
    monitor_all_code_locations=False,
    description=(
        "Writes reports/alerts/<date>_run_failure_<run>.json for every failed run of this code "
        "location (one ERROR alert per failed step) and sends it to the configured channels."
    ),
)
def run_failure_alert_sensor(
    context: dg.RunFailureSensorContext, reports: ReportStore, alert_channels: AlertChannels
) -> None:
    run = context.dagster_run
    planned = _planned_by_step(context.instance, run.run_id)
    failures = []
    for event in context.get_step_failure_events():
        assets, checks = planned.get(event.step_key, (set(), set()))
        failures.append(
            alerting.StepFailure(
                step_key=event.step_key,
                error=_error_summary(getattr(event.event_specific_data, "error", None)),
                assets=tuple(sorted(assets)),
                checks=tuple(sorted(checks)),
            )
        )
    run_message = context.failure_event.message or f"run {run.run_id} failed"
    error = getattr(context.failure_event.event_specific_data, "error", None)
    if not failures and error is not None:
        run_message = f"{run_message} {_error_summary(error)}"
    alerts = alerting.run_failure_alerts(run.run_id, run.job_name, run_message, failures)
    document = alerting.build_alert_document(
        alerting.SOURCE_RUN_FAILURE, run.run_id, run.job_name, alerts
    )
    path = alerting.alert_relative_path(alerting.SOURCE_RUN_FAILURE, run.run_id)
    publish_alert(document, path, reports, alert_channels, context.log)


# --------------------------------------------------------------------------------------------
# Failed checks
# --------------------------------------------------------------------------------------------

RUN_END_EVENTS = (
    dg.DagsterEventType.RUN_SUCCESS,
    dg.DagsterEventType.RUN_FAILURE,
    dg.DagsterEventType.RUN_CANCELED,
)
RUNS_PER_TICK = 20
# Sensor evaluations time out after 60 s: stop taking new runs after this much time (slow
# channels), the cursor keeps the rest for the next tick.
TICK_BUDGET_SECONDS = 30.0
CHECK_EVENTS_PER_RUN = 1_000


def _finished_runs_after(instance: dg.DagsterInstance, after_storage_id: int | None, limit: int):
    """The first `limit` run-end events (success, failure, cancel) after the storage id, oldest
    first: one indexed, bounded query per event type, merged by storage id."""
    records = []
    for event_type in RUN_END_EVENTS:
        result = instance.fetch_run_status_changes(
            dg.RunStatusChangeRecordsFilter(
                event_type=event_type, after_storage_id=after_storage_id
            ),
            limit=limit,
            ascending=True,
        )
        records.extend(result.records)
    return sorted(records, key=lambda r: r.storage_id)[:limit]


def _latest_run_end_storage_id(instance: dg.DagsterInstance) -> int:
    latest = 0
    for event_type in RUN_END_EVENTS:
        result = instance.fetch_run_status_changes(event_type, limit=1, ascending=False)
        if result.records:
            latest = max(latest, result.records[0].storage_id)
    return latest


def failed_watched_checks(instance: dg.DagsterInstance, run_id: str) -> list[alerting.FailedCheck]:
    """The run's failed evaluations of watched checks (one bounded per-run query)."""
    records = instance.get_records_for_run(
        run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION, limit=CHECK_EVENTS_PER_RUN
    ).records
    failed = []
    for record in records:
        evaluation = record.event_log_entry.dagster_event.event_specific_data
        if evaluation.passed or not alerting.is_watched(evaluation.check_name):
            continue
        failed.append(
            alerting.FailedCheck(
                check=evaluation.check_name,
                asset=evaluation.asset_key.to_user_string(),
                run_id=run_id,
                check_severity=evaluation.severity.value,
                description=evaluation.description,
                metadata=_plain_metadata(evaluation.metadata),
            )
        )
    return failed


def _check_cursor(after_storage_id: int) -> str:
    return json.dumps({"after_storage_id": after_storage_id})


def _read_check_cursor(cursor: str | None, log) -> int | None:
    if not cursor:
        return None
    try:
        return int(json.loads(cursor)["after_storage_id"])
    except (ValueError, KeyError, TypeError) as exc:
        log.warning(f"ignoring unreadable cursor {cursor!r} ({exc}); restarting from now")
        return None


@dg.sensor(
    name="check_failure_alert_sensor",
    minimum_interval_seconds=30,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description=(
        "For each newly finished run, reads its asset check evaluations and writes "
        "reports/alerts/<date>_checks_<run>.json when watched checks failed (alert rules, "
        "HIGH-risk spike, blocking ML pre-checks), then sends it to the configured channels."
    ),
)
def check_failure_alert_sensor(
    context: dg.SensorEvaluationContext, reports: ReportStore, alert_channels: AlertChannels
):
    instance = context.instance
    after = _read_check_cursor(context.cursor, context.log)
    if after is None:  # first tick (or unreadable cursor): alert on runs that finish from now on
        latest = _latest_run_end_storage_id(instance)
        return dg.SensorResult(
            skip_reason=dg.SkipReason(f"started watching runs that finish after event {latest}"),
            cursor=_check_cursor(latest),
        )
    finished = _finished_runs_after(instance, after, RUNS_PER_TICK)
    written: list[str] = []
    started = time.monotonic()
    checked = 0
    for record in finished:
        if checked and time.monotonic() - started > TICK_BUDGET_SECONDS:
            context.log.warning(
                f"tick budget used after {checked} run(s); the rest is handled next tick"
            )
            break
        run_id = record.run_id
        try:
            failed = failed_watched_checks(instance, run_id)
            if failed:
                run = instance.get_run_by_id(run_id)
                job_name = run.job_name if run else "unknown job"
                alerts = [alerting.check_failure_alert(f) for f in failed]
                document = alerting.build_alert_document(
                    alerting.SOURCE_CHECK_FAILURE, run_id, job_name, alerts
                )
                path = alerting.alert_relative_path(alerting.SOURCE_CHECK_FAILURE, run_id)
                written.append(publish_alert(document, path, reports, alert_channels, context.log))
        except Exception as exc:
            if not checked:
                raise  # nothing done this tick: fail the tick visibly and retry it next time
            context.log.error(f"alerting for run {run_id} failed, retrying next tick: {exc}")
            return dg.SensorResult(
                skip_reason=dg.SkipReason(
                    f"wrote {len(written)} alert file(s); stopped at run {run_id}: {exc}"
                ),
                cursor=_check_cursor(after),
            )
        after = record.storage_id
        checked += 1
    message = (
        f"{checked} finished run(s) checked; wrote {', '.join(written)}"
        if written
        else f"no failed watched checks in {checked} newly finished run(s)"
    )
    return dg.SensorResult(skip_reason=dg.SkipReason(message), cursor=_check_cursor(after))


# --------------------------------------------------------------------------------------------
# Landing zone
# --------------------------------------------------------------------------------------------

SOURCE_ASSETS: Mapping[str, str] = {
    "calls": "raw_911_calls",
    "events": "raw_events",
    "block_groups": "raw_block_groups",
}
if set(SOURCE_ASSETS) != set(SOURCE_PATTERNS):
    raise RuntimeError("every landing source needs its raw asset in SOURCE_ASSETS")

LANDING_CURSOR_VERSION = 1


def _load_landing_cursor(cursor: str | None, log) -> dict[str, Any]:
    empty = {"version": LANDING_CURSOR_VERSION, "requests": 0, "files": {}}
    if not cursor:
        return empty
    try:
        state = json.loads(cursor)
        if state.get("version") != LANDING_CURSOR_VERSION or not isinstance(state["files"], dict):
            raise ValueError(f"unsupported cursor version {state.get('version')!r}")
        return state
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        log.warning(f"ignoring unreadable landing cursor ({exc}); treating every file as new")
        return empty


def _by_source(files: Mapping[str, Mapping[str, Any]]) -> dict[str, dict[str, str]]:
    grouped: dict[str, dict[str, str]] = {source: {} for source in SOURCE_ASSETS}
    for key, state in files.items():
        source, _, name = key.partition("/")
        grouped.setdefault(source, {})[name] = state["fingerprint"]
    return grouped


def changed_sources(
    previous: Mapping[str, Mapping[str, Any]], current: Mapping[str, Mapping[str, Any]]
) -> list[str]:
    """Sources whose set of (file name, fingerprint) differs: a new, changed or removed file."""
    before, after = _by_source(previous), _by_source(current)
    return sorted(s for s in SOURCE_ASSETS if before.get(s, {}) != after.get(s, {}))


def landing_run_key(sequence: int, files: Mapping[str, Mapping[str, Any]]) -> str:
    """Deterministic for one tick (same cursor + same files -> same key, so a retried tick does
    not launch twice); the request counter keeps a later return to old content launchable."""
    fingerprints = {key: state["fingerprint"] for key, state in sorted(files.items())}
    digest = hashlib.sha256(json.dumps(fingerprints, sort_keys=True).encode("utf-8"))
    return f"landing-{sequence}-{digest.hexdigest()[:24]}"


def _landing_cursor(requests: int, files: Mapping[str, Any]) -> str:
    return json.dumps(
        {"version": LANDING_CURSOR_VERSION, "requests": requests, "files": files},
        sort_keys=True,
        separators=(",", ":"),
    )


def _sources_with_files(files: Iterable[str]) -> set[str]:
    return {key.partition("/")[0] for key in files}


@dg.sensor(
    name="landing_zone_sensor",
    minimum_interval_seconds=30,
    default_status=dg.DefaultSensorStatus.RUNNING,
    asset_selection=dg.AssetSelection.assets(*SOURCE_ASSETS.values()),
    description=(
        "Watches the landing zone (local folder or the raw-data landing prefix) and requests "
        "the raw asset of every source with a new or changed file (ETag on S3, SHA-256 locally)."
    ),
)
def landing_zone_sensor(context: dg.SensorEvaluationContext, landing: LandingZone):
    state = _load_landing_cursor(context.cursor, context.log)
    files = landing.file_states(state["files"])
    changed = changed_sources(state["files"], files)
    present = _sources_with_files(files)
    emptied = [s for s in changed if s not in present]
    if emptied:
        context.log.warning(
            f"landing source(s) {', '.join(emptied)} no longer hold any file; not requesting them"
        )
    to_run = [s for s in changed if s in present]
    if not to_run:
        reason = (
            "landing zone is empty"
            if not files
            else f"no new or changed landing files ({len(files)} file(s) unchanged)"
        )
        return dg.SensorResult(
            skip_reason=dg.SkipReason(reason), cursor=_landing_cursor(state["requests"], files)
        )
    sequence = int(state.get("requests", 0)) + 1
    changed_files = sorted(
        key
        for key in set(files) | set(state["files"])
        if key.partition("/")[0] in to_run
        and (files.get(key) or {}).get("fingerprint")
        != (state["files"].get(key) or {}).get("fingerprint")
    )
    context.log.info(f"new or changed landing files: {', '.join(changed_files)}")
    request = dg.RunRequest(
        run_key=landing_run_key(sequence, files),
        asset_selection=[dg.AssetKey(SOURCE_ASSETS[s]) for s in to_run],
        tags={"safebeat/trigger": "landing_zone", "safebeat/changed_sources": ",".join(to_run)},
    )
    return dg.SensorResult(run_requests=[request], cursor=_landing_cursor(sequence, files))


SENSORS = [landing_zone_sensor, run_failure_alert_sensor, check_failure_alert_sensor]

__all__ = [
    "SENSORS",
    "AlertChannels",
    "changed_sources",
    "check_failure_alert_sensor",
    "landing_run_key",
    "landing_zone_sensor",
    "run_failure_alert_sensor",
]
