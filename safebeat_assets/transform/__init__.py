"""Pure pandas transformations: call cleaning, geo enrichment, events, linkage, warehouse
projections. No dagster here; every function takes and returns DataFrames."""

from safebeat_assets.transform.calls import CleanedCalls, clean_calls
from safebeat_assets.transform.events import CleanedEvents, clean_events
from safebeat_assets.transform.facts import to_dim_event, to_fact_calls
from safebeat_assets.transform.geo import (
    EnrichedCalls,
    build_geo_table,
    enrich_calls,
    geo_table_checks,
)
from safebeat_assets.transform.linkage import haversine_km, link_calls_to_events

__all__ = [
    "CleanedCalls",
    "CleanedEvents",
    "EnrichedCalls",
    "build_geo_table",
    "clean_calls",
    "clean_events",
    "enrich_calls",
    "geo_table_checks",
    "haversine_km",
    "link_calls_to_events",
    "to_dim_event",
    "to_fact_calls",
]
