"""Alert e-mail: a short subject and plain-text body, sent with smtplib."""

from __future__ import annotations

import smtplib
import ssl
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from email import policy
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Any

from .document import SOURCE_RUN_FAILURE
from .errors import AlertDeliveryError
from .redact import password_secrets, scrub

SUBJECT_PREFIX = "[SafeBeat]"
IMPLICIT_TLS_PORT = 465
# RFC 5322 allows 998-character lines; not folding at 78 keeps subjects intact (the stdlib
# folds some 70-80 character subjects onto a continuation line that parsers read back with a
# leading space).
MAIL_POLICY = policy.default.clone(max_line_length=998)


def parse_recipients(value: str | Iterable[str]) -> tuple[str, ...]:
    """'a@x, b@y' (or a list) -> ('a@x', 'b@y'); blanks dropped."""
    items = value.split(",") if isinstance(value, str) else value
    return tuple(item.strip() for item in items if item and item.strip())


@dataclass(frozen=True)
class SmtpSettings:
    """Where and how to send: STARTTLS unless disabled (implicit TLS on port 465), login only
    when a user is set."""

    host: str
    port: int = 587
    user: str = ""
    password: str = ""
    starttls: bool = True
    mail_from: str = ""
    mail_to: tuple[str, ...] = ()
    timeout: float = 10.0

    def __repr__(self) -> str:  # never print the password
        return (
            f"SmtpSettings(host={self.host!r}, port={self.port}, user={self.user!r}, "
            f"starttls={self.starttls}, mail_from={self.mail_from!r}, mail_to={self.mail_to!r})"
        )


def _label(document: Mapping[str, Any]) -> str:
    return "run failure" if document.get("source") == SOURCE_RUN_FAILURE else "failed checks"


def render_subject(document: Mapping[str, Any]) -> str:
    total = document.get("total_alerts", len(document.get("alerts", [])))
    run = str(document.get("run_id") or "")[:8]
    return (
        f"{SUBJECT_PREFIX} {document.get('severity', 'WARNING')}: {total} alert"
        f"{'' if total == 1 else 's'} - {_label(document)} in {document.get('job_name')} run {run}"
    )


def render_body(document: Mapping[str, Any], alert_uri: str | None = None) -> str:
    lines = [
        f"SafeBeat {_label(document)}: run {document.get('run_id')} of job "
        f"{document.get('job_name')}",
        f"Generated at {document.get('generated_at')}",
        "",
    ]
    for number, alert in enumerate(document.get("alerts", []), start=1):
        where = " / ".join(str(alert[k]) for k in ("asset", "check") if alert.get(k))
        lines.append(
            f"{number}. [{alert['severity']}] {alert['type']}" + (f" ({where})" if where else "")
        )
        lines.append(f"   {alert['message']}")
        lines.append(f"   Action: {alert['action_required']}")
        lines.append("")
    if alert_uri:
        lines.append(f"Alert file: {alert_uri}")
    return "\n".join(lines).rstrip() + "\n"


def render_email(
    document: Mapping[str, Any],
    mail_from: str,
    mail_to: Iterable[str] | str,
    alert_uri: str | None = None,
) -> EmailMessage:
    message = EmailMessage(policy=MAIL_POLICY)
    message["Subject"] = render_subject(document)
    message["From"] = mail_from
    message["To"] = ", ".join(parse_recipients(mail_to))
    message["Date"] = formatdate(localtime=False, usegmt=True)
    message["Message-ID"] = make_msgid(domain="safebeat.local")
    message.set_content(render_body(document, alert_uri))
    return message


def send_email(settings: SmtpSettings, message: EmailMessage) -> tuple[str, ...]:
    """Send `message` to `settings.mail_to`; returns the recipients that accepted it.

    Raises AlertDeliveryError (with the server and the reason) on any failure, including a
    server that does not offer STARTTLS when it is required or a recipient it refused. The
    reason never holds the password (servers may quote what the client sent, in base64 too),
    and the error is raised `from None`, so no traceback shows the original exception either.
    """
    where = f"{settings.host}:{settings.port}"
    if not settings.host:
        raise AlertDeliveryError("SMTP host is not configured")
    if not settings.mail_from:
        raise AlertDeliveryError(f"no sender address configured for SMTP server {where}")
    if not settings.mail_to:
        raise AlertDeliveryError(f"no recipients configured for SMTP server {where}")
    implicit_tls = settings.port == IMPLICIT_TLS_PORT
    secrets = password_secrets(settings.password, settings.user)
    try:
        refused = _send(settings, message, where, implicit_tls)
    except AlertDeliveryError:
        raise
    except smtplib.SMTPAuthenticationError as exc:
        error = AlertDeliveryError(
            f"SMTP login as {settings.user!r} on {where} failed: {exc.smtp_code} "
            f"{scrub(_text(exc.smtp_error), secrets)}"
        )
    except smtplib.SMTPRecipientsRefused as exc:
        error = AlertDeliveryError(
            f"SMTP server {where} refused every recipient: {', '.join(exc.recipients)}"
        )
    except smtplib.SMTPResponseException as exc:
        error = AlertDeliveryError(
            f"SMTP server {where} answered {exc.smtp_code} {scrub(_text(exc.smtp_error), secrets)}"
        )
    except UnicodeError as exc:
        # Its message quotes the offending characters, which may come from the password.
        error = AlertDeliveryError(
            f"sending mail via {where} failed: {type(exc).__name__}: an address, header or "
            "credential is not encodable for this server"
        )
    except Exception as exc:  # OSError, SMTPException, ssl errors, anything smtplib lets out
        error = AlertDeliveryError(
            f"sending mail via {where} failed: {type(exc).__name__}: {scrub(str(exc), secrets)}"
        )
    else:
        if refused:
            accepted = tuple(r for r in settings.mail_to if r not in refused)
            raise AlertDeliveryError(
                f"SMTP server {where} refused {', '.join(sorted(refused))} "
                f"(accepted: {', '.join(accepted) or 'none'})"
            )
        return tuple(settings.mail_to)
    raise error from None


def _send(
    settings: SmtpSettings, message: EmailMessage, where: str, implicit_tls: bool
) -> dict[str, Any]:
    if implicit_tls:
        client = smtplib.SMTP_SSL(
            settings.host,
            settings.port,
            timeout=settings.timeout,
            context=ssl.create_default_context(),
        )
    else:
        client = smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout)
    with client as smtp:
        smtp.ehlo()
        if settings.starttls and not implicit_tls:
            if not smtp.has_extn("starttls"):
                raise AlertDeliveryError(
                    f"SMTP server {where} does not offer STARTTLS; refusing to send in clear "
                    "text (disable smtp_starttls only for a trusted relay)"
                )
            smtp.starttls(context=ssl.create_default_context())
            smtp.ehlo()
        if settings.user:
            smtp.login(settings.user, settings.password)
        return smtp.send_message(
            message, from_addr=settings.mail_from, to_addrs=list(settings.mail_to)
        )


def _text(value: Any) -> str:
    return value.decode("utf-8", errors="replace") if isinstance(value, bytes) else str(value)
