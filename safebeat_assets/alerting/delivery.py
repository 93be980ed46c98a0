"""Sending one alert document on every configured channel and recording what happened."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from .document import utc_now
from .errors import AlertDeliveryError
from .mail import SmtpSettings, render_email, send_email
from .webhook import post_webhook, redact_url

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
    Every failure is logged as an error on `log` (the sensor's logger) with its reason."""
    log = log or logger
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
        except AlertDeliveryError as exc:
            delivery["email"] = {"status": FAILED, "error": str(exc)}
            log.error(f"alert e-mail not delivered: {exc}")

    if not webhook_url:
        delivery["webhook"] = {"status": DISABLED}
    else:
        target = redact_url(webhook_url)
        try:
            status = post_webhook(webhook_url, webhook_payload(document, alert_uri), timeout)
            delivery["webhook"] = {"status": SENT, "url": target, "http_status": status}
            log.info(f"alert posted to webhook {target} (HTTP {status})")
        except AlertDeliveryError as exc:
            delivery["webhook"] = {"status": FAILED, "url": target, "error": str(exc)}
            log.error(f"alert webhook not delivered: {exc}")
    return delivery


def delivery_failures(delivery: Mapping[str, Any]) -> list[str]:
    """Channel names whose delivery failed."""
    return [
        name
        for name, outcome in delivery.items()
        if isinstance(outcome, Mapping) and outcome.get("status") == FAILED
    ]
