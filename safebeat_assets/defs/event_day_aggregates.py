"""The per-month aggregates of the call cells that the event-impact assets read
(`analytics.event_day_aggregates`), one subsettable multi-asset over a month's
`calls_by_block_group_hour`, so that the month's cells are loaded once for all three:

- `baseline_call_counts`: the located calls on days without an event at their block group, per
  block group, weekday and hour (`call_baseline_rates` sums every month of it);
- `event_day_call_cells`: the call cells on the event days (the event impact model's linked
  calls are among them);
- `calls_by_priority_category`: every call's priority and category mix with the measures' sums
  (the model's fallbacks without enough linked calls).

The first two depend on the event days (`dim_event`, `dim_geo`, the link radius and the month's
event links): a change to the events recounts every month of them, a new day one month. The
third reads the cells only. Automation builds what changed and no more (`can_subset`).
"""

import dagster as dg
import pandas as pd

from ..analytics.cell_arrays import CellArrays
from ..analytics.event_day_aggregates import (
    HOUR_COLUMNS,
    baseline_event_days,
    event_day_cells,
    ordinary_day_counts,
)
from ..analytics.event_impact import call_mix, cells_history_range
from ..asset_names import (
    BASELINE_CALL_COUNTS,
    CALLS_BY_BLOCK_GROUP_HOUR,
    CALLS_BY_PRIORITY_CATEGORY,
    EVENT_DAY_CALL_CELLS,
)
from ..resources import PipelineSettings
from ..retries import TRANSIENT_RETRY, fail_fast_unless_transient_fn
from ..transform.months import month_key_of
from .aggregates import AGGREGATES
from .conventions import BOUNDED_RUNS
from .event_impact import EVENT_DAY_INPUTS
from .partitions import monthly_output

_EVENT_DAY_DEPS = {dg.AssetKey(name) for name in (CALLS_BY_BLOCK_GROUP_HOUR, *EVENT_DAY_INPUTS)}


def build_event_day_aggregates(monthly: dg.PartitionsDefinition) -> dg.AssetsDefinition:
    """The three aggregates, partitioned by `monthly` like the call cells they read."""

    @dg.multi_asset(
        group_name=AGGREGATES.group,
        ins={CALLS_BY_BLOCK_GROUP_HOUR: dg.AssetIn(), **EVENT_DAY_INPUTS},
        partitions_def=monthly,
        backfill_policy=BOUNDED_RUNS,
        retry_policy=TRANSIENT_RETRY,
        can_subset=True,
        internal_asset_deps={
            BASELINE_CALL_COUNTS: _EVENT_DAY_DEPS,
            EVENT_DAY_CALL_CELLS: _EVENT_DAY_DEPS,
            CALLS_BY_PRIORITY_CATEGORY: {dg.AssetKey(CALLS_BY_BLOCK_GROUP_HOUR)},
        },
        outs={
            BASELINE_CALL_COUNTS: AGGREGATES.out(
                code_version="1",
                is_required=False,
                kinds={"numpy"},
                description=(
                    "Per month, block group and weekday, the located calls of each hour "
                    "(columns hour_00..hour_23) on days without an event at that block group: "
                    "an event within PipelineSettings.link_radius_km running that date (the "
                    "link rule), or a linked call's date. call_baseline_rates sums every month "
                    "of it, so a new day recounts one month; a change to the events or the "
                    "radius recounts every month."
                ),
            ),
            EVENT_DAY_CALL_CELLS: AGGREGATES.out(
                code_version="1",
                is_required=False,
                kinds={"numpy"},
                description=(
                    "The month's rows of calls_by_block_group_hour on a block group's event "
                    "days (as baseline_call_counts decides them): the linked calls' cells, "
                    "whose hours and unit-time/units sums the event impact model takes, "
                    "without loading every month's cells."
                ),
            ),
            CALLS_BY_PRIORITY_CATEGORY: AGGREGATES.out(
                code_version="1",
                is_required=False,
                description=(
                    "Per month, priority and final_problem_category: the calls with the sums "
                    "and counts of the known unit times on scene and units arrived (every "
                    "call's mix and means, the event impact model's fallbacks without enough "
                    "linked calls)."
                ),
            ),
        },
    )
    @fail_fast_unless_transient_fn
    def event_day_aggregates(
        context: dg.AssetExecutionContext,
        calls_by_block_group_hour: pd.DataFrame,
        fact_event_incidents: pd.DataFrame,
        dim_event: pd.DataFrame,
        dim_geo: pd.DataFrame,
        pipeline: PipelineSettings,
    ):
        selected = context.selected_output_names
        cells_frame = calls_by_block_group_hour
        months = month_key_of(cells_frame["date"])
        if CALLS_BY_PRIORITY_CATEGORY in selected:
            mix = call_mix(cells_frame, by=months)
            yield monthly_output(
                context,
                mix,
                mix.pop("by"),
                {"calls": int(mix["calls"].sum())},
                output_name=CALLS_BY_PRIORITY_CATEGORY,
            )
        if not selected & {BASELINE_CALL_COUNTS, EVENT_DAY_CALL_CELLS}:
            return
        cells = CellArrays.of(cells_frame)
        event_days, stray = baseline_event_days(
            dim_event,
            dim_geo,
            fact_event_incidents,
            pipeline.link_radius_km,
            cells_history_range(cells),
        )
        days = {
            "event_days_by_block_group": len(event_days),
            "linked_days_outside_the_link_rule": stray,
            "radius_km": dg.MetadataValue.float(pipeline.link_radius_km),
        }
        if BASELINE_CALL_COUNTS in selected:
            counts = ordinary_day_counts(cells, event_days, by=months)
            counted = int(counts[list(HOUR_COLUMNS)].to_numpy().sum())
            located = int(cells.calls[cells.geo_code >= 0].sum())
            yield monthly_output(
                context,
                counts,
                counts.pop("by"),
                {
                    "calls_counted": counted,
                    "located_calls_on_event_days": located - counted,
                    **days,
                },
                output_name=BASELINE_CALL_COUNTS,
            )
        if EVENT_DAY_CALL_CELLS in selected:
            on_event_days = event_day_cells(cells, event_days)
            yield monthly_output(
                context,
                on_event_days,
                month_key_of(on_event_days["date"]),
                {"calls": int(on_event_days["calls"].sum()), **days},
                output_name=EVENT_DAY_CALL_CELLS,
            )

    return event_day_aggregates
