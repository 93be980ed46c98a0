"""Event risk (Formula A) and the zone risk table (KMeans tertiles).

Formula A, per event with at least one linked call:
    incident_score = 100 · count / max count
    priority_score = 100 · (4·#P0 + 3·#P1 + 2·#P2 + 1·#P3) / max points
    distance_score = clip(100 · (1 − mean distance km / radius km), 0, 100)
    risk = min(100, 0.40·incident + 0.35·priority + 0.15·distance + 10·has_alcohol)
    HIGH ≥ 70, MEDIUM ≥ 40, else LOW.
The two other formulas of the pipeline we replace (its production and full DAGs) are deliberately
not reproduced: one definition of event risk.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

from ..domain import DEFAULT_LINK_RADIUS_KM

EVENT_RISK_COLUMNS = [
    "event_id",
    "event_name",
    "incident_count",
    "avg_priority",
    "min_priority",
    "avg_response_time",
    "avg_distance_km",
    "p0_count",
    "p1_count",
    "p2_count",
    "p3_count",
    "incident_score",
    "priority_score",
    "distance_score",
    "risk_score",
    "risk_category",
    "has_alcohol",
    "has_amplified_sound",
    "top_final_category",
]
ZONE_RISK_COLUMNS = [
    "geo_id",
    "cluster_id",
    "risk_zone",
    "location_risk",
    "incident_count",
    "avg_priority",
    "avg_response_time",
    "latitude",
    "longitude",
]
RISK_CATEGORIES = ("HIGH", "MEDIUM", "LOW")

WEIGHT_INCIDENTS = 0.40
WEIGHT_PRIORITY = 0.35
WEIGHT_DISTANCE = 0.15
ALCOHOL_BONUS = 10.0
MAX_RISK = 100.0
HIGH_THRESHOLD = 70.0
MEDIUM_THRESHOLD = 40.0
# Points per call by priority: P0 (most urgent) weighs 4, P3 weighs 1, unknown 0.
PRIORITY_POINTS = {0: 4, 1: 3, 2: 2, 3: 1}
# What Formula A reads per event, and what it adds.
FORMULA_A_INPUTS = (
    "incident_count",
    "p0_count",
    "p1_count",
    "p2_count",
    "p3_count",
    "avg_distance_km",
    "has_alcohol",
)
FORMULA_A_OUTPUTS = (
    "incident_score",
    "priority_score",
    "distance_score",
    "risk_score",
    "risk_category",
)


def risk_category(score: pd.Series) -> pd.Series:
    high, medium, low = RISK_CATEGORIES
    labels = np.where(
        score >= HIGH_THRESHOLD, high, np.where(score >= MEDIUM_THRESHOLD, medium, low)
    )
    return pd.Series(labels, index=score.index, dtype="object")


def _share_of_max(values: pd.Series) -> pd.Series:
    """100 · value / max; all zeros (not a division by zero) when the max is 0."""
    top = values.max()
    if not top or pd.isna(top):
        return pd.Series(0.0, index=values.index)
    return 100.0 * values.astype("float64") / float(top)


def empty_event_risk_frame() -> pd.DataFrame:
    dtypes = {
        "event_id": "int64",
        "event_name": "object",
        "incident_count": "int64",
        "min_priority": "Int64",
        "p0_count": "int64",
        "p1_count": "int64",
        "p2_count": "int64",
        "p3_count": "int64",
        "risk_category": "object",
        "has_alcohol": "bool",
        "has_amplified_sound": "bool",
        "top_final_category": "object",
    }
    return pd.DataFrame({c: pd.Series(dtype=dtypes.get(c, "float64")) for c in EVENT_RISK_COLUMNS})


def _top_category(links: pd.DataFrame) -> pd.Series:
    """Most frequent final category per event; ties go to the alphabetically first."""
    cats = links[["event_id"]].assign(
        category=links["final_problem_category"].astype("object").fillna("Unknown")
    )
    counts = cats.groupby(["event_id", "category"]).size().rename("n").reset_index()
    counts = counts.sort_values(["event_id", "n", "category"], ascending=[True, False, True])
    return counts.drop_duplicates("event_id").set_index("event_id")["category"]


def _event_flags(links: pd.DataFrame, events: pd.DataFrame | None) -> pd.DataFrame:
    """Name / alcohol / amplified sound per event: dim_event first, the link rows as fallback."""
    index = pd.Index(np.sort(links["event_id"].unique()), name="event_id")
    g = links.groupby("event_id")
    name = g["event_name"].first() if "event_name" in links else pd.Series(None, index=index)
    alcohol = pd.Series(False, index=index)
    if "event_has_alcohol" in links:
        alcohol = (
            links["event_has_alcohol"]
            .astype("boolean")
            .fillna(False)
            .groupby(links["event_id"])
            .any()
        )
    flags = pd.DataFrame(
        {"event_name": name, "has_alcohol": alcohol, "has_amplified_sound": pd.NA}, index=index
    ).astype({"event_name": "object", "has_alcohol": "boolean", "has_amplified_sound": "boolean"})
    if events is not None and not events.empty:
        dim = events.drop_duplicates("event_id").set_index("event_id").reindex(index)
        for col in flags.columns:
            if col in dim:
                flags[col] = dim[col].astype(flags[col].dtype).fillna(flags[col])
    flags["has_alcohol"] = flags["has_alcohol"].fillna(False).astype(bool)
    flags["has_amplified_sound"] = flags["has_amplified_sound"].fillna(False).astype(bool)
    return flags


def formula_a(aggregates: pd.DataFrame, radius_km: float = DEFAULT_LINK_RADIUS_KM) -> pd.DataFrame:
    """Formula A over per-event aggregates: the `FORMULA_A_INPUTS` columns, one row per event
    (counts may be fractional, e.g. a planned event's expected calls). Returns the
    `FORMULA_A_OUTPUTS` columns on the same index.

    The incident and priority scores are relative to the maxima over *these* rows, so a
    planned event is scored like the pipeline would score it: together with every scored
    historical event (`analytics.planner`)."""
    points = sum(pts * aggregates[f"p{lvl}_count"] for lvl, pts in PRIORITY_POINTS.items())
    scores = pd.DataFrame(index=aggregates.index)
    scores["incident_score"] = _share_of_max(aggregates["incident_count"])
    scores["priority_score"] = _share_of_max(points)
    scores["distance_score"] = (
        (100.0 * (1.0 - aggregates["avg_distance_km"] / radius_km)).clip(0.0, 100.0).fillna(0.0)
    )
    raw = (
        WEIGHT_INCIDENTS * scores["incident_score"]
        + WEIGHT_PRIORITY * scores["priority_score"]
        + WEIGHT_DISTANCE * scores["distance_score"]
        + ALCOHOL_BONUS * aggregates["has_alcohol"].astype("float64")
    )
    scores["risk_score"] = raw.clip(upper=MAX_RISK).astype("float64")
    scores["risk_category"] = risk_category(scores["risk_score"])
    return scores[list(FORMULA_A_OUTPUTS)]


def score_event_risk(
    links: pd.DataFrame, events: pd.DataFrame | None, radius_km: float = DEFAULT_LINK_RADIUS_KM
) -> pd.DataFrame:
    """Contract event_risk_scores: one row per event with ≥ 1 linked call, riskiest first."""
    if links is None or links.empty:
        return empty_event_risk_frame()
    links = links.assign(
        event_id=links["event_id"].astype("int64"),
        _priority=pd.to_numeric(links["priority_numeric"], errors="coerce").astype("float64"),
        _response=pd.to_numeric(links["response_time"], errors="coerce").astype("float64"),
        _distance=pd.to_numeric(links["distance_km"], errors="coerce").astype("float64"),
    )
    links["_priority"] = links["_priority"].where(links["_priority"].isin(list(PRIORITY_POINTS)))
    for level in PRIORITY_POINTS:
        links[f"p{level}_count"] = (links["_priority"] == level).astype("int64")
    g = links.groupby("event_id", sort=True)
    per_event = pd.DataFrame(
        {
            "incident_count": g.size().astype("int64"),
            "avg_priority": g["_priority"].mean(),
            "min_priority": g["_priority"].min().astype("Int64"),
            "avg_response_time": g["_response"].mean(),
            "avg_distance_km": g["_distance"].mean(),
            **{f"p{lvl}_count": g[f"p{lvl}_count"].sum() for lvl in PRIORITY_POINTS},
        }
    )
    per_event = per_event.join(_event_flags(links, events))
    per_event["top_final_category"] = _top_category(links)
    per_event = per_event.join(formula_a(per_event, radius_km))

    out = per_event.reset_index().sort_values(
        ["risk_score", "event_id"], ascending=[False, True], kind="mergesort"
    )
    return out[EVENT_RISK_COLUMNS].reset_index(drop=True)


def zone_risk_table(zones: pd.DataFrame) -> pd.DataFrame:
    """Contract zone_risk_scores: the KMeans tertile zones are the single zone-risk definition."""
    return zones[ZONE_RISK_COLUMNS].reset_index(drop=True).copy()


def risk_distribution(scores: pd.DataFrame | pd.Series | Iterable[str] | None) -> dict:
    """{"HIGH": n, "MEDIUM": n, "LOW": n} from an event_risk_scores frame or its categories."""
    if scores is None:
        return dict.fromkeys(RISK_CATEGORIES, 0)
    if isinstance(scores, pd.DataFrame):
        categories = scores["risk_category"] if "risk_category" in scores else pd.Series([])
    else:
        categories = pd.Series(list(scores), dtype="object")
    counts = categories.value_counts()
    return {c: int(counts.get(c, 0)) for c in RISK_CATEGORIES}
