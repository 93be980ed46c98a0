"""Aggregates stage: per-month summaries of the calls, all the models read.

Each aggregate is monthly-partitioned like `enriched_911_calls` and stored in the lake, one
object per month; automation (`on_change`) rebuilds a month when its enriched calls (or, for the
rule transactions, its event links) changed, so a new day recounts one month and the models
then read a few small tables instead of every call. Each holds exactly what its model needs to
recompute its features (see the functions in `analytics`, and the tests proving the models equal
their all-calls fit):

- `rule_transactions`: the weighted transaction table of the association rules;
- `calls_by_day`: calls per local date, for the forecast;
- `block_group_call_sums`: per block group, call count and sums/counts of priority, response
  time and hour, for the zones;
- `hot_spot_call_counts`: calls per block group, category, hour band and weekday/weekend, for
  the hot-spot maps;
- `calls_by_block_group_hour`: calls per block group, local date, hour, priority and category,
  with the sums of unit time on scene and units arrived, for the baseline call rates and the
  event impact model.
"""

import dagster as dg
import pandas as pd

from ..analytics.event_impact import MEAN_MEASURES, call_cells
from ..analytics.forecast import calls_per_day
from ..analytics.hot_spots import CALL_COLUMNS, HOUR_BANDS, hot_spot_counts
from ..analytics.rules import rule_transactions
from ..analytics.zones import block_group_sums
from ..asset_names import RULE_TRANSACTIONS
from ..settings import CLEANED_BUCKET
from ..transform.months import month_key_of
from .conventions import ANALYTICS_OWNERS, columns_in, lake_stage
from .partitions import monthly_output

AGGREGATES = lake_stage("aggregates", CLEANED_BUCKET, ANALYTICS_OWNERS, kinds={"pandas"})


def _monthly(context: dg.AssetExecutionContext, table: pd.DataFrame, metadata: dict) -> dg.Output:
    """The aggregate (its `by` column holding each row's month) in the partition convention."""
    keys = table.pop("by")
    return monthly_output(context, table, keys, metadata)


def build_model_aggregates(monthly: dg.PartitionsDefinition) -> list[dg.AssetsDefinition]:
    """The five per-month aggregates, partitioned by `monthly`."""

    @AGGREGATES.asset(
        name=RULE_TRANSACTIONS,
        code_version="1",
        monthly=monthly,
        ins={
            "enriched_911_calls": columns_in(
                "incident_number",
                "response_datetime",
                "response_date",
                "response_hour",
                "is_weekend",
                "priority_numeric",
                "final_problem_category",
            ),
            "fact_event_incidents": columns_in(
                "incident_number", "response_datetime", "event_has_alcohol"
            ),
        },
        description=(
            "Weighted transaction table of the association rules, per month: one row per "
            "distinct combination of a call's items (time of day, weekday/weekend, priority, "
            "incident type, festival/alcohol-event link) with its number of calls."
        ),
    )
    def rule_transactions_by_month(
        context: dg.AssetExecutionContext,
        enriched_911_calls: pd.DataFrame,
        fact_event_incidents: pd.DataFrame,
    ):
        calls = enriched_911_calls
        table = rule_transactions(
            calls, fact_event_incidents, by=month_key_of(calls["response_date"])
        )
        return _monthly(context, table, {"calls": int(table["calls"].sum())})

    @AGGREGATES.asset(
        code_version="1",
        monthly=monthly,
        ins={"enriched_911_calls": columns_in("response_date")},
        description="Calls per local date (days with at least one call), per month.",
    )
    def calls_by_day(context: dg.AssetExecutionContext, enriched_911_calls: pd.DataFrame):
        table = calls_per_day(enriched_911_calls)
        table.insert(0, "by", month_key_of(table["date"]).to_numpy())
        return _monthly(context, table, {"calls": int(table["calls"].sum())})

    @AGGREGATES.asset(
        code_version="1",
        monthly=monthly,
        ins={
            "enriched_911_calls": columns_in(
                "response_date",
                "dim_geo_id",
                "latitude_centroid",
                "longitude_centroid",
                "priority_numeric",
                "response_time",
                "response_hour",
            )
        },
        description=(
            "Per block group and month, over the located calls: internal point, calls, and the "
            "sum and count of the known valid priorities, response times and hours (integers, "
            "so the zones' averages are recomputed exactly)."
        ),
    )
    def block_group_call_sums(context: dg.AssetExecutionContext, enriched_911_calls: pd.DataFrame):
        # The matched block group (NULL when unmatched) is enriched's dim_geo_id.
        calls = enriched_911_calls.rename(columns={"dim_geo_id": "geo_id"})
        table = block_group_sums(calls, by=month_key_of(calls["response_date"]))
        return _monthly(context, table, {"located_calls": int(table["calls"].sum())})

    @AGGREGATES.asset(
        code_version="1",
        monthly=monthly,
        ins={
            "enriched_911_calls": columns_in(
                "response_date", "dim_geo_id", *[c for c in CALL_COLUMNS if c != "geo_id"]
            )
        },
        description=(
            "Calls per month, block group, final_problem_category, hour band (first hours "
            f"{', '.join(map(str, HOUR_BANDS))}: the hot-spot windows are unions of them) and "
            "weekday/weekend; calls without a block group, hour or weekday flag counted too."
        ),
    )
    def hot_spot_call_counts(context: dg.AssetExecutionContext, enriched_911_calls: pd.DataFrame):
        calls = enriched_911_calls.rename(columns={"dim_geo_id": "geo_id"})
        table = hot_spot_counts(calls, by=month_key_of(calls["response_date"]))
        return _monthly(context, table, {"calls": int(table["calls"].sum())})

    @AGGREGATES.asset(
        code_version="1",
        monthly=monthly,
        ins={
            "enriched_911_calls": columns_in(
                "dim_geo_id",
                "response_date",
                "response_hour",
                "priority_numeric",
                "final_problem_category",
                *MEAN_MEASURES,
            )
        },
        description=(
            "Calls per month, block group (NULL when unmatched), local date, hour, priority and "
            "final_problem_category, with the sum and count of the known unit times on scene "
            "and units arrived: what call_baseline_rates and event_impact_model take from the "
            "calls (a call is linked to an event by its block group and date, so the linked "
            "calls' hours and means are their cells')."
        ),
    )
    def calls_by_block_group_hour(
        context: dg.AssetExecutionContext, enriched_911_calls: pd.DataFrame
    ):
        # The matched block group (NULL when unmatched) is enriched's dim_geo_id.
        calls = enriched_911_calls.rename(columns={"dim_geo_id": "geo_id"})
        table = call_cells(calls, by=month_key_of(calls["response_date"]))
        return _monthly(
            context,
            table,
            {
                "calls": int(table["calls"].sum()),
                "located_calls": int(table.loc[table["geo_id"].notna(), "calls"].sum()),
            },
        )

    return [
        rule_transactions_by_month,
        calls_by_day,
        block_group_call_sums,
        hot_spot_call_counts,
        calls_by_block_group_hour,
    ]
