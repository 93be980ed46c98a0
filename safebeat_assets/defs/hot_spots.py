"""Hot-spot stage: Getis-Ord Gi* on block-group call counts (asset `call_hot_spots`).

The maps are computed by `analytics.hot_spots` (method, weights, islands, windows and thresholds
are documented there) from every month of the lake's `hot_spot_call_counts` (calls per block
group, category, hour band and weekday/weekend: the same counts per map as every call gives) and
the block-group polygons of `dim_geo`, and written to the warehouse for the dashboard. The
months arrive as one Arrow table and are summed per key in Arrow: at ten times Austin they are
six million rows, which pandas would turn into Python strings only to add them up. Like the
models, the asset also depends on `fact_911_calls`, so the blocking checks on the warehouse
facts gate it; automation rebuilds it once per change of what it reads (`automation.on_change`,
the default for every asset).
"""

import dagster as dg
import pandas as pd
import pyarrow as pa

from ..analytics.hot_spots import (
    ALL_CALLS,
    ALL_DAY,
    HOT_SPOT_CLASSES,
    HOT_SPOT_COUNT_COLUMNS,
    MIN_CALLS,
    TIME_WINDOWS,
    Z_THRESHOLDS,
    hot_spots_from_month_table,
    top_hot_spots,
)
from ..asset_names import FACT_CALLS
from .conventions import ANALYTICS_OWNERS, columns_in, json_metadata, versioned, warehouse_stage

HOT_SPOTS = warehouse_stage("risk", ANALYTICS_OWNERS)


def _markdown(top: pd.DataFrame) -> str:
    """The top hot spots as a table, GEOIDs as text and p-values in scientific notation."""
    shown = top.assign(
        gi_z=top["gi_z"].map("{:.3f}".format), p_value=top["p_value"].map("{:.2e}".format)
    )
    return shown.to_markdown(index=False, disable_numparse=True)


def _count_of(classes: dict[str, int], prefix: str) -> int:
    return sum(count for label, count in classes.items() if label.startswith(prefix))


@HOT_SPOTS.asset(
    code_version="2",
    kinds={"pysal"},
    deps=[FACT_CALLS],
    ins={
        "hot_spot_call_counts": columns_in(*HOT_SPOT_COUNT_COLUMNS, as_arrow_table=True),
        "dim_geo": columns_in("geo_id", "boundary_wkt", "latitude_centroid", "longitude_centroid"),
    },
    description=(
        "Getis-Ord Gi* hot and cold spots of calls per block group: binary Queen contiguity "
        "(islands linked to their nearest block group), z-score, two-sided normal p-value and "
        "class at "
        + " / ".join(f"{level} % (|z| ≥ {z:.3f})" for level, z in Z_THRESHOLDS)
        + f". One map per time window ({', '.join(TIME_WINDOWS)}) and call category "
        f"('{ALL_CALLS}' plus each final_problem_category) with at least {MIN_CALLS} located "
        "calls; every block group of dim_geo is in every map."
    ),
)
def call_hot_spots(hot_spot_call_counts: pa.Table, dim_geo: pd.DataFrame) -> dg.Output:
    result = hot_spots_from_month_table(hot_spot_call_counts, dim_geo)
    stats = result.stats
    overall = stats["overall_classes"]
    top = top_hot_spots(result.table)
    return versioned(
        result.table,
        {
            "maps_computed": int(stats["maps_computed"]),
            "maps_skipped": int(stats["maps_skipped"]),
            "skipped_maps": json_metadata(stats["skipped"]),
            "min_calls_per_map": int(stats["min_calls"]),
            "block_groups": int(stats["block_groups"]),
            "islands": int(len(stats["islands"])),
            "island_geo_ids": json_metadata(stats["islands"]),
            "block_groups_without_boundary": int(len(stats["block_groups_without_boundary"])),
            "weight_components": int(stats["components"]),
            "mean_neighbours": dg.MetadataValue.float(round(float(stats["mean_neighbours"]), 2)),
            "calls_mapped": int(stats["calls_mapped"]),
            "calls_without_block_group": int(stats["calls_without_block_group"]),
            "calls_without_hour_or_weekday": int(stats["calls_without_hour_or_weekday"]),
            "overall_hot_spots": _count_of(overall, "Hot spot"),
            "overall_cold_spots": _count_of(overall, "Cold spot"),
            "overall_classes": json_metadata({label: overall[label] for label in HOT_SPOT_CLASSES}),
            "top_hot_spots": dg.MetadataValue.md(
                f"{ALL_DAY}, {ALL_CALLS}:\n\n" + _markdown(top) if len(top) else "_none_"
            ),
        },
    )
