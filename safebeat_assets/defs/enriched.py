"""Enriched stage: calls joined to block-group internal points; the match rate is published."""

import dagster as dg
import pandas as pd

from ..resources import PipelineSettings
from ..settings import CLEANED_BUCKET
from ..transform.geo import ENRICHMENT_COLUMNS, build_geo_table, enrich_calls
from ..transform.months import month_key_of
from ..transform.validation import null_counts
from .conventions import DATA_OWNERS, json_metadata, lake_stage
from .partitions import monthly_output

ENRICHED = lake_stage("enriched", CLEANED_BUCKET, DATA_OWNERS, kinds={"pandas"})


def build_enriched_calls(monthly: dg.PartitionsDefinition) -> dg.AssetsDefinition:
    @ENRICHED.asset(
        code_version="2",
        monthly=monthly,
        description=(
            "Cleaned calls with the block group's internal point (latitude/longitude), land "
            "area and county. The block group is the delivered Geo ID or, for a city whose feed "
            "gives coordinates, the block group the point falls in (a vectorised STRtree "
            "point-in-polygon join against the block-group polygons, points outside the city's "
            "validity box or every polygon counted). Unmatched calls are kept (dim_geo_id NULL) "
            "and counted; the geo match rate is recorded on every materialization."
        ),
    )
    def enriched_911_calls(
        context: dg.AssetExecutionContext,
        cleaned_911_calls: pd.DataFrame,
        raw_block_groups: pd.DataFrame,
        pipeline: PipelineSettings,
    ):
        result = enrich_calls(
            cleaned_911_calls, build_geo_table(raw_block_groups), pipeline.validity_box()
        )
        stats = result.stats
        located = {k: int(v) for k, v in stats.items() if k.startswith("location_")}
        return monthly_output(
            context,
            result.calls,
            month_key_of(result.calls["response_date"]),
            {
                "geo_match_rate": dg.MetadataValue.float(round(float(stats["geo_match_rate"]), 4)),
                "geo_matched": int(stats["geo_matched"]),
                "geo_unmatched": int(stats["geo_unmatched"]),
                "top_unmatched_geo_ids": json_metadata(stats.get("top_unmatched_geo_ids", [])),
                **({"calls_located_by_coordinates": json_metadata(located)} if located else {}),
                "null_counts": json_metadata(null_counts(result.calls[list(ENRICHMENT_COLUMNS)])),
            },
        )

    return enriched_911_calls
