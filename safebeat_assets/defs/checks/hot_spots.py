"""Checks on `call_hot_spots`, in SQL on the stored table (what the dashboard reads):

- every map (time window, category) holds every block group of dim_geo exactly once: a blocking
  ERROR check, like the other warehouse integrity checks;
- the overall map (All day, All calls) exists: a WARN check, since too few located calls skip
  it by design (the asset's metadata lists the skipped maps), but the dashboard opens on it.

The table's audits already refuse a load with a non-finite z-score, a p-value outside [0, 1] or
a class that does not match its z-score and confidence.
"""

import dagster as dg

from ...analytics.hot_spots import ALL_CALLS, ALL_DAY, MIN_CALLS
from ...asset_names import CALL_HOT_SPOTS, DIM_GEO
from ...retries import TRANSIENT_RETRY, fail_fast_unless_transient_fn
from ...storage.warehouse_io import WarehouseResource

COVERAGE_QUERY = (
    "WITH maps AS (SELECT time_window, category, count(*) AS n, count(DISTINCT geo_id) AS d "
    "FROM {t} GROUP BY time_window, category), "
    "geo AS (SELECT count(*) AS n FROM {geo}) "
    "SELECT (SELECT count(*) FROM maps), "
    "(SELECT count(*) FROM maps, geo WHERE maps.n <> geo.n OR maps.d <> geo.n), "
    "(SELECT n FROM geo), "
    "(SELECT count(*) FROM {t} h WHERE NOT EXISTS "
    "(SELECT 1 FROM {geo} g WHERE g.geo_id = h.geo_id))"
)
OVERALL_QUERY = (
    "SELECT count(*), count(*) FILTER (WHERE confidence > 0) FROM {t} "
    "WHERE time_window = %(window)s AND category = %(category)s"
)


@dg.asset_check(
    asset=CALL_HOT_SPOTS,
    blocking=True,
    retry_policy=TRANSIENT_RETRY,
    description=(
        "Every hot-spot map (time window, category) holds each block group of dim_geo exactly "
        "once, and no other geo_id."
    ),
)
@fail_fast_unless_transient_fn
def every_hot_spot_map_covers_every_block_group(
    warehouse: WarehouseResource,
) -> dg.AssetCheckResult:
    maps, incomplete, block_groups, unknown = warehouse.client().fetch_one(
        COVERAGE_QUERY, t=CALL_HOT_SPOTS, geo=DIM_GEO
    )
    return dg.AssetCheckResult(
        passed=incomplete == 0 and unknown == 0,
        severity=dg.AssetCheckSeverity.ERROR,
        metadata={
            "maps": int(maps),
            "maps_not_covering_dim_geo_once": int(incomplete),
            "block_groups_in_dim_geo": int(block_groups),
            "rows_with_geo_id_not_in_dim_geo": int(unknown),
        },
    )


@dg.asset_check(
    asset=CALL_HOT_SPOTS,
    blocking=False,
    retry_policy=TRANSIENT_RETRY,
    description=(
        f"The overall map ({ALL_DAY}, {ALL_CALLS}) was computed: it is skipped only when fewer "
        f"than {MIN_CALLS} calls are located in a block group of dim_geo."
    ),
)
@fail_fast_unless_transient_fn
def overall_hot_spot_map_computed(warehouse: WarehouseResource) -> dg.AssetCheckResult:
    rows, significant = warehouse.client().fetch_one(
        OVERALL_QUERY, params={"window": ALL_DAY, "category": ALL_CALLS}, t=CALL_HOT_SPOTS
    )
    return dg.AssetCheckResult(
        passed=rows > 0,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={
            "block_groups_mapped": int(rows),
            "significant_block_groups": int(significant),
            "min_calls_per_map": MIN_CALLS,
        },
    )


HOT_SPOT_CHECKS = [every_hot_spot_map_covers_every_block_group, overall_hot_spot_map_computed]
