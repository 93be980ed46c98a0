"""Where alerts go besides the JSON file: e-mail and a webhook, configured from the environment."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import dagster as dg

from .. import alerting
from ..alerting.redact import MASK
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

_ENV_FIELDS = {
    ENV_ALERT_SMTP_HOST: "smtp_host",
    ENV_ALERT_SMTP_USER: "smtp_user",
    ENV_ALERT_SMTP_PASSWORD: "smtp_password",
    ENV_ALERT_FROM: "mail_from",
    ENV_ALERT_TO: "mail_to",
    ENV_ALERT_WEBHOOK_URL: "webhook_url",
}


class AlertChannels(dg.ConfigurableResource):
    """E-mail and webhook delivery of alert documents. An empty host / URL switches that channel
    off."""

    smtp_host: str = ""
    smtp_port: int = 587
    smtp_user: str = ""
    smtp_password: str = ""
    smtp_starttls: bool = True
    mail_from: str = ""
    mail_to: str = ""  # comma separated
    webhook_url: str = ""
    timeout_seconds: float = 10.0

    def __repr_args__(self):
        # pydantic's repr and str would print the password and the hook's token.
        for name, value in super().__repr_args__():
            if name == "smtp_password" and value:
                value = MASK
            elif name == "webhook_url" and value:
                value = alerting.redact_url(value)
            yield name, value

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
