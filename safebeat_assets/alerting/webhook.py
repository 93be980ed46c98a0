"""Posting an alert document to a webhook (Slack-style incoming hook, Teams, a custom endpoint)."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any
from urllib.parse import urlsplit

from .errors import AlertDeliveryError
from .redact import redact_url, scrub, url_fragments

USER_AGENT = "safebeat-alerts/1"
MAX_DETAIL_BYTES = 300

__all__ = ["USER_AGENT", "post_webhook", "redact_url"]


def post_webhook(url: str, payload: Any, timeout: float = 10.0) -> int:
    """POST `payload` as JSON; returns the HTTP status, raises AlertDeliveryError otherwise.

    The error names the hook as scheme://host/… only; any text from outside (the exception, the
    hook's answer) is scrubbed of the URL's path, query and their pieces. Raised `from None`, so
    a traceback cannot show the original exception, which may quote the full URL.
    """
    secrets = url_fragments(url)
    shown = redact_url(url)
    try:
        scheme = urlsplit(url).scheme
    except ValueError:
        scheme = ""
    if scheme not in ("http", "https"):
        raise AlertDeliveryError("webhook URL must start with http:// or https://")
    try:
        body = json.dumps(payload, default=str, ensure_ascii=False).encode("utf-8")
        request = urllib.request.Request(
            url,
            data=body,
            method="POST",
            headers={"Content-Type": "application/json; charset=utf-8", "User-Agent": USER_AGENT},
        )
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        detail = _response_detail(exc)
        message = f"webhook {shown} answered HTTP {exc.code} {scrub(str(exc.reason), secrets)}"
        error = AlertDeliveryError(message + (f": {scrub(detail, secrets)}" if detail else ""))
    except urllib.error.URLError as exc:
        error = AlertDeliveryError(
            f"webhook {shown} unreachable: {scrub(str(exc.reason), secrets)}"
        )
    except Exception as exc:  # timeouts, resets, malformed URLs, protocol errors, anything
        error = AlertDeliveryError(
            f"webhook {shown} failed: {type(exc).__name__}: {scrub(str(exc), secrets)}"
        )
    raise error from None


def _response_detail(exc: urllib.error.HTTPError) -> str:
    try:
        return exc.read(MAX_DETAIL_BYTES).decode("utf-8", errors="replace").strip()
    except Exception:  # the body itself failed to arrive: the status line says enough
        return ""
