"""The daily report's status and the parts of the pipeline it accounts for.

A report is written every day, so its status has to say how much of the pipeline stands behind
it: SUCCESS (everything built, no ERROR check failing), PARTIAL (a report, but some part skipped,
failed or never built, or an ERROR check failing) or FAILED (the run stopped before the report
step; a sensor writes that document with `build_failed_report`). Alerts are listed in the report
but never change its status: they describe the data, not whether the pipeline did its job.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

STATUS_SUCCESS = "SUCCESS"
STATUS_PARTIAL = "PARTIAL"
STATUS_FAILED = "FAILED"

BUILT = "built"
SKIPPED = "skipped"
FAILED = "failed"
MISSING = "missing"
PART_STATES = (BUILT, SKIPPED, FAILED, MISSING)


def _format_value(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, float) and not math.isfinite(value):
        return "n/a"
    if isinstance(value, int) or float(value).is_integer():
        return f"{int(value):,}"
    return f"{value:,.4g}"


def _comparison(value: Any, threshold: Any) -> str:
    try:
        below, above = value < threshold, value > threshold
    except TypeError:
        return "vs"
    return "<" if below else ">" if above else "="


def _first_line(text: str) -> str:
    # Step errors can carry a whole traceback; the sentence needs only its headline.
    return next((line.strip() for line in text.splitlines() if line.strip()), "")


@dataclass(frozen=True)
class PartOutcome:
    """What became of one part of the pipeline (a model, a load, …) in the run being reported."""

    part: str
    assets: tuple[str, ...]
    state: str  # "built" | "skipped" | "failed" | "missing"
    reason: str = ""
    check: str | None = None  # the blocking check that skipped it
    measured: Mapping[str, Any] = field(default_factory=dict)  # that check's measured values
    threshold: Any = None
    error: str | None = None
    last_built: str | None = None  # when the output still on disk was built, if it is stale

    def __post_init__(self) -> None:
        if self.state not in PART_STATES:
            raise ValueError(f"state must be one of {PART_STATES}, not {self.state!r}")
        # Callers may hand over a list or a live dict; a frozen outcome must not change later.
        object.__setattr__(self, "assets", tuple(self.assets))
        object.__setattr__(self, "measured", dict(self.measured))

    @property
    def ok(self) -> bool:
        return self.state == BUILT

    def _measurement(self) -> str:
        values = ", ".join(f"{k} {_format_value(v)}" for k, v in self.measured.items())
        if self.threshold is None:
            return values
        if len(self.measured) == 1:
            [value] = self.measured.values()
            op = _comparison(value, self.threshold)
            return f"{values} {op} threshold {_format_value(self.threshold)}"
        return f"{values} (threshold {_format_value(self.threshold)})".lstrip()

    @property
    def summary(self) -> str:
        """One sentence, e.g. "call_forecast skipped: enough_days_for_forecast failed,
        distinct_days 20 < threshold 30"."""
        details = []
        if self.check:
            details.append(f"{self.check} failed")
        measurement = self._measurement()
        if measurement:
            details.append(measurement)
        if self.error:
            details.append(_first_line(self.error))
        if self.state == MISSING and not details:
            details.append("never built")
        if self.reason:
            details.append(self.reason)
        if not self.ok and self.last_built:
            details.append(f"output on disk last built {self.last_built}")
        return f"{self.part} {self.state}" + (f": {', '.join(details)}" if details else "")

    def to_dict(self) -> dict:
        return {
            "part": self.part,
            "assets": list(self.assets),
            "state": self.state,
            "summary": self.summary,
            "reason": self.reason,
            "check": self.check,
            "measured": dict(self.measured),
            "threshold": self.threshold,
            "error": self.error,
            "last_built": self.last_built,
        }


@dataclass(frozen=True)
class StepError:
    """A step of a run that never reached the report: its key and the error it raised."""

    step_key: str
    error: str
    assets: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "assets", tuple(self.assets))

    def as_part(self) -> PartOutcome:
        return PartOutcome(part=self.step_key, assets=self.assets, state=FAILED, error=self.error)


def _severity(check: Mapping) -> str:
    return str(check.get("severity", "")).upper()


def failed_error_checks(check_results: Sequence[Mapping]) -> list[Mapping]:
    """ERROR checks whose latest evaluation failed.

    A check never evaluated has no latest evaluation to have failed; the report wiring marks
    those with `evaluated: False`.
    """
    return [
        c
        for c in check_results
        if c.get("evaluated", True) and not c.get("passed", False) and _severity(c) == "ERROR"
    ]


def overall_status(parts: Sequence[PartOutcome], check_results: Sequence[Mapping]) -> str:
    """SUCCESS or PARTIAL for a report the report step produced (FAILED comes from the sensor)."""
    if any(not p.ok for p in parts) or failed_error_checks(check_results):
        return STATUS_PARTIAL
    return STATUS_SUCCESS


def _explained_by(check: Mapping, part: PartOutcome) -> bool:
    if part.ok or part.check != check.get("name"):
        return False
    return not part.assets or check.get("asset") in part.assets


def failures(parts: Sequence[PartOutcome], check_results: Sequence[Mapping]) -> list[dict]:
    """Everything that kept the run from SUCCESS, one entry each, for the report's `failures`.

    A failed pre-check already named by the part it skipped is not listed a second time.
    """
    listed = [
        {
            "kind": "part",
            "name": p.part,
            "assets": list(p.assets),
            "state": p.state,
            "message": p.summary,
        }
        for p in parts
        if not p.ok
    ]
    for c in failed_error_checks(check_results):
        if any(_explained_by(c, p) for p in parts):
            continue
        name, asset = c.get("name"), c.get("asset")
        description = c.get("description")
        listed.append(
            {
                "kind": "check",
                "name": name,
                "assets": [asset] if asset else [],
                "state": FAILED,
                "message": f"{name} on {asset} failed (ERROR)"
                + (f": {description}" if description else ""),
            }
        )
    return listed


def build_failed_report(
    report_date: date,
    run_id: str,
    generated_at: datetime,
    job_name: str,
    failed_steps: Sequence[StepError],
    message: str,
    city: tuple[str, str] | None = None,
) -> dict:
    """The FAILED report for a run that stopped before its report step (`city`: the city's
    name and title, when known).

    It has the same keys as `build_report`'s output, so the JSON readers and the HTML template
    take either; figures nobody computed are null rather than zero.
    """
    # report.py imports this module for PartOutcome and overall_status.
    from safebeat_assets.reporting.report import ReportInputs, assemble_report

    inputs = ReportInputs(
        report_date=report_date,
        run_id=run_id,
        generated_at=generated_at,
        calls_processed=None,
        calls_quarantined=None,
        calls_in_warehouse=None,
        calls_on_latest_date=None,
        latest_data_date=None,
        events_tracked=None,
        events_linked=None,
        geo_match_rate=None,
        rules=None,
        zones=None,
        zone_stats={},
        forecast=None,
        forecast_stats={},
        event_risk=None,
        alerts=[],
        check_results=[],
        parts=[step.as_part() for step in failed_steps],
        job_name=job_name,
        city=city[0] if city else None,
        city_title=city[1] if city else None,
    )
    return assemble_report(inputs, status=STATUS_FAILED, message=message)
