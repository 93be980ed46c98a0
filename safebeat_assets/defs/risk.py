"""Risk stage: Formula A event risk and KMeans-tertile zone risk, written to the warehouse."""

import dagster as dg
import pandas as pd

from ..analytics.risk import risk_distribution, score_event_risk, zone_risk_table
from .checks import alert_check_results, alert_check_specs
from .common import ANALYTICS_OWNERS, WAREHOUSE_IO, PipelineSettings, json_metadata, versioned

RISK_KINDS = {"pandas", "postgres"}


@dg.asset(
    check_specs=alert_check_specs("event_risk_scores"),
    group_name="risk",
    kinds=RISK_KINDS,
    owners=ANALYTICS_OWNERS,
    code_version="1",
    io_manager_key=WAREHOUSE_IO,
    description=(
        "Event risk (Formula A): 0.40·incident score + 0.35·priority score + 0.15·distance "
        "score + 10 if alcohol is served, capped at 100; HIGH ≥ 70, MEDIUM ≥ 40, else LOW. One "
        "row per event with at least one linked call."
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
        },
    )
    yield from alert_check_results("event_risk_scores", scores, pipeline)


@dg.asset(
    group_name="risk",
    kinds=RISK_KINDS,
    owners=ANALYTICS_OWNERS,
    code_version="1",
    io_manager_key=WAREHOUSE_IO,
    description=(
        "Zone risk per block group: the KMeans cluster it belongs to and that cluster's "
        "tertile label (HIGH_RISK / MEDIUM_RISK / LOW_RISK) — the single zone definition."
    ),
)
def zone_risk_scores(zone_clusters: pd.DataFrame) -> dg.Output[pd.DataFrame]:
    table = zone_risk_table(zone_clusters)
    counts = table["risk_zone"].value_counts().to_dict()
    return versioned(table, {"zone_counts": json_metadata(counts)})
