"""The alert sensors against real runs on a real (SQLite) Dagster instance, writing to a lake
folder and delivering to real loopback servers."""

import json
import logging
from datetime import UTC, datetime
from pathlib import Path

import dagster as dg
import pytest

from safebeat_assets.defs.sensors.check_failure import (
    _finished_runs_after,
    _latest_run_end_storage_id,
    check_failure_alert_sensor,
)
from safebeat_assets.defs.sensors.landing import landing_zone_sensor
from safebeat_assets.defs.sensors.run_failure import run_failure_alert_sensor
from safebeat_assets.resources import AlertChannels, PipelineSettings
from safebeat_assets.settings import load_settings

from .conftest import capture_log
from .servers import SmtpServer, WebhookServer, closed_port

WARN = dg.AssetCheckSeverity.WARN


# Stand-ins named like the real assets and checks (the real ones need the warehouse).
@dg.asset(name="fact_911_calls")
def fact_911_calls() -> int:
    return 1


@dg.asset_check(asset="fact_911_calls", name="warehouse_holds_enough_calls")
def low_volume() -> dg.AssetCheckResult:
    return dg.AssetCheckResult(
        passed=False,
        severity=WARN,
        metadata={
            "calls": 6000,
            "alert": "WARNING DATA_VOLUME: 911 calls in the warehouse: 6,000 (< 100,000)",
        },
    )


@dg.asset_check(asset="fact_911_calls", name="no_duplicate_calls")
def unwatched_failure() -> dg.AssetCheckResult:
    return dg.AssetCheckResult(passed=False, metadata={"duplicate_keys": 3})


@dg.asset_check(asset="fact_911_calls", name="enough_calls_for_rules")
def watched_pass() -> dg.AssetCheckResult:
    return dg.AssetCheckResult(passed=True, metadata={"calls": 6000})


@dg.asset_check(asset="fact_911_calls", name="enough_days_for_forecast", blocking=True)
def too_few_days() -> dg.AssetCheckResult:
    return dg.AssetCheckResult(passed=False, metadata={"distinct_days": 12, "threshold": 30})


@dg.asset(deps=["fact_911_calls"], name="call_forecast")
def call_forecast() -> int:
    return 2


@dg.asset(name="raw_911_calls")
def broken_raw_calls() -> int:
    raise ValueError("no calls file found in /landing/calls")


def run(instance, *assets_and_checks) -> dg.ExecuteInProcessResult:
    return dg.materialize(list(assets_and_checks), instance=instance, raise_on_error=False)


def read_alert(lake_dir: Path, source: str, run_id: str) -> tuple[str, dict]:
    """The alert file for a run (dated today in UTC) and its content."""
    (path,) = (lake_dir / "reports" / "alerts").glob(f"*_{source}_{run_id[:8]}.json")
    today = datetime.now(UTC).date().isoformat()
    assert path.name == f"{today}_{source}_{run_id[:8]}.json"
    return str(path), json.loads(path.read_text())


def alert_files(lake_dir: Path) -> list[str]:
    folder = lake_dir / "reports" / "alerts"
    return sorted(p.name for p in folder.glob("*.json")) if folder.exists() else []


def on_failure(instance, result, sensor_context, reports, channels) -> None:
    """Invoke the run failure sensor for `result`'s failed run, as the daemon would."""
    with dg.build_run_status_sensor_context(
        sensor_name="run_failure_alert_sensor",
        dagster_event=result.get_run_failure_event(),
        dagster_instance=instance,
        dagster_run=result.dagster_run,
        context=sensor_context,
        resources={"reports": reports, "alert_channels": channels, "pipeline": PipelineSettings()},
    ) as context:
        run_failure_alert_sensor(context)


def check_tick(instance, cursor, resources):
    with dg.build_sensor_context(instance=instance, cursor=cursor, resources=resources) as context:
        log = capture_log(context)
        return check_failure_alert_sensor.evaluate_tick(context), log


@pytest.fixture(scope="module")
def instance():
    """One SQLite-backed instance (the local profile's storage) for the module: tests only look
    at runs they start, or at runs after a cursor they take first."""
    with dg.instance_for_test() as instance:
        yield instance


@pytest.fixture(scope="module")
def failed_run(instance) -> dg.ExecuteInProcessResult:
    result = run(instance, broken_raw_calls)
    assert not result.success
    return result


def test_failed_run_writes_an_alert_and_notifies_email_and_webhook(
    instance, failed_run, reports, lake_dir
):
    result = failed_run
    with SmtpServer() as smtp, WebhookServer() as hook:
        channels = AlertChannels(
            smtp_host="127.0.0.1",
            smtp_port=smtp.port,
            smtp_starttls=False,
            mail_from="safebeat@example.org",
            mail_to="ops@example.org, gis@example.org",
            webhook_url=hook.url(),
        )
        with dg.build_sensor_context(instance=instance) as sensor_context:
            on_failure(instance, result, sensor_context, reports, channels)

    uri, document = read_alert(lake_dir, "run_failure", result.run_id)
    assert document["total_alerts"] == 1
    assert (document["source"], document["severity"]) == ("run_failure", "ERROR")
    assert document["run_id"] == result.run_id
    (alert,) = document["alerts"]
    assert alert["type"] == "RUN_FAILURE" and alert["severity"] == "ERROR"
    assert (alert["asset"], alert["step"], alert["check"]) == (
        "raw_911_calls",
        "raw_911_calls",
        None,
    )
    assert "ValueError: no calls file found in /landing/calls" in alert["message"]
    assert result.run_id in alert["action_required"]

    assert document["delivery"]["email"]["status"] == "sent"
    assert document["delivery"]["email"]["to"] == ["ops@example.org", "gis@example.org"]
    assert document["delivery"]["webhook"]["status"] == "sent"

    (mail,) = smtp.messages
    assert mail.recipients == ["ops@example.org", "gis@example.org"]
    assert mail.message["Subject"] == (
        f"[SafeBeat] ERROR: 1 alert - run failure in {result.dagster_run.job_name} "
        f"run {result.run_id[:8]}"
    )
    body = mail.message.get_content()
    assert "ValueError: no calls file found" in body and f"Alert file: {uri}" in body

    (request,) = hook.requests
    sent = request.json()
    assert sent.pop("alert_file") == uri
    assert sent == {k: v for k, v in document.items() if k != "delivery"}


def test_delivery_failures_are_recorded_and_logged_not_raised(
    instance, failed_run, reports, lake_dir
):
    result = failed_run
    port = closed_port()
    with SmtpServer() as smtp:  # offers no STARTTLS, which the channel requires
        channels = AlertChannels(
            smtp_host="127.0.0.1",
            smtp_port=smtp.port,
            mail_from="safebeat@example.org",
            mail_to="ops@example.org",
            webhook_url=f"http://127.0.0.1:{port}/hooks/secret-token",
            timeout_seconds=2,
        )
        with dg.build_sensor_context(instance=instance) as sensor_context:
            log = capture_log(sensor_context)
            on_failure(instance, result, sensor_context, reports, channels)  # does not raise
    assert smtp.messages == []

    _, document = read_alert(lake_dir, "run_failure", result.run_id)
    delivery = document["delivery"]
    assert delivery["email"]["status"] == "failed"
    assert "does not offer STARTTLS" in delivery["email"]["error"]
    assert delivery["webhook"]["status"] == "failed"
    assert delivery["webhook"]["error"].startswith(f"webhook http://127.0.0.1:{port}/… unreachable")
    assert "secret-token" not in json.dumps(document)

    errors = log.messages(logging.ERROR)
    assert any("alert e-mail not delivered" in m and "STARTTLS" in m for m in errors)
    assert any("alert webhook not delivered" in m for m in errors)
    infos = log.messages(logging.INFO)
    assert any("delivery failed on email, webhook" in m for m in infos)


def test_check_failures_are_alerted_once_per_finished_run(instance, reports, lake_dir, webhook):
    resources = {"reports": reports, "alert_channels": AlertChannels(webhook_url=webhook.url())}
    before = run(instance, fact_911_calls, low_volume)  # finished before the sensor started

    started, _ = check_tick(instance, None, resources)
    assert started.skip_message.startswith("started watching runs that finish after event")
    assert alert_files(lake_dir) == []

    warned = run(instance, fact_911_calls, low_volume, unwatched_failure, watched_pass)
    assert warned.success  # WARN checks never fail a run
    blocked = run(instance, fact_911_calls, too_few_days, call_forecast)
    assert not blocked.success  # the blocking ERROR pre-check stopped call_forecast
    clean = run(instance, fact_911_calls, watched_pass)
    assert clean.success

    data, log = check_tick(instance, started.cursor, resources)
    assert data.run_requests == []
    assert data.skip_message.startswith("3 finished run(s) checked; wrote ")
    assert len(alert_files(lake_dir)) == 2
    assert not any(before.run_id[:8] in name for name in alert_files(lake_dir))

    _, warned_doc = read_alert(lake_dir, "checks", warned.run_id)
    assert (warned_doc["total_alerts"], warned_doc["severity"]) == (1, "WARNING")
    (alert,) = warned_doc["alerts"]  # no_duplicate_calls is not watched, enough_calls passed
    assert {k: alert[k] for k in ("severity", "type", "run_id", "asset", "check")} == {
        "severity": "WARNING",
        "type": "DATA_VOLUME",
        "run_id": warned.run_id,
        "asset": "fact_911_calls",
        "check": "warehouse_holds_enough_calls",
    }
    assert alert["message"].endswith("911 calls in the warehouse: 6,000 (< 100,000)")
    assert alert["metadata"]["calls"] == 6000
    assert warned_doc["delivery"]["email"] == {"status": "disabled"}
    assert warned_doc["delivery"]["webhook"]["status"] == "sent"

    _, blocked_doc = read_alert(lake_dir, "checks", blocked.run_id)
    (pre_check,) = blocked_doc["alerts"]
    assert (pre_check["severity"], pre_check["type"]) == ("ERROR", "ML_FORECAST_MISSING")
    assert pre_check["check"] == "enough_days_for_forecast"
    assert pre_check["check_severity"] == "ERROR"

    assert sorted(r.json()["run_id"] for r in webhook.requests) == sorted(
        [warned.run_id, blocked.run_id]
    )
    assert any("alert (1 item(s)) written to" in m for m in log.messages(logging.INFO))

    # the blocked run also failed: its run-failure alert names the failing check step
    with dg.build_sensor_context(instance=instance) as sensor_context:
        on_failure(instance, blocked, sensor_context, reports, AlertChannels())
    _, failure_doc = read_alert(lake_dir, "run_failure", blocked.run_id)
    (step,) = failure_doc["alerts"]
    assert (step["asset"], step["check"]) == ("fact_911_calls", "enough_days_for_forecast")
    assert step["step"] != "fact_911_calls"
    assert (
        failure_doc["delivery"]["email"]
        == failure_doc["delivery"]["webhook"]
        == {"status": "disabled"}
    )

    # nothing new: nothing written, the cursor stays put
    again, _ = check_tick(instance, data.cursor, resources)
    assert again.skip_message == "no failed watched checks in 0 newly finished run(s)"
    assert again.cursor == data.cursor
    assert len(alert_files(lake_dir)) == 3 and len(webhook.requests) == 2

    # an unreadable cursor restarts from the latest finished run instead of failing every tick
    reset, log = check_tick(instance, "garbage", resources)
    assert reset.skip_message.startswith("started watching")
    assert json.loads(reset.cursor) == json.loads(data.cursor)
    assert any("ignoring unreadable cursor" in m for m in log.messages(logging.WARNING))


def test_finished_runs_are_read_in_bounded_batches(instance):
    start = _latest_run_end_storage_id(instance)
    succeeded = run(instance, fact_911_calls).run_id
    failed = run(instance, broken_raw_calls).run_id
    (first,) = _finished_runs_after(instance, start, limit=1)
    assert first.run_id == succeeded  # oldest first, across event types
    (second,) = _finished_runs_after(instance, first.storage_id, limit=1)
    assert second.run_id == failed
    assert _finished_runs_after(instance, second.storage_id, limit=1) == []


def test_alert_channels_use_env_vars_only_when_set(monkeypatch):
    assert AlertChannels.from_settings(load_settings({})).smtp_settings() is None
    env = {
        "SAFEBEAT_ALERT_SMTP_HOST": "smtp.example.org",
        "SAFEBEAT_ALERT_SMTP_PORT": "2525",
        "SAFEBEAT_ALERT_SMTP_USER": "alerts",
        "SAFEBEAT_ALERT_SMTP_PASSWORD": "s3cret",
        "SAFEBEAT_ALERT_SMTP_STARTTLS": "false",
        "SAFEBEAT_ALERT_FROM": "safebeat@example.org",
        "SAFEBEAT_ALERT_TO": "a@example.org, b@example.org",
        "SAFEBEAT_ALERT_WEBHOOK_URL": "https://hooks.example.org/x",
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    channels = AlertChannels.from_settings(load_settings())
    assert channels.smtp_password == dg.EnvVar("SAFEBEAT_ALERT_SMTP_PASSWORD")  # a reference

    @dg.asset
    def probe(alert_channels: AlertChannels) -> dict:
        settings = alert_channels.smtp_settings()
        return {"settings": settings, "webhook": alert_channels.webhook_url}

    value = dg.materialize([probe], resources={"alert_channels": channels}).output_for_node("probe")
    settings = value["settings"]
    assert (settings.host, settings.port, settings.user, settings.password) == (
        "smtp.example.org",
        2525,
        "alerts",
        "s3cret",
    )
    assert settings.starttls is False
    assert settings.mail_to == ("a@example.org", "b@example.org")
    assert value["webhook"] == "https://hooks.example.org/x"


def test_sensors_load_in_definitions():
    sensors = [landing_zone_sensor, run_failure_alert_sensor, check_failure_alert_sensor]
    defs = dg.Definitions(
        assets=[dg.AssetSpec(k) for k in ("raw_911_calls", "raw_events", "raw_block_groups")],
        sensors=sensors,
        resources={
            "landing": dg.ResourceDefinition.none_resource(),
            "reports": dg.ResourceDefinition.none_resource(),
            "alert_channels": AlertChannels(),
            "pipeline": PipelineSettings(),
        },
    )
    dg.Definitions.validate_loadable(defs)
    names = {s.name: defs.resolve_sensor_def(s.name) for s in sensors}
    assert set(names) == {
        "landing_zone_sensor",
        "run_failure_alert_sensor",
        "check_failure_alert_sensor",
    }
    assert all(s.default_status == dg.DefaultSensorStatus.RUNNING for s in names.values())
    assert names["landing_zone_sensor"].minimum_interval_seconds == 30
    assert names["check_failure_alert_sensor"].minimum_interval_seconds == 30


def test_watched_checks_cover_the_alert_rules_and_pre_checks():
    from safebeat_assets.defs.checks import WATCHED_CHECKS

    assert set(WATCHED_CHECKS) == {
        "warehouse_holds_enough_calls",
        "association_rules_found",
        "enough_zones_clustered",
        "forecast_generated",
        "risk_scores_not_all_zero",
        "high_risk_events_within_limit",
        "enough_calls_for_rules",
        "enough_geolocated_calls_for_zones",
        "enough_days_for_forecast",
    }
    assert WATCHED_CHECKS["high_risk_events_within_limit"].severity == "CRITICAL"
    assert WATCHED_CHECKS["enough_days_for_forecast"].type == "ML_FORECAST_MISSING"
