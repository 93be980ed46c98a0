"""The event planner: what to expect from a planned event, and what to staff.

`plan_event(request, model, rates, geo, risk_reference)` answers for one planned event (a date,
its hours, a place and the permit's attributes):

- **baseline**: calls within the link radius during those hours on a comparable day without an
  event: the sum, over the block groups whose internal point lies within the radius of the
  event point, of `call_baseline_rates` for that weekday and each hour in [start, end);
- **expected calls**: the event impact model's prediction for the whole event-day
  (`event_impact.predict` on the day's 24-hour baseline; permits are day-level, so the model
  knows days, not hours), times the share of that day's calls falling in the event's hours
  (baseline per hour × the historical event-day hourly profile). For all 24 hours this is
  exactly the model's prediction for the event-day;
- **uplift** (expected − baseline, and in % of the baseline), the likely **priority and
  category mix** (expected calls × the linked calls' shares for the tier, else overall);
- **risk**: Formula A (`risk.formula_a`) on the planned event's expected aggregates together
  with every scored historical event (`event_risk_scores`), so the incident and priority
  maxima are those the pipeline would use if this event were added;
- **staffing**: units = ceil(expected calls per hour × mean unit time on scene (h) ÷ target
  utilisation).

Every assumption and its source is listed in `Plan.assumptions` (and in the Markdown/JSON
downloads). Invalid input raises `PlanInputError` with a message for the user.

Supported input (`validate_request`):
- date: from the first call date of the history to `MAX_DAYS_AHEAD` (365) days after the last;
- hours: integers, 0 ≤ start_hour < end_hour ≤ 24 (end exclusive);
- location: a block group of dim_geo (its internal point is the event point), or a
  latitude/longitude with at least one block-group internal point within the link radius (no
  call could be linked to an event anywhere else, so nothing could be predicted there);
- tier: one of the tiers of the historical events the model was fitted on;
- expected_attendance: a non-negative integer, or None.

No dagster here.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd

from .event_impact import (
    HOURS,
    NAIVE,
    PRIORITY_LABELS,
    EventImpactModel,
    RateTable,
    geos_within_radius,
    predict,
)
from .risk import FORMULA_A_INPUTS, formula_a

MAX_DAYS_AHEAD = 365
DEFAULT_TARGET_UTILISATION = 0.6
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


class PlanInputError(ValueError):
    """A planned event the planner cannot answer for; the message says why, for the user."""


@dataclass(frozen=True)
class PlanRequest:
    """A planned event. Give the location as `geo_id` or as `latitude` and `longitude`."""

    date: date
    start_hour: int
    end_hour: int  # exclusive, 1..24
    tier: int
    geo_id: str | None = None
    latitude: float | None = None
    longitude: float | None = None
    has_alcohol: bool = False
    has_amplified_sound: bool = False
    has_road_closure: bool = False
    expected_attendance: int | None = None
    name: str = "Planned event"

    def __post_init__(self) -> None:
        # A datetime (or pandas Timestamp) from a date picker plans its calendar date.
        if isinstance(self.date, datetime):
            object.__setattr__(self, "date", self.date.date())

    def features(self) -> dict[str, Any]:
        """The event attributes the impact model reads (`event_impact.RAW_FEATURES`)."""
        return {
            "tier": self.tier,
            "has_alcohol": self.has_alcohol,
            "has_amplified_sound": self.has_amplified_sound,
            "has_road_closure": self.has_road_closure,
            "expected_attendance": self.expected_attendance,
        }


@dataclass(frozen=True)
class Location:
    """Where a validated request is: the event point and the block groups within the radius."""

    latitude: float
    longitude: float
    geo_ids: tuple[str, ...]  # nearest first
    distances_km: tuple[float, ...]
    described_as: str  # how the user gave it


@dataclass(frozen=True)
class Plan:
    """The planner's answer. Call counts are expected values within the link radius during the
    event's hours [start_hour, end_hour) on its date."""

    request: PlanRequest
    weekday: str
    latitude: float
    longitude: float
    block_groups: tuple[str, ...]
    link_radius_km: float
    hours: int
    baseline_calls: float
    expected_calls: float
    uplift_calls: float
    uplift_pct: float | None  # None when the baseline is 0
    day_baseline_calls: float  # all 24 hours of that weekday
    day_expected_calls: float  # the model's prediction for the whole event-day
    hourly_baseline: dict[int, float]
    hourly_expected: dict[int, float]
    priority_mix: dict[str, float]  # expected calls per priority (P0..P3, unknown)
    category_mix: dict[str, float]  # expected calls per final category (top ones, Other)
    avg_distance_km: float
    incident_score: float
    priority_score: float
    distance_score: float
    risk_score: float
    risk_category: str
    calls_per_hour: float
    peak_hour: int
    peak_hour_calls: float
    unit_time_on_scene_s: float | None
    target_utilisation: float
    units_suggested: int | None  # None when no unit time on scene is known
    units_at_peak_hour: int | None
    model: str
    is_fallback: bool
    assumptions: tuple[str, ...] = field(default=())

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON values (the request's date as ISO text, hour keys as text)."""
        data = asdict(self)
        data["request"]["date"] = self.request.date.isoformat()
        data["hourly_baseline"] = {str(h): v for h, v in self.hourly_baseline.items()}
        data["hourly_expected"] = {str(h): v for h, v in self.hourly_expected.items()}
        data["block_groups"] = list(self.block_groups)
        data["assumptions"] = list(self.assumptions)
        return data

    def to_json(self, indent: int = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent, allow_nan=False)

    def to_markdown(self) -> str:
        r = self.request
        uplift_pct = "n/a (no baseline)" if self.uplift_pct is None else f"{self.uplift_pct:+.1f} %"
        units = "n/a" if self.units_suggested is None else str(self.units_suggested)
        peak_units = "n/a" if self.units_at_peak_hour is None else str(self.units_at_peak_hour)
        lines = [
            f"# Event plan: {r.name}",
            "",
            f"{self.weekday} {r.date.isoformat()}, {r.start_hour:02d}:00–{r.end_hour:02d}:00 "
            f"({self.hours} h), tier {r.tier}; alcohol: {_yes(r.has_alcohol)}, amplified "
            f"sound: {_yes(r.has_amplified_sound)}, road closure: {_yes(r.has_road_closure)}, "
            "expected attendance: "
            + ("not given" if r.expected_attendance is None else f"{r.expected_attendance:,}"),
            "",
            f"Location: {self.latitude:.5f}, {self.longitude:.5f}; {len(self.block_groups)} "
            f"block group(s) within {self.link_radius_km:g} km.",
            "",
            "## Expected 911 calls",
            "",
            "| measure | value |",
            "|---|---|",
            f"| expected calls during the event | {self.expected_calls:.1f} |",
            f"| baseline (same place, weekday and hours, no event) | {self.baseline_calls:.1f} |",
            f"| uplift | {self.uplift_calls:+.1f} ({uplift_pct}) |",
            f"| expected calls per hour (peak {self.peak_hour:02d}:00) | "
            f"{self.calls_per_hour:.2f} (peak {self.peak_hour_calls:.2f}) |",
            f"| risk score (Formula A) | {self.risk_score:.1f} ({self.risk_category}) |",
            f"| suggested units on duty (at the peak hour) | {units} ({peak_units}) |",
            "",
            "## Likely priority mix",
            "",
            "| priority | expected calls |",
            "|---|---|",
            *[f"| {k} | {v:.1f} |" for k, v in self.priority_mix.items()],
            "",
            "## Likely call categories",
            "",
            "| category | expected calls |",
            "|---|---|",
            *[f"| {k} | {v:.1f} |" for k, v in self.category_mix.items()],
            "",
            "## Per hour",
            "",
            "| hour | baseline | expected |",
            "|---|---|---|",
            *[
                f"| {h:02d}:00 | {self.hourly_baseline[h]:.2f} | {self.hourly_expected[h]:.2f} |"
                for h in self.hourly_expected
            ],
            "",
            "## Assumptions and sources",
            "",
            *[f"- {a}" for a in self.assumptions],
            "",
        ]
        return "\n".join(lines)


def _yes(flag: bool) -> str:
    return "yes" if flag else "no"


# --- validation ----------------------------------------------------------------------------------


def supported_dates(model: EventImpactModel) -> tuple[date, date]:
    """The dates the planner answers for: the model's history to MAX_DAYS_AHEAD days after."""
    return model.history_start, model.history_end + timedelta(days=MAX_DAYS_AHEAD)


def validate_request(request: PlanRequest, model: EventImpactModel, geo: pd.DataFrame) -> Location:
    """The request's location, or PlanInputError naming what is wrong (see the module
    docstring for the supported input)."""
    first, last = supported_dates(model)
    if not isinstance(request.date, date):
        raise PlanInputError(f"date must be a calendar date, got {request.date!r}")
    if request.date < first:
        raise PlanInputError(
            f"date {request.date.isoformat()} is before the call history, which starts on "
            f"{first.isoformat()}"
        )
    if request.date > last:
        raise PlanInputError(
            f"date {request.date.isoformat()} is more than {MAX_DAYS_AHEAD} days after the last "
            f"call in the history ({model.history_end.isoformat()}); plan dates up to "
            f"{last.isoformat()}"
        )
    start, end = request.start_hour, request.end_hour
    if not all(isinstance(h, int | np.integer) and not isinstance(h, bool) for h in (start, end)):
        raise PlanInputError(f"hours must be whole hours, got start {start!r} and end {end!r}")
    if not 0 <= start <= 23:
        raise PlanInputError(f"start hour {start} must be between 0 and 23")
    if not 1 <= end <= HOURS:
        raise PlanInputError(f"end hour {end} must be between 1 and 24 (the end is exclusive)")
    if end <= start:
        raise PlanInputError(
            f"end hour {end} must be after start hour {start} (events past midnight: plan each "
            "day separately)"
        )
    if request.tier not in model.known_tiers:
        known = ", ".join(str(t) for t in model.known_tiers) or "none"
        raise PlanInputError(
            f"tier {request.tier!r} is not a tier of the historical events (known tiers: {known})"
        )
    attendance = request.expected_attendance
    if attendance is not None and (
        isinstance(attendance, bool)
        or not isinstance(attendance, int | np.integer)
        or attendance < 0
    ):
        raise PlanInputError(
            f"expected attendance must be a non-negative whole number or empty, got {attendance!r}"
        )
    return _locate(request, model, geo)


def _locate(request: PlanRequest, model: EventImpactModel, geo: pd.DataFrame) -> Location:
    radius = model.link_radius_km
    has_point = request.latitude is not None or request.longitude is not None
    if request.geo_id is not None and has_point:
        raise PlanInputError(
            "give the location as a block group or as latitude/longitude, not both"
        )
    if request.geo_id is not None:
        match = geo[geo["geo_id"] == str(request.geo_id)]
        if match.empty:
            raise PlanInputError(f"block group {request.geo_id!r} is not in dim_geo")
        lat = float(match["latitude_centroid"].iloc[0])
        lon = float(match["longitude_centroid"].iloc[0])
        described = f"block group {request.geo_id} (its internal point)"
    elif has_point:
        if request.latitude is None or request.longitude is None:
            raise PlanInputError("give both latitude and longitude")
        try:
            lat, lon = float(request.latitude), float(request.longitude)
        except (TypeError, ValueError):
            raise PlanInputError(
                f"latitude/longitude must be numbers, got {request.latitude!r}, "
                f"{request.longitude!r}"
            ) from None
        if not (math.isfinite(lat) and math.isfinite(lon) and -90 <= lat <= 90):
            raise PlanInputError(f"({request.latitude}, {request.longitude}) is not a coordinate")
        if not -180 <= lon <= 180:
            raise PlanInputError(f"({request.latitude}, {request.longitude}) is not a coordinate")
        described = f"point {lat:.5f}, {lon:.5f}"
    else:
        raise PlanInputError("give a location: a block group or latitude and longitude")
    near = geos_within_radius(geo, lat, lon, radius)
    if near.empty:
        raise PlanInputError(
            f"({lat:.5f}, {lon:.5f}) is outside the covered geography: no block group's internal "
            f"point lies within the {radius:g} km link radius, so no call could be linked to an "
            "event there"
        )
    return Location(
        lat,
        lon,
        tuple(near["geo_id"].astype(str)),
        tuple(near["distance_km"].astype(float)),
        described,
    )


# --- the plan ------------------------------------------------------------------------------------


def _mix(mixes: Mapping[str, Any], kind: str, tier: int) -> tuple[dict[str, float], str]:
    shares = mixes.get(kind) or {}
    by_tier = shares.get("by_tier") or {}
    calls_by_tier = mixes.get("calls_by_tier") or {}
    source = mixes.get("source", "linked calls")
    if str(tier) in by_tier:
        n = calls_by_tier.get(str(tier), 0)
        return dict(by_tier[str(tier)]), f"{source} of tier-{tier} events ({n:,} calls)"
    n_tier = calls_by_tier.get(str(tier), 0)
    return (
        dict(shares.get("overall") or {}),
        f"{source} of all historical events ({mixes.get('calls', 0):,} calls; tier {tier} has "
        f"{n_tier:,}, fewer than {mixes.get('min_calls_for_tier_mix', '?')})",
    )


def _units(calls_per_hour: float, unit_hours: float | None, utilisation: float) -> int | None:
    if unit_hours is None:
        return None
    # Rounded first so that 2.0000000001 units of float noise do not become 3.
    return int(math.ceil(round(calls_per_hour * unit_hours / utilisation, 9)))


def _risk_reference(reference: pd.DataFrame | None) -> pd.DataFrame:
    if reference is None or reference.empty:
        return pd.DataFrame({c: pd.Series(dtype="float64") for c in FORMULA_A_INPUTS})
    frame = reference[list(FORMULA_A_INPUTS)].copy()
    for column in FORMULA_A_INPUTS:
        if column == "has_alcohol":
            frame[column] = frame[column].astype("boolean").fillna(False).astype(bool)
        else:
            frame[column] = pd.to_numeric(frame[column], errors="coerce").astype("float64")
    return frame.reset_index(drop=True)


def plan_event(
    request: PlanRequest,
    model: EventImpactModel,
    rates: pd.DataFrame | RateTable,
    geo: pd.DataFrame,
    risk_reference: pd.DataFrame | None = None,
    target_utilisation: float = DEFAULT_TARGET_UTILISATION,
) -> Plan:
    """The plan for `request` (see the module docstring).

    `model`: `EventImpactModel.from_summary(...)` of the event_impact_model output; `rates`:
    call_baseline_rates (or a RateTable of it); `geo`: dim_geo (geo_id, latitude_centroid,
    longitude_centroid); `risk_reference`: event_risk_scores (incident_count, p0..p3_count,
    avg_distance_km, has_alcohol), None to score the event on its own."""
    if not 0 < target_utilisation <= 1:
        raise PlanInputError(f"target utilisation must be in (0, 1], got {target_utilisation}")
    location = validate_request(request, model, geo)
    table = rates if isinstance(rates, RateTable) else RateTable.from_frame(rates)
    weekday = request.date.weekday()
    per_geo = table.by_hour(location.geo_ids, weekday)  # block groups x 24
    day_hourly = per_geo.sum(axis=0)
    day_baseline = float(day_hourly.sum())
    hours = list(range(request.start_hour, request.end_hour))

    day_expected = float(predict(model, request.features(), day_baseline))
    # The day's expected calls spread over its hours like historical event-days.
    weights = day_hourly * np.asarray(model.hourly_profile, dtype="float64")
    total_weight = float(weights.sum())
    hour_share = weights / total_weight if total_weight > 0 else np.zeros(HOURS)
    hourly_expected = day_expected * hour_share
    # All 24 hours: the model's prediction for the event-day, exactly.
    expected = day_expected if len(hours) == HOURS else float(hourly_expected[hours].sum())
    baseline = float(day_hourly[hours].sum())
    uplift = expected - baseline
    uplift_pct = None if baseline <= 0 else 100.0 * uplift / baseline

    priority_shares, priority_source = _mix(model.mixes, "priority_shares", request.tier)
    category_shares, category_source = _mix(model.mixes, "category_shares", request.tier)
    priority_mix = {label: expected * priority_shares.get(label, 0.0) for label in PRIORITY_LABELS}
    category_mix = {c: expected * s for c, s in category_shares.items()}

    # Baseline-weighted mean distance of the block groups within the radius, over the hours.
    distances = np.asarray(location.distances_km, dtype="float64")
    geo_weight = per_geo[:, hours].sum(axis=1)
    if geo_weight.sum() > 0:
        avg_distance = float(np.average(distances, weights=geo_weight))
        distance_basis = "baseline-weighted mean distance of those block groups' internal points"
    else:
        avg_distance = float(distances.mean())
        distance_basis = "mean distance of those block groups' internal points (no baseline)"

    historical = _risk_reference(risk_reference)
    planned = pd.DataFrame(
        [
            {
                "incident_count": expected,
                **{f"p{p}_count": priority_mix[f"P{p}"] for p in range(4)},
                "avg_distance_km": avg_distance,
                "has_alcohol": bool(request.has_alcohol),
            }
        ]
    )
    scored = formula_a(pd.concat([historical, planned], ignore_index=True), model.link_radius_km)
    risk = scored.iloc[-1]

    n_hours = len(hours)
    calls_per_hour = expected / n_hours
    window = hourly_expected[hours]
    peak_offset = int(np.argmax(window))
    peak_hour, peak_calls = hours[peak_offset], float(window[peak_offset])
    unit_time = model.unit_time_on_scene_s
    unit_hours = None if unit_time is None else float(unit_time) / 3600.0

    assumptions = _assumptions(
        request,
        model,
        location,
        n_historical=len(historical),
        priority_source=priority_source,
        category_source=category_source,
        distance_basis=distance_basis,
        target_utilisation=target_utilisation,
    )
    return Plan(
        request=request,
        weekday=WEEKDAYS[weekday],
        latitude=location.latitude,
        longitude=location.longitude,
        block_groups=location.geo_ids,
        link_radius_km=model.link_radius_km,
        hours=n_hours,
        baseline_calls=baseline,
        expected_calls=expected,
        uplift_calls=uplift,
        uplift_pct=uplift_pct,
        day_baseline_calls=day_baseline,
        day_expected_calls=day_expected,
        hourly_baseline={h: float(day_hourly[h]) for h in hours},
        hourly_expected={h: float(hourly_expected[h]) for h in hours},
        priority_mix=priority_mix,
        category_mix=category_mix,
        avg_distance_km=avg_distance,
        incident_score=float(risk["incident_score"]),
        priority_score=float(risk["priority_score"]),
        distance_score=float(risk["distance_score"]),
        risk_score=float(risk["risk_score"]),
        risk_category=str(risk["risk_category"]),
        calls_per_hour=calls_per_hour,
        peak_hour=peak_hour,
        peak_hour_calls=peak_calls,
        unit_time_on_scene_s=None if unit_time is None else float(unit_time),
        target_utilisation=target_utilisation,
        units_suggested=_units(calls_per_hour, unit_hours, target_utilisation),
        units_at_peak_hour=_units(peak_calls, unit_hours, target_utilisation),
        model=model.kind,
        is_fallback=model.is_fallback,
        assumptions=assumptions,
    )


def _model_statement(model: EventImpactModel) -> str:
    trained = f", trained {model.trained_at}" if model.trained_at else ""
    if model.kind == NAIVE:
        return (
            "Expected calls: the naive model (the day's baseline plus the mean uplift of "
            f"historical event-days of the tier), because {model.fallback_reason or 'it was chosen'} "
            f"(event_impact_model{trained})."
        )
    bt = model.backtest or {}
    if bt.get("mae") is not None:
        skill = bt.get("skill_vs_naive")
        quality = (
            f"chronological backtest on {bt.get('rows')} later event-days: MAE "
            f"{bt['mae']:.2f} calls vs {bt['naive_mae']:.2f} for the naive model"
            + ("" if skill is None else f" (skill {skill:+.0%})")
        )
    else:
        quality = "no backtest available"
    return (
        "Expected calls: Poisson log-linear model with offset log(baseline) fitted on "
        f"{model.training_rows:,} historical event-days ({model.history_start.isoformat()}.."
        f"{model.history_end.isoformat()}); {quality} (event_impact_model{trained})."
    )


def _assumptions(
    request: PlanRequest,
    model: EventImpactModel,
    location: Location,
    n_historical: int,
    priority_source: str,
    category_source: str,
    distance_basis: str,
    target_utilisation: float,
) -> tuple[str, ...]:
    out = [
        f"Location: {location.described_as}; the {len(location.geo_ids)} block group(s) whose "
        f"internal point lies within {model.link_radius_km:g} km of it count, as for the event–"
        "call links (PipelineSettings.link_radius_km; APD locates calls by block group only).",
        "Baseline: mean calls per comparable day (same block groups, weekday and hour, days "
        "without an event there) over the history "
        f"{model.history_start.isoformat()}..{model.history_end.isoformat()} "
        "(call_baseline_rates); no trend or season is applied.",
        _model_statement(model),
        "Hours: permits are day-level, so the model predicts whole event-days; the day's "
        "expected calls are spread over its hours by the baseline's hourly pattern times the "
        "historical event-day hourly profile (event_impact_model hourly_profile). The event's "
        "hours do not change the day total.",
        f"Priority mix: shares of {priority_source} (fact_event_incidents).",
        f"Category mix: shares of {category_source} (fact_event_incidents).",
        "Risk: Formula A (event_risk_scores) with the incident and priority maxima taken over "
        f"the {n_historical:,} scored historical events plus this one; incident count = the "
        "expected calls during the event's hours, priority counts = the priority mix, average "
        f"distance = the {distance_basis}.",
    ]
    if model.unit_time_on_scene_s is None:
        out.append(
            "Staffing: not computed: no call in the history has a unit time on scene "
            f"({model.unit_time_on_scene_source})."
        )
    else:
        out.append(
            "Staffing: units = ceil(expected calls per hour × mean unit time on scene "
            f"({model.unit_time_on_scene_s / 60:.0f} min, {model.unit_time_on_scene_source}, "
            "all units together) ÷ target utilisation "
            f"{target_utilisation:.0%} (planner default, "
            f"DEFAULT_TARGET_UTILISATION = {DEFAULT_TARGET_UTILISATION})); also given for the "
            "peak hour."
        )
    dropped = model.dropped_features or {}
    if request.expected_attendance is not None and "log1p_attendance" in dropped:
        out.append(
            "Expected attendance was not used: no historical event has one (ACE does not "
            "deliver it), so its effect cannot be estimated."
        )
    used = [n for n in model.feature_names if n.startswith(("has_", "tier_", "log1p", "attend"))]
    if model.kind != NAIVE and used:
        out.append(
            "Event attributes in the model: "
            + ", ".join(used)
            + f" (tier relative to tier {model.reference_tier})."
        )
    return tuple(out)
