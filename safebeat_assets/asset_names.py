"""The name of every SafeBeat asset, declared once.

An asset's name is also the name of what stores it: its lake object (`<bucket>/<name>.parquet`
or `<bucket>/<name>/<month>.parquet`) or its warehouse table. Code that refers to an asset
other than by a parameter of the asset function that reads it imports the name from here.
"""

RAW_CALLS = "raw_911_calls"
RAW_EVENTS = "raw_events"
RAW_BLOCK_GROUPS = "raw_block_groups"

CLEANED_CALLS = "cleaned_911_calls"
QUARANTINED_CALLS = "quarantined_911_calls"
CLEANED_EVENTS = "cleaned_events"
ENRICHED_CALLS = "enriched_911_calls"

DIM_GEO = "dim_geo"
DIM_EVENT = "dim_event"
FACT_CALLS = "fact_911_calls"
FACT_EVENT_INCIDENTS = "fact_event_incidents"

# Per-month aggregates of the calls: what the models (and the hot-spot maps) are fitted on.
RULE_TRANSACTIONS = "rule_transactions"
CALLS_BY_DAY = "calls_by_day"
BLOCK_GROUP_CALL_SUMS = "block_group_call_sums"
HOT_SPOT_CALL_COUNTS = "hot_spot_call_counts"
CALLS_BY_BLOCK_GROUP_HOUR = "calls_by_block_group_hour"
BASELINE_CALL_COUNTS = "baseline_call_counts"
EVENT_DAY_CALL_CELLS = "event_day_call_cells"
CALLS_BY_PRIORITY_CATEGORY = "calls_by_priority_category"
MODEL_AGGREGATES: tuple[str, ...] = (
    RULE_TRANSACTIONS,
    CALLS_BY_DAY,
    BLOCK_GROUP_CALL_SUMS,
    HOT_SPOT_CALL_COUNTS,
    CALLS_BY_BLOCK_GROUP_HOUR,
    BASELINE_CALL_COUNTS,
    EVENT_DAY_CALL_CELLS,
    CALLS_BY_PRIORITY_CATEGORY,
)

ASSOCIATION_RULES = "association_rules"
ZONE_CLUSTERS = "zone_clusters"
CALL_FORECAST = "call_forecast"
CALL_HOT_SPOTS = "call_hot_spots"
CALL_BASELINE_RATES = "call_baseline_rates"
EVENT_IMPACT_MODEL = "event_impact_model"

EVENT_RISK_SCORES = "event_risk_scores"
ZONE_RISK_SCORES = "zone_risk_scores"

DAILY_REPORT = "daily_report"

# The landing-zone source each raw asset reads (`<landing>/<source>/...`).
RAW_ASSET_BY_SOURCE: dict[str, str] = {
    "calls": RAW_CALLS,
    "events": RAW_EVENTS,
    "block_groups": RAW_BLOCK_GROUPS,
}
RAW_ASSETS: tuple[str, ...] = tuple(RAW_ASSET_BY_SOURCE.values())
