"""Posting an alert document to a webhook (Slack-style incoming hook, Teams, a custom endpoint)."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any
from urllib.parse import urlsplit

from .errors import AlertDeliveryError

USER_AGENT = "safebeat-alerts/1"


def redact_url(url: str) -> str:
    """scheme://host[:port]/… : webhook paths and queries often carry the secret token."""
    parts = urlsplit(url)
    host = parts.hostname or "?"
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}/…"


def post_webhook(url: str, payload: Any, timeout: float = 10.0) -> int:
    """POST `payload` as JSON; returns the HTTP status, raises AlertDeliveryError otherwise."""
    if urlsplit(url).scheme not in ("http", "https"):
        raise AlertDeliveryError(
            f"webhook URL must start with http:// or https:// (got {url[:8]!r}…)"
        )
    shown = redact_url(url)
    body = json.dumps(payload, default=str, ensure_ascii=False).encode("utf-8")
    request = urllib.request.Request(
        url,
        data=body,
        method="POST",
        headers={"Content-Type": "application/json; charset=utf-8", "User-Agent": USER_AGENT},
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        detail = exc.read(300).decode("utf-8", errors="replace").strip()
        raise AlertDeliveryError(
            f"webhook {shown} answered HTTP {exc.code} {exc.reason}"
            + (f": {detail}" if detail else "")
        ) from exc
    except urllib.error.URLError as exc:
        raise AlertDeliveryError(f"webhook {shown} unreachable: {exc.reason}") from exc
    except (OSError, ValueError) as exc:  # timeouts, resets, malformed URLs
        raise AlertDeliveryError(f"webhook {shown} failed: {type(exc).__name__}: {exc}") from exc
