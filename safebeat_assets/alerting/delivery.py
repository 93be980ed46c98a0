"""Sending one alert document on every configured channel and recording what happened."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from .document import utc_now
from .errors import AlertDeliveryError
from .mail import SmtpSettings, render_email, send_email
from .redact import password_secrets, redact_url, scrub, url_secrets
from .webhook import post_webhook

SENT = "sent"
FAILED = "failed"
DISABLED = "disabled"

logger = logging.getLogger(__name__)


def webhook_payload(document: Mapping[str, Any], alert_uri: str | None = None) -> dict[str, Any]:
    """What the webhook receives: the alert document (without delivery) and the file's URI."""
    payload = {k: v for k, v in document.items() if k != "delivery"}
    if alert_uri:
        payload["alert_file"] = alert_uri
    return payload


def deliver(
    document: Mapping[str, Any],
    smtp: SmtpSettings | None,
    webhook_url: str = "",
    *,
    alert_uri: str | None = None,
    timeout: float = 10.0,
    log: logging.Logger | logging.LoggerAdapter | None = None,
) -> dict[str, Any]:
    """Try each channel; never raises. Returns the `delivery` section of the alert document:
    ``{"attempted_at", "email": {"status": sent|failed|disabled, ...}, "webhook": {...}}``.

    Every failure, whatever the exception, is logged as an error on `log` (the sensor's logger)
    with its reason and recorded as failed. Neither the logs nor the returned section ever hold
    the webhook URL's path or query or the SMTP password: the hook is shown as scheme://host/…,
    reasons are scrubbed of those strings, and no traceback is logged (it would quote them)."""
    log = log or logger
    secrets = url_secrets(webhook_url) | (
        password_secrets(smtp.password, smtp.user) if smtp is not None else set()
    )

    def reason(exc: Exception) -> str:
        if isinstance(exc, AlertDeliveryError):
            return scrub(str(exc), secrets)
        return f"unexpected {type(exc).__name__}: {scrub(str(exc), secrets)}"

    delivery: dict[str, Any] = {"attempted_at": utc_now().isoformat(timespec="seconds")}

    if smtp is None or not smtp.host:
        delivery["email"] = {"status": DISABLED}
    else:
        try:
            message = render_email(document, smtp.mail_from, smtp.mail_to, alert_uri)
            accepted = send_email(smtp, message)
            delivery["email"] = {
                "status": SENT,
                "to": list(accepted),
                "subject": message["Subject"],
            }
            log.info(f"alert e-mail sent to {', '.join(accepted)}")
        except Exception as exc:
            why = reason(exc)
            delivery["email"] = {"status": FAILED, "error": why}
            log.error(f"alert e-mail not delivered: {why}")

    if not webhook_url:
        delivery["webhook"] = {"status": DISABLED}
    else:
        target = redact_url(webhook_url)
        try:
            status = post_webhook(webhook_url, webhook_payload(document, alert_uri), timeout)
            delivery["webhook"] = {"status": SENT, "url": target, "http_status": status}
            log.info(f"alert posted to webhook {target} (HTTP {status})")
        except Exception as exc:
            why = reason(exc)
            delivery["webhook"] = {"status": FAILED, "url": target, "error": why}
            log.error(f"alert webhook not delivered: {why}")
    return delivery


def delivery_failures(delivery: Mapping[str, Any]) -> list[str]:
    """Channel names whose delivery failed."""
    return [
        name
        for name, outcome in delivery.items()
        if isinstance(outcome, Mapping) and outcome.get("status") == FAILED
    ]
