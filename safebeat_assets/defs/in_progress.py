"""`InProgress`: Dagster's in-progress test made consistent with the tick's view of the event log.

An automation tick reads which assets were updated from the event log as it stood when the tick
began (its `last_event_id`), but Dagster's `in_progress` asks the run storage *now*. A run that
ends while the tick is being evaluated is then neither: the tick may have read the parent it
built and not yet the child, and no longer sees the child's run in progress, so it requests the
child a second time (seen in the daemon end-to-end test once automation chained a parent and its
child into one run).

Here a run also counts as in progress when its end (success, failure or cancellation) was stored
after the tick began: its targets are as the tick saw them, still being built. That only defers
a decision to the next tick, which sees the whole run.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import dagster as dg
from dagster._core.event_api import RunStatusChangeRecordsFilter

from .partitions import RANGE_END_TAG, RANGE_START_TAG

if TYPE_CHECKING:
    from dagster._core.asset_graph_view.asset_graph_view import AssetGraphView
    from dagster._core.asset_graph_view.entity_subset import EntitySubset

PARTITION_TAG = "dagster/partition"
RUN_ENDS = (
    dg.DagsterEventType.RUN_SUCCESS,
    dg.DagsterEventType.RUN_FAILURE,
    dg.DagsterEventType.RUN_CANCELED,
)
# More runs than this ending during one tick's evaluation would mean the daemon is far behind;
# fetching them all is still correct, only slower (`_runs_ended_after`).
PAGE = 100

# The tick's view, the newest event-log id when its ended runs were fetched, and those runs.
# Within one tick (one view, whatever the number of assets it evaluates) they are fetched again
# only when the event log has grown: a run can end while the tick is evaluated, after the first
# asset's answer and before another's, whose live in-progress test no longer sees that run.
_ended_for_view: list = [None, None, []]


def _runs_ended_after(view: AssetGraphView) -> list[dg.DagsterRun]:
    instance, last_event_id = view.instance, view.last_event_id
    newest = instance.event_log_storage.get_maximum_record_id()
    if _ended_for_view[0] is view and _ended_for_view[1] == newest:
        return _ended_for_view[2]
    run_ids: set[str] = set()
    for event_type in RUN_ENDS:
        cursor = None
        while True:
            page = instance.fetch_run_status_changes(
                RunStatusChangeRecordsFilter(event_type=event_type, after_storage_id=last_event_id),
                limit=PAGE,
                cursor=cursor,
            )
            run_ids.update(record.run_id for record in page.records)
            if not page.has_more:
                break
            cursor = page.cursor
    runs = list(instance.get_runs(filters=dg.RunsFilter(run_ids=list(run_ids)))) if run_ids else []
    _ended_for_view[:] = [view, newest, runs]
    return runs


def _run_subset(view: AssetGraphView, run: dg.DagsterRun, key: dg.AssetKey) -> EntitySubset:
    """What `run` builds of `key` (nothing if it does not target it)."""
    if run.asset_selection is not None and key not in run.asset_selection:
        return view.get_empty_subset(key=key)
    node = view.asset_graph.get(key)
    if not node.is_partitioned:
        return view.get_full_subset(key=key)
    tags = run.tags
    if PARTITION_TAG in tags:
        first = last = tags[PARTITION_TAG]
    elif tags.get(RANGE_START_TAG) and tags.get(RANGE_END_TAG):
        first, last = tags[RANGE_START_TAG], tags[RANGE_END_TAG]
    else:  # a partitioned asset in a run without partitions does not run; be safe anyway
        return view.get_full_subset(key=key)
    return view.get_entity_subset_in_range(key, dg.PartitionKeyRange(first, last))


async def in_progress_at_tick(view: AssetGraphView, key: dg.AssetKey) -> EntitySubset:
    """Partitions of `key` in a queued or running run, in a backfill, or in a run whose end the
    tick's view of the event log does not hold yet. The live test comes first and the ended
    runs are read after it, so a run that ends between the two is found by the second."""
    full = view.get_full_subset(key=key)
    subset = (await view.compute_run_in_progress_subset(key=key, from_subset=full)).compute_union(
        await view.compute_backfill_in_progress_subset(key=key, from_subset=full)
    )
    if view.last_event_id is None:
        return subset
    for run in _runs_ended_after(view):
        subset = subset.compute_union(_run_subset(view, run, key))
    return subset


class InProgress(dg.AutomationCondition):
    """`AutomationCondition.in_progress()`, counting a run that ended after the tick began as
    still in progress (see the module docstring)."""

    @property
    def name(self) -> str:
        return "in_progress"

    @property
    def description(self) -> str:
        return "in progress (a run that ended after the tick began included)"

    @property
    def requires_cursor(self) -> bool:
        return False

    async def evaluate(self, context: dg.AutomationContext) -> dg.AutomationResult:
        if context.candidate_subset.is_empty or not isinstance(context.key, dg.AssetKey):
            return dg.AutomationResult(context=context, true_subset=context.get_empty_subset())
        subset = await in_progress_at_tick(context.asset_graph_view, context.key)
        return dg.AutomationResult(
            context=context, true_subset=subset.compute_intersection(context.candidate_subset)
        )
