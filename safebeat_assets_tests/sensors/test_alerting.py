"""The Dagster-free alerting package: documents, e-mail over a real SMTP server, webhooks over
a real HTTP server, and clear errors when a channel fails."""

import logging
import subprocess
import sys
from datetime import UTC, datetime

import pytest

from safebeat_assets import alerting
from safebeat_assets.analytics import alerts as rules

from .servers import SmtpServer, WebhookServer, closed_port

RUN_ID = "1a2b3c4d-0000-4000-8000-000000000000"
WHEN = datetime(2026, 3, 5, 7, 30, tzinfo=UTC)


def check_document():
    failed = [
        alerting.FailedCheck(
            check="warehouse_holds_enough_calls",
            asset="fact_911_calls",
            run_id=RUN_ID,
            check_severity="WARN",
            metadata={"calls": 6000, "alert": "WARNING DATA_VOLUME: 911 calls: 6,000 (< 100,000)"},
        ),
        alerting.FailedCheck(
            check="enough_days_for_forecast",
            asset="fact_911_calls",
            run_id=RUN_ID,
            check_severity="ERROR",
            metadata={"distinct_days": 12, "threshold": 30},
        ),
    ]
    rules_of_checks = [
        alerting.rule_of_alert(rules.check_data_volume(None)),
        alerting.pre_check_rule(rules.ML_FORECAST_MISSING, "the forecast needs enough dates"),
    ]
    return alerting.build_alert_document(
        alerting.SOURCE_CHECK_FAILURE,
        RUN_ID,
        "safebeat_daily_job",
        [alerting.check_failure_alert(f, r) for f, r in zip(failed, rules_of_checks, strict=True)],
        generated_at=WHEN,
    )


def test_alerting_does_not_import_dagster():
    code = (
        "import sys, safebeat_assets.alerting as a; "
        "assert not any(m == 'dagster' or m.startswith('dagster.') for m in sys.modules), "
        "sorted(m for m in sys.modules if m.startswith('dagster'))"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_check_document_has_the_seed_shape_plus_run_asset_check():
    document = check_document()
    assert list(document)[:3] == ["generated_at", "total_alerts", "alerts"]
    assert document["generated_at"] == "2026-03-05T07:30:00+00:00"
    assert document["total_alerts"] == 2
    assert document["severity"] == "ERROR"
    assert (document["source"], document["run_id"]) == ("checks", RUN_ID)
    volume, forecast = document["alerts"]
    assert {k: volume[k] for k in ("severity", "type", "run_id", "asset", "check")} == {
        "severity": "WARNING",
        "type": "DATA_VOLUME",
        "run_id": RUN_ID,
        "asset": "fact_911_calls",
        "check": "warehouse_holds_enough_calls",
    }
    assert volume["message"] == (
        "Check warehouse_holds_enough_calls on fact_911_calls failed: 911 calls: 6,000 (< 100,000)"
    )
    # the rule's own action text (analytics.alerts) is reused, not copied
    assert volume["action_required"] == rules.check_data_volume(None).action_required
    assert forecast["severity"] == "ERROR" and forecast["type"] == "ML_FORECAST_MISSING"
    assert "distinct_days=12, threshold=30" in forecast["message"]
    assert forecast["check_severity"] == "ERROR"


def test_a_check_without_its_own_rule_is_reported_generically():
    failed = alerting.FailedCheck(
        check="no_duplicate_calls",
        asset="fact_911_calls",
        run_id=RUN_ID,
        check_severity="ERROR",
        metadata={"duplicate_keys": 3},
    )
    alert, extra = alerting.check_failure_alert(failed)
    assert (alert.severity, alert.type) == ("ERROR", alerting.CHECK_FAILURE)
    assert alert.message.endswith("duplicate_keys=3") and extra["check"] == "no_duplicate_calls"


def test_run_failure_alerts_one_per_failed_step():
    failures = [
        alerting.StepFailure("raw_911_calls", "ValueError: bad header", assets=("raw_911_calls",)),
        alerting.StepFailure(
            "fact_911_calls_enough_days_for_forecast",
            "check failed",
            assets=("fact_911_calls",),
            checks=("enough_days_for_forecast",),
        ),
    ]
    alerts = alerting.run_failure_alerts(RUN_ID, "job", "Run failed.", failures)
    document = alerting.build_alert_document("run_failure", RUN_ID, "job", alerts, WHEN)
    assert [a["step"] for a in document["alerts"]] == [f.step_key for f in failures]
    assert document["alerts"][1]["check"] == "enough_days_for_forecast"
    assert all(a["type"] == "RUN_FAILURE" and a["severity"] == "ERROR" for a in document["alerts"])
    # a run that failed outside any step still gets one alert
    (only,) = alerting.run_failure_alerts(RUN_ID, "job", "Run worker crashed.", [])
    assert only[0].message == "Run worker crashed."


def test_alert_path():
    assert (
        alerting.alert_relative_path("checks", RUN_ID, WHEN)
        == "alerts/2026-03-05_checks_1a2b3c4d.json"
    )


def test_email_rendering():
    message = alerting.render_email(
        check_document(), "safebeat@example.org", "ops@example.org, gis@example.org ", "s3://x.json"
    )
    assert message["Subject"] == (
        "[SafeBeat] ERROR: 2 alerts - failed checks in safebeat_daily_job run 1a2b3c4d"
    )
    assert message["To"] == "ops@example.org, gis@example.org"
    body = message.get_content()
    assert "1. [WARNING] DATA_VOLUME (fact_911_calls / warehouse_holds_enough_calls)" in body
    assert "Alert file: s3://x.json" in body


def test_send_email_through_a_real_smtp_server_without_login():
    with SmtpServer() as server:
        settings = alerting.SmtpSettings(
            host="127.0.0.1",
            port=server.port,
            starttls=False,
            mail_from="safebeat@example.org",
            mail_to=("ops@example.org", "gis@example.org"),
        )
        message = alerting.render_email(check_document(), settings.mail_from, settings.mail_to)
        assert alerting.send_email(settings, message) == ("ops@example.org", "gis@example.org")
    (received,) = server.messages
    assert received.mail_from == "safebeat@example.org"
    assert received.recipients == ["ops@example.org", "gis@example.org"]
    assert received.login is None and server.logins == []
    assert received.message["Subject"].startswith("[SafeBeat] ERROR: 2 alerts")
    assert "Check warehouse_holds_enough_calls" in received.message.get_content()


def test_send_email_logs_in_when_a_user_is_configured():
    with SmtpServer(credentials=("alerts", "s3cret")) as server:
        settings = alerting.SmtpSettings(
            host="127.0.0.1",
            port=server.port,
            user="alerts",
            password="s3cret",
            starttls=False,
            mail_from="safebeat@example.org",
            mail_to=("ops@example.org",),
        )
        alerting.send_email(settings, alerting.render_email(check_document(), "a@b", "c@d"))
        wrong = alerting.SmtpSettings(**{**settings.__dict__, "password": "nope"})
        with pytest.raises(
            alerting.AlertDeliveryError, match="SMTP login as 'alerts' .* failed: 535"
        ):
            alerting.send_email(wrong, alerting.render_email(check_document(), "a@b", "c@d"))
    assert server.messages[0].login == ("alerts", "s3cret")
    assert "nope" not in repr(wrong)


@pytest.mark.parametrize(
    ("settings_kwargs", "error"),
    [
        ({"starttls": True}, "does not offer STARTTLS; refusing to send in clear text"),
        ({"mail_to": ()}, "no recipients configured"),
        ({"mail_to": ("nobody@example.org",)}, "refused every recipient: nobody@example.org"),
        (
            {"mail_to": ("ops@example.org", "nobody@example.org")},
            r"refused nobody@example.org \(accepted: ops@example.org\)",
        ),
    ],
)
def test_send_email_errors_are_clear(settings_kwargs, error):
    with SmtpServer(refuse={"nobody@example.org"}) as server:
        settings = alerting.SmtpSettings(
            **{
                "host": "127.0.0.1",
                "port": server.port,
                "starttls": False,
                "mail_from": "safebeat@example.org",
                "mail_to": ("ops@example.org",),
                **settings_kwargs,
            }
        )
        with pytest.raises(alerting.AlertDeliveryError, match=error):
            alerting.send_email(settings, alerting.render_email(check_document(), "a@b", "c@d"))


def test_send_email_to_a_closed_port():
    port = closed_port()
    settings = alerting.SmtpSettings(
        host="127.0.0.1", port=port, mail_from="a@b", mail_to=("c@d",), timeout=2
    )
    with pytest.raises(
        alerting.AlertDeliveryError, match=f"sending mail via 127.0.0.1:{port} failed"
    ):
        alerting.send_email(settings, alerting.render_email(check_document(), "a@b", "c@d"))


def test_post_webhook_sends_the_json_body():
    document = check_document()
    with WebhookServer() as server:
        assert alerting.post_webhook(server.url("/hook?token=abc"), document, timeout=5) == 200
    (request,) = server.requests
    assert request.path == "/hook?token=abc"
    assert request.headers["Content-Type"].startswith("application/json")
    assert request.json() == document


def test_post_webhook_errors_are_clear_and_hide_the_token():
    with WebhookServer(status=500) as server:
        url = server.url("/hooks/T000/secret-token")
        with pytest.raises(alerting.AlertDeliveryError) as raised:
            alerting.post_webhook(url, {"a": 1}, timeout=5)
    assert str(raised.value) == (
        f"webhook http://127.0.0.1:{server.port}/… answered HTTP 500 Internal Server Error: "
        "hook rejected the payload"
    )
    port = closed_port()
    with pytest.raises(alerting.AlertDeliveryError, match="unreachable: .*refused") as raised:
        alerting.post_webhook(f"http://127.0.0.1:{port}/secret-token", {}, timeout=2)
    assert "secret-token" not in str(raised.value)
    with pytest.raises(alerting.AlertDeliveryError, match="must start with http"):
        alerting.post_webhook("ftp://example.org/x", {})


def test_deliver_records_every_channel_and_logs_failures(caplog):
    caplog.set_level(logging.INFO, logger="safebeat_assets.alerting.delivery")
    with SmtpServer() as smtp, WebhookServer() as hook:
        smtp_settings = alerting.SmtpSettings(
            host="127.0.0.1", port=smtp.port, starttls=False, mail_from="a@b", mail_to=("c@d",)
        )
        ok = alerting.deliver(check_document(), smtp_settings, hook.url(), alert_uri="file:///a")
        assert ok["email"]["status"] == "sent" and ok["email"]["to"] == ["c@d"]
        assert ok["webhook"] == {
            "status": "sent",
            "url": f"http://127.0.0.1:{hook.port}/…",
            "http_status": 200,
        }
        assert hook.requests[0].json()["alert_file"] == "file:///a"

    off = alerting.deliver(check_document(), None, "")
    assert (off["email"], off["webhook"]) == ({"status": "disabled"}, {"status": "disabled"})

    port = closed_port()
    broken = alerting.SmtpSettings(host="127.0.0.1", port=port, mail_from="a@b", mail_to=("c@d",))
    failed = alerting.deliver(check_document(), broken, f"http://127.0.0.1:{port}/x", timeout=2)
    assert alerting.delivery_failures(failed) == ["email", "webhook"]
    assert "refused" in failed["webhook"]["error"].lower()
    errors = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert any(m.startswith("alert e-mail not delivered: sending mail via") for m in errors)
    assert any(m.startswith("alert webhook not delivered: webhook") for m in errors)
