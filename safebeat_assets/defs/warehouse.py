"""Warehouse stage: dimensions, the call fact and event–call links, written to PostgreSQL."""

import dagster as dg
import pandas as pd

from ..asset_names import DIM_EVENT, DIM_GEO, FACT_CALLS
from ..domain import DEFAULT_LINK_RADIUS_KM
from ..resources import PipelineSettings
from ..storage.warehouse_io import WarehouseResource
from ..transform.facts import FACT_SOURCE_COLUMNS, to_dim_event, to_fact_calls
from ..transform.geo import build_geo_table
from ..transform.linkage import LINK_CALL_COLUMNS, link_calls_to_events
from ..transform.months import month_key_of
from .checks import CallTotals, alert_check_results
from .checks.alert_rules import events_source_metadata, rate
from .conventions import DATA_OWNERS, columns_in, versioned, warehouse_stage
from .partitions import monthly_output

WAREHOUSE = warehouse_stage("warehouse", DATA_OWNERS)


@WAREHOUSE.asset(
    code_version="1",
    description=(
        "Geography dimension: one row per census block group (GEOID = APD Geo ID) with its "
        "Census internal point, land and water area and boundary (EPSG:4326 WKT)."
    ),
)
def dim_geo(raw_block_groups: pd.DataFrame) -> dg.Output[pd.DataFrame]:
    table = build_geo_table(raw_block_groups)
    by_county = table.groupby("county_name").size().to_dict()
    return versioned(table, {"block_groups_by_county": {k: int(v) for k, v in by_county.items()}})


@WAREHOUSE.asset(
    code_version="2",
    description=(
        "Event dimension: one row per ACE permit (event_id = FOLDERRSN), all permits kept; "
        "empty, and said so in the metadata, for a city without an events source."
    ),
)
def dim_event(cleaned_events: pd.DataFrame, pipeline: PipelineSettings) -> dg.Output[pd.DataFrame]:
    table = to_dim_event(cleaned_events)
    return versioned(
        table,
        {
            "events_with_location": int(table["has_valid_location"].sum()),
            "events_with_alcohol": int(table["has_alcohol"].sum()),
            **events_source_metadata(pipeline),
        },
    )


def build_call_facts(monthly: dg.PartitionsDefinition) -> list[dg.AssetsDefinition]:
    """The call fact and the event–call links, partitioned by `monthly`."""

    @WAREHOUSE.asset(
        code_version="1",
        monthly=monthly,
        # Only the fact's columns are read from the lake (about half of enriched_911_calls).
        ins={"enriched_911_calls": columns_in(*FACT_SOURCE_COLUMNS)},
        deps=[DIM_GEO],
        description=(
            "Call fact: one row per dispatched 911 call keyed on (incident_number, "
            "response_datetime), with a NULL geo_id foreign key when the Geo ID is not in "
            "dim_geo."
        ),
    )
    def fact_911_calls(
        context: dg.AssetExecutionContext,
        enriched_911_calls: pd.DataFrame,
        pipeline: PipelineSettings,
        warehouse: WarehouseResource,
    ):
        fact = to_fact_calls(enriched_911_calls)
        matched = int(fact["geo_id"].notna().sum())
        window, client = context.partition_time_window, warehouse.client()
        other_calls, other_matched = (0, 0)
        if client.has_table(FACT_CALLS):  # rows of months outside this run stay as they are
            other_calls, other_matched = client.fetch_one(
                "SELECT count(*), count(geo_id) FROM {fact} "
                "WHERE response_date < %(start)s OR response_date >= %(end)s",
                params={"start": window.start.date(), "end": window.end.date()},
                fact=FACT_CALLS,
            )
        totals = CallTotals(calls=len(fact) + other_calls, matched=matched + other_matched)
        first, last = fact["response_date"].min(), fact["response_date"].max()
        yield monthly_output(
            context,
            fact,
            month_key_of(fact["response_date"]),
            metadata={
                "calls_in_warehouse": totals.calls,
                "geo_match_rate": dg.MetadataValue.float(round(rate(matched, len(fact)), 4)),
                "calls_with_null_geo_fk": len(fact) - matched,
                "first_response_date": str(first.date()) if len(fact) else "",
                "last_response_date": str(last.date()) if len(fact) else "",
            },
        )
        yield from alert_check_results(FACT_CALLS, totals, pipeline)

    @WAREHOUSE.asset(
        code_version="2",
        monthly=monthly,
        ins={"enriched_911_calls": columns_in(*LINK_CALL_COLUMNS)},
        deps=[FACT_CALLS, DIM_EVENT],
        description=(
            "Event–call links: a call links to a permitted event when its block group's internal "
            "point lies within PipelineSettings.link_radius_km (default "
            f"{DEFAULT_LINK_RADIUS_KM:g} km) of the event point and its local date falls within the "
            "event's dates, end date included. Distances are coarse (block-group level). No "
            "links, said so in the metadata, for a city without an events source."
        ),
    )
    def fact_event_incidents(
        context: dg.AssetExecutionContext,
        enriched_911_calls: pd.DataFrame,
        cleaned_events: pd.DataFrame,
        pipeline: PipelineSettings,
    ):
        links = link_calls_to_events(
            enriched_911_calls, cleaned_events, radius_km=pipeline.link_radius_km
        )
        calls_linked = links[["incident_number", "response_datetime"]].drop_duplicates()
        return monthly_output(
            context,
            links,
            month_key_of(links["call_date"]),
            metadata={
                "radius_km": dg.MetadataValue.float(pipeline.link_radius_km),
                "events_linked": int(links["event_id"].nunique()),
                "calls_linked": len(calls_linked),
                **events_source_metadata(pipeline),
            },
        )

    return [fact_911_calls, fact_event_incidents]
