"""Publishing an alert document: written to the reports store, delivered, then rewritten with
the delivery outcome. Shared by the run-failure and check-failure sensors."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

from ... import alerting
from ...alerting.document import utc_now
from ...resources import AlertChannels
from ...storage.reports import ReportStore


def _json_bytes(document: Mapping[str, Any]) -> bytes:
    return json.dumps(document, indent=2, ensure_ascii=False, default=str).encode("utf-8")


def publish_alert(
    document: dict[str, Any],
    relative_path: str,
    reports: ReportStore,
    channels: AlertChannels,
    log,
) -> str:
    """Write the alert file, deliver it, then rewrite it with the `delivery` outcome.

    Written first so the alert exists even if a channel hangs; a failed write raises (the tick
    fails and is retried). Delivery failures are logged and recorded, never raised: the
    channels' own errors are caught and scrubbed of credentials by `alerting.deliver`, and
    anything that still escapes is reduced to its type here, since its message or traceback
    could quote a webhook URL or a password into the tick's output.
    """
    uri = reports.write(relative_path, _json_bytes({**document, "delivery": {"status": "pending"}}))
    try:
        document["delivery"] = channels.deliver(document, uri, log)
    except Exception as exc:
        log.error(f"alert delivery failed with {type(exc).__name__} (details withheld)")
        document["delivery"] = {
            "attempted_at": utc_now().isoformat(timespec="seconds"),
            "channels": {"status": alerting.FAILED, "error": type(exc).__name__},
        }
    reports.write(relative_path, _json_bytes(document))
    failed = alerting.delivery_failures(document["delivery"])
    log.info(
        f"{document['severity']} alert ({document['total_alerts']} item(s)) written to {uri}"
        + (f"; delivery failed on {', '.join(failed)}" if failed else "")
    )
    return uri


def _plain(value: Any) -> Any:
    value = getattr(value, "value", value)
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)  # NaN / inf are not JSON
    if value is None or isinstance(value, str | int | float | bool):
        return value
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    return str(value)


def plain_metadata(metadata: Mapping[str, Any] | None) -> dict[str, Any]:
    """Dagster metadata values as plain JSON values."""
    return {key: _plain(value) for key, value in (metadata or {}).items()}


def error_summary(error) -> str:
    """The innermost cause of a serialized error ("ValueError: boom"), else its own message."""
    if error is None:
        return "no error details recorded"
    while getattr(error, "cause", None) is not None:
        error = error.cause
    return error.message.strip() or error.cls_name or "unknown error"
