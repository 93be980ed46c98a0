"""Enriched stage: calls joined to block-group internal points; the match rate is published."""

import dagster as dg
import pandas as pd

from ..transform.geo import build_geo_table, enrich_calls
from .common import DATA_OWNERS, LAKE_IO, json_metadata, lake_metadata
from .partitions import MONTHLY, SINGLE_RUN, month_key_of, monthly_output


@dg.asset(
    group_name="enriched",
    kinds={"pandas", "parquet"},
    owners=DATA_OWNERS,
    code_version="1",
    io_manager_key=LAKE_IO,
    metadata=lake_metadata("cleaned-data"),
    partitions_def=MONTHLY,
    backfill_policy=SINGLE_RUN,
    description=(
        "Cleaned calls with the block group's internal point (latitude/longitude), land area "
        "and county. Unmatched Geo IDs are kept (dim_geo_id NULL) and counted; the geo match "
        "rate is recorded on every materialization."
    ),
)
def enriched_911_calls(
    context: dg.AssetExecutionContext,
    cleaned_911_calls: pd.DataFrame,
    raw_block_groups: pd.DataFrame,
):
    result = enrich_calls(cleaned_911_calls, build_geo_table(raw_block_groups))
    stats = result.stats
    return monthly_output(
        context,
        result.calls,
        month_key_of(result.calls["response_date"]),
        {
            "geo_match_rate": dg.MetadataValue.float(round(float(stats["geo_match_rate"]), 4)),
            "geo_matched": int(stats["geo_matched"]),
            "geo_unmatched": int(stats["geo_unmatched"]),
            "top_unmatched_geo_ids": json_metadata(stats.get("top_unmatched_geo_ids", [])),
        },
    )
