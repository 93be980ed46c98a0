"""Risk stage: Formula A event risk and KMeans-tertile zone risk, written to the warehouse."""

import dagster as dg
import pandas as pd

from ..analytics.risk import (
    ALCOHOL_BONUS,
    HIGH_THRESHOLD,
    MEDIUM_THRESHOLD,
    WEIGHT_DISTANCE,
    WEIGHT_INCIDENTS,
    WEIGHT_PRIORITY,
    risk_distribution,
    score_event_risk,
    zone_risk_table,
)
from ..analytics.zones import ZONE_LABELS
from ..asset_names import EVENT_RISK_SCORES
from ..resources import PipelineSettings
from .checks import alert_check_results
from .checks.alert_rules import events_source_metadata
from .conventions import ANALYTICS_OWNERS, json_metadata, versioned, warehouse_stage

RISK = warehouse_stage("risk", ANALYTICS_OWNERS)


@RISK.asset(
    code_version="2",
    description=(
        f"Event risk (Formula A): {WEIGHT_INCIDENTS:.2f}·incident score + {WEIGHT_PRIORITY:.2f}·"
        f"priority score + {WEIGHT_DISTANCE:.2f}·distance score + {ALCOHOL_BONUS:g} if alcohol "
        f"is served, capped at 100; HIGH ≥ {HIGH_THRESHOLD:g}, MEDIUM ≥ {MEDIUM_THRESHOLD:g}, "
        "else LOW. One row per event with at least one linked call; none, said so in the "
        "metadata, for a city without an events source."
    ),
)
def event_risk_scores(
    fact_event_incidents: pd.DataFrame, dim_event: pd.DataFrame, pipeline: PipelineSettings
):
    scores = score_event_risk(fact_event_incidents, dim_event, radius_km=pipeline.link_radius_km)
    top = scores.nlargest(5, "risk_score")[["event_name", "risk_score", "risk_category"]]
    yield versioned(
        scores,
        {
            "risk_distribution": json_metadata(risk_distribution(scores)),
            "top_events": dg.MetadataValue.md(
                top.round(1).to_markdown(index=False) if len(top) else "_none_"
            ),
            **events_source_metadata(pipeline),
        },
    )
    yield from alert_check_results(EVENT_RISK_SCORES, scores, pipeline)


@RISK.asset(
    code_version="1",
    description=(
        "Zone risk per block group: the KMeans cluster it belongs to and that cluster's "
        f"tertile label ({' / '.join(ZONE_LABELS)}) — the single zone definition."
    ),
)
def zone_risk_scores(zone_clusters: pd.DataFrame) -> dg.Output[pd.DataFrame]:
    table = zone_risk_table(zone_clusters)
    counts = table["risk_zone"].value_counts().to_dict()
    return versioned(table, {"zone_counts": json_metadata(counts)})
