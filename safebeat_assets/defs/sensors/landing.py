"""The landing zone: new or changed files request the raw asset of their source.

Files are fingerprinted by ETag on S3 and by SHA-256 locally (re-hashed only when size or mtime
changed). The rest of the graph follows through the automation conditions.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from typing import Any

import dagster as dg

from ...asset_names import RAW_ASSET_BY_SOURCE
from ...storage.landing import SOURCE_PATTERNS, LandingZone
from ..jobs import PIPELINE_RUN_TAGS

if set(RAW_ASSET_BY_SOURCE) != set(SOURCE_PATTERNS):
    raise RuntimeError("every landing source needs its raw asset in RAW_ASSET_BY_SOURCE")

LANDING_CURSOR_VERSION = 1


def _load_landing_cursor(cursor: str | None, log) -> dict[str, Any]:
    empty = {"version": LANDING_CURSOR_VERSION, "requests": 0, "files": {}}
    if not cursor:
        return empty
    try:
        state = json.loads(cursor)
        if state.get("version") != LANDING_CURSOR_VERSION or not isinstance(state["files"], dict):
            raise ValueError(f"unsupported cursor version {state.get('version')!r}")
        return state
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        log.warning(f"ignoring unreadable landing cursor ({exc}); treating every file as new")
        return empty


def _by_source(files: Mapping[str, Mapping[str, Any]]) -> dict[str, dict[str, str]]:
    grouped: dict[str, dict[str, str]] = {source: {} for source in RAW_ASSET_BY_SOURCE}
    for key, state in files.items():
        source, _, name = key.partition("/")
        grouped.setdefault(source, {})[name] = state["fingerprint"]
    return grouped


def changed_sources(
    previous: Mapping[str, Mapping[str, Any]], current: Mapping[str, Mapping[str, Any]]
) -> list[str]:
    """Sources whose set of (file name, fingerprint) differs: a new, changed or removed file."""
    before, after = _by_source(previous), _by_source(current)
    return sorted(s for s in RAW_ASSET_BY_SOURCE if before.get(s, {}) != after.get(s, {}))


def landing_run_key(sequence: int, files: Mapping[str, Mapping[str, Any]]) -> str:
    """Deterministic for one tick (same cursor + same files -> same key, so a retried tick does
    not launch twice); the request counter keeps a later return to old content launchable."""
    fingerprints = {key: state["fingerprint"] for key, state in sorted(files.items())}
    digest = hashlib.sha256(json.dumps(fingerprints, sort_keys=True).encode("utf-8"))
    return f"landing-{sequence}-{digest.hexdigest()[:24]}"


def _landing_cursor(requests: int, files: Mapping[str, Any]) -> str:
    return json.dumps(
        {"version": LANDING_CURSOR_VERSION, "requests": requests, "files": files},
        sort_keys=True,
        separators=(",", ":"),
    )


def _sources_with_files(files: Iterable[str]) -> set[str]:
    return {key.partition("/")[0] for key in files}


@dg.sensor(
    name="landing_zone_sensor",
    minimum_interval_seconds=30,
    default_status=dg.DefaultSensorStatus.RUNNING,
    asset_selection=dg.AssetSelection.assets(*RAW_ASSET_BY_SOURCE.values()),
    description=(
        "Watches the landing zone (local folder or the raw-data landing prefix) and requests "
        "the raw asset of every source with a new or changed file (ETag on S3, SHA-256 locally)."
    ),
)
def landing_zone_sensor(context: dg.SensorEvaluationContext, landing: LandingZone):
    state = _load_landing_cursor(context.cursor, context.log)
    files = landing.file_states(state["files"])
    changed = changed_sources(state["files"], files)
    present = _sources_with_files(files)
    emptied = [s for s in changed if s not in present]
    if emptied:
        context.log.warning(
            f"landing source(s) {', '.join(emptied)} no longer hold any file; not requesting them"
        )
    to_run = [s for s in changed if s in present]
    if not to_run:
        reason = (
            "landing zone is empty"
            if not files
            else f"no new or changed landing files ({len(files)} file(s) unchanged)"
        )
        return dg.SensorResult(
            skip_reason=dg.SkipReason(reason), cursor=_landing_cursor(state["requests"], files)
        )
    sequence = int(state.get("requests", 0)) + 1
    changed_files = sorted(
        key
        for key in set(files) | set(state["files"])
        if key.partition("/")[0] in to_run
        and (files.get(key) or {}).get("fingerprint")
        != (state["files"].get(key) or {}).get("fingerprint")
    )
    context.log.info(f"new or changed landing files: {', '.join(changed_files)}")
    request = dg.RunRequest(
        run_key=landing_run_key(sequence, files),
        asset_selection=[dg.AssetKey(RAW_ASSET_BY_SOURCE[s]) for s in to_run],
        tags={
            **PIPELINE_RUN_TAGS,
            "safebeat/trigger": "landing_zone",
            "safebeat/changed_sources": ",".join(to_run),
        },
    )
    return dg.SensorResult(run_requests=[request], cursor=_landing_cursor(sequence, files))
