"""The Dagster-free alerting package: documents, e-mail over a real SMTP server, webhooks over
a real HTTP server, and clear errors when a channel fails."""

import json
import logging
import smtplib
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


# --- no channel credential ever shows ------------------------------------------------------------

TOKEN = "T0SECRETTEAM/B0SECRETHOOK/XXXXsecretTOKEN0123456789"
QUERY_TOKEN = "QuerySecret5551234"
SMTP_PASSWORD = "smtp-Pa55word-SECRET"


def hook_url(port: int) -> str:
    return f"http://127.0.0.1:{port}/services/{TOKEN}?token={QUERY_TOKEN}"


def secret_forms() -> list[str]:
    """Every form in which a credential could leak: raw, percent-encoded, base64 (SMTP AUTH)."""
    import base64
    from urllib.parse import quote

    forms = [SMTP_PASSWORD, QUERY_TOKEN, quote(SMTP_PASSWORD)]
    forms += TOKEN.split("/") + [TOKEN, quote(TOKEN, safe="")]
    for text in (SMTP_PASSWORD, f"\0alerts\0{SMTP_PASSWORD}"):
        forms.append(base64.b64encode(text.encode()).decode())
    return forms


def assert_nothing_leaks(*texts: object) -> None:
    joined = "\n".join(str(t) for t in texts)
    for secret in secret_forms():
        assert secret not in joined, f"{secret!r} leaked into:\n{joined}"


def formatted(exc: BaseException) -> str:
    """What a traceback of the error would show, causes and context included."""
    import traceback

    return "".join(traceback.format_exception(exc))


@pytest.fixture
def leak_log(caplog):
    """A logger standing in for the sensor's `context.log`, captured at every level."""
    caplog.set_level(logging.DEBUG)
    return logging.getLogger("safebeat.test.alert_delivery")


def deliver_and_collect(caplog, capsys, leak_log, smtp, webhook_url, timeout=2.0):
    delivery = alerting.deliver(
        check_document(),
        smtp,
        webhook_url,
        alert_uri="file:///a.json",
        timeout=timeout,
        log=leak_log,
    )
    out = capsys.readouterr()
    return delivery, [caplog.text, out.out, out.err, json.dumps(delivery)]


def failing_smtp(port: int, **kwargs) -> alerting.SmtpSettings:
    return alerting.SmtpSettings(
        **{
            "host": "127.0.0.1",
            "port": port,
            "user": "alerts",
            "password": SMTP_PASSWORD,
            "starttls": False,
            "mail_from": "a@b",
            "mail_to": ("c@d",),
            "timeout": 2,
            **kwargs,
        }
    )


@pytest.mark.parametrize(
    "scenario", ["connection refused", "HTTP 500 echoing the path", "timeout", "malformed URL"]
)
def test_webhook_failures_never_show_the_token(scenario, caplog, capsys, leak_log):
    if scenario == "connection refused":
        server, url = None, hook_url(closed_port())
    elif scenario == "HTTP 500 echoing the path":
        server = WebhookServer(status=500, echo_path=True).__enter__()
        url = hook_url(server.port)
    elif scenario == "timeout":
        server = WebhookServer(delay=2.0).__enter__()
        url = hook_url(server.port)
    else:  # http.client quotes the path of a URL with a control character
        server, url = None, hook_url(closed_port()).replace("XXXX", "XX\nXX")
    try:
        with pytest.raises(alerting.AlertDeliveryError) as raised:
            alerting.post_webhook(url, {"a": 1}, timeout=0.5)
        delivery, texts = deliver_and_collect(caplog, capsys, leak_log, None, url, timeout=0.5)
    finally:
        if server:
            server.__exit__(None, None, None)
    assert delivery["webhook"]["status"] == "failed"
    assert (
        delivery["webhook"]["url"] == "http://127.0.0.1:" + url.split(":")[2].split("/")[0] + "/…"
    )
    assert "alert webhook not delivered: webhook http://127.0.0.1:" in caplog.text
    assert raised.value.__cause__ is None and raised.value.__suppress_context__
    assert_nothing_leaks(*texts, str(raised.value), formatted(raised.value))
    if scenario == "HTTP 500 echoing the path":
        assert "answered HTTP 500 Internal Server Error: no hook at ***?***" in caplog.text


@pytest.mark.parametrize(
    "url",
    [
        f"hooks.slack.com/services/{TOKEN}",  # the scheme forgotten
        f"https://hooks.slack.com:notaport/services/{TOKEN}",
        f"https://[hooks.slack.com/services/{TOKEN}",
        f"https://alerts:{SMTP_PASSWORD}@hooks.example.org/services/{TOKEN}",
    ],
)
def test_unusable_webhook_urls_never_show_the_token(url, caplog, capsys, leak_log, monkeypatch):
    # Nothing may go out: any connection attempt fails the test instead of reaching the network.
    def no_network(*args, **kwargs):
        raise ConnectionRefusedError("[Errno 111] Connection refused")

    monkeypatch.setattr("socket.create_connection", no_network)
    monkeypatch.setattr("socket.getaddrinfo", no_network)
    with pytest.raises(alerting.AlertDeliveryError) as raised:
        alerting.post_webhook(url, {"a": 1}, timeout=0.5)
    delivery, texts = deliver_and_collect(caplog, capsys, leak_log, None, url)
    assert delivery["webhook"]["status"] == "failed"
    assert_nothing_leaks(
        *texts, str(raised.value), formatted(raised.value), alerting.redact_url(url)
    )


def test_an_arbitrary_exception_from_the_webhook_send_is_caught_and_scrubbed(
    caplog, capsys, leak_log, monkeypatch
):
    url = hook_url(closed_port())

    def explode(request, timeout):
        raise RuntimeError(f"boom while posting to {request.full_url}")

    monkeypatch.setattr("urllib.request.urlopen", explode)
    with pytest.raises(alerting.AlertDeliveryError, match="failed: RuntimeError: boom") as raised:
        alerting.post_webhook(url, {}, timeout=1)
    assert_nothing_leaks(str(raised.value), formatted(raised.value))

    # Past post_webhook's own handling too: deliver records any exception as a failure.
    def explode_outside(url, payload, timeout):
        raise KeyError(f"{url} / {SMTP_PASSWORD}")

    monkeypatch.setattr("safebeat_assets.alerting.delivery.post_webhook", explode_outside)
    delivery, texts = deliver_and_collect(
        caplog, capsys, leak_log, failing_smtp(closed_port(), password=SMTP_PASSWORD), url
    )
    assert delivery["webhook"]["error"].startswith("unexpected KeyError: ")
    assert alerting.delivery_failures(delivery) == ["email", "webhook"]
    assert_nothing_leaks(*texts)


def test_smtp_login_failure_never_shows_the_password(caplog, capsys, leak_log):
    # The server quotes the client's AUTH PLAIN line, base64 credentials and all.
    with SmtpServer(credentials=("alerts", "the-right-one"), echo_auth=True) as server:
        settings = failing_smtp(server.port)
        with pytest.raises(alerting.AlertDeliveryError, match="SMTP login as 'alerts'") as raised:
            alerting.send_email(settings, alerting.render_email(check_document(), "a@b", "c@d"))
        delivery, texts = deliver_and_collect(caplog, capsys, leak_log, settings, "")
    assert server.logins[0] == ("alerts", SMTP_PASSWORD)  # the password did go to the server
    assert "535 authentication failed for AUTH PLAIN ***" in str(raised.value)
    assert delivery["email"]["status"] == "failed"
    assert_nothing_leaks(*texts, str(raised.value), formatted(raised.value), repr(settings))


@pytest.mark.parametrize(
    ("target", "error"),
    [
        ("smtplib.SMTP.login", lambda: smtplib.SMTPException(f"bad password {SMTP_PASSWORD}")),
        ("smtplib.SMTP.login", lambda: ValueError(f"cannot use {SMTP_PASSWORD!r}")),
        ("smtplib.SMTP.send_message", lambda: OSError(f"reset after AUTH {SMTP_PASSWORD}")),
        ("smtplib.SMTP.ehlo", lambda: TimeoutError("timed out")),
        ("safebeat_assets.alerting.delivery.send_email", lambda: KeyError(SMTP_PASSWORD)),
        ("safebeat_assets.alerting.delivery.render_email", lambda: TypeError("bad document")),
    ],
)
def test_any_smtp_exception_is_caught_and_scrubbed(
    target, error, caplog, capsys, leak_log, monkeypatch
):
    def fail(*args, **kwargs):
        raise error()

    monkeypatch.setattr(target, fail)
    with SmtpServer(credentials=("alerts", SMTP_PASSWORD)) as server:
        delivery, texts = deliver_and_collect(
            caplog, capsys, leak_log, failing_smtp(server.port), ""
        )
    assert delivery["email"]["status"] == "failed", delivery
    assert "alert e-mail not delivered:" in caplog.text
    assert_nothing_leaks(*texts)


def test_a_password_smtplib_cannot_encode_is_not_quoted(caplog, capsys, leak_log):
    # smtplib encodes AUTH as ASCII; the UnicodeEncodeError quotes the offending character.
    password = "pässwörd-SECRET-ünicode"
    with SmtpServer(credentials=("alerts", "x")) as server:
        delivery, texts = deliver_and_collect(
            caplog, capsys, leak_log, failing_smtp(server.port, password=password), ""
        )
    assert "UnicodeEncodeError" in delivery["email"]["error"]
    for fragment in (password, "ä", "ö", "ü"):
        assert all(fragment not in text for text in texts), fragment


def test_publish_alert_survives_a_channel_that_raises(reports, lake_dir, caplog, monkeypatch):
    from safebeat_assets.defs.sensors.publish import publish_alert
    from safebeat_assets.resources import AlertChannels

    url = hook_url(closed_port())
    channels = AlertChannels(
        smtp_host="127.0.0.1",
        smtp_port=closed_port(),
        smtp_user="alerts",
        smtp_password=SMTP_PASSWORD,
        smtp_starttls=False,
        mail_from="a@b",
        mail_to="c@d",
        webhook_url=url,
        timeout_seconds=2,
    )
    log = logging.getLogger("safebeat.test.publish")
    caplog.set_level(logging.DEBUG)
    document = check_document()
    uri = publish_alert(document, "alerts/x.json", reports, channels, log)
    assert alerting.delivery_failures(document["delivery"]) == ["email", "webhook"]
    assert "delivery failed on email, webhook" in caplog.text
    written = next(lake_dir.rglob("x.json")).read_text()
    assert_nothing_leaks(caplog.text, written, json.dumps(document), repr(channels), str(channels))

    # Even a deliver() that raises (a bug) does not fail the tick or show its message.
    def broken(self, document, alert_uri, log):
        raise RuntimeError(f"posting to {url} with {SMTP_PASSWORD}")

    monkeypatch.setattr(AlertChannels, "deliver", broken)
    caplog.clear()
    document = check_document()
    assert publish_alert(document, "alerts/y.json", reports, channels, log) == uri.replace(
        "x.json", "y.json"
    )
    assert "alert delivery failed with RuntimeError (details withheld)" in caplog.text
    assert alerting.delivery_failures(document["delivery"]) == ["channels"]
    assert_nothing_leaks(caplog.text, json.dumps(document))
