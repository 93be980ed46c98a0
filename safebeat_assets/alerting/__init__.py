"""Alerting without Dagster: alert documents for failed runs and checks, e-mail and webhooks.

The alert sensors (`defs/sensors/`) turn Dagster events into the plain values used here
(FailedCheck, StepFailure), write the documents under ``reports/alerts/`` and call `deliver`.
"""

from .delivery import DISABLED, FAILED, SENT, deliver, delivery_failures, webhook_payload
from .document import (
    CHECK_FAILURE,
    CRITICAL,
    ERROR,
    INFO,
    RUN_FAILURE,
    SOURCE_CHECK_FAILURE,
    SOURCE_RUN_FAILURE,
    WARNING,
    CheckRule,
    FailedCheck,
    StepFailure,
    alert_relative_path,
    build_alert_document,
    check_failure_alert,
    highest_severity,
    pre_check_rule,
    rule_of_alert,
    run_failure_alerts,
)
from .errors import AlertDeliveryError
from .mail import SmtpSettings, parse_recipients, render_email, send_email
from .redact import password_secrets, redact_url, scrub, url_secrets
from .webhook import post_webhook

__all__ = [
    "CHECK_FAILURE",
    "CRITICAL",
    "DISABLED",
    "ERROR",
    "FAILED",
    "INFO",
    "RUN_FAILURE",
    "SENT",
    "SOURCE_CHECK_FAILURE",
    "SOURCE_RUN_FAILURE",
    "WARNING",
    "AlertDeliveryError",
    "CheckRule",
    "FailedCheck",
    "SmtpSettings",
    "StepFailure",
    "alert_relative_path",
    "build_alert_document",
    "check_failure_alert",
    "deliver",
    "delivery_failures",
    "highest_severity",
    "parse_recipients",
    "password_secrets",
    "post_webhook",
    "pre_check_rule",
    "redact_url",
    "render_email",
    "rule_of_alert",
    "run_failure_alerts",
    "scrub",
    "send_email",
    "url_secrets",
    "webhook_payload",
]
