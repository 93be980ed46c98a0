"""`UpstreamBusy`: the automation condition that holds an asset back while anything upstream of
it is in progress or about to change (see `automation.upstream_busy`).

Built from Dagster's operands it was `any_deps_match` nested once per level of the graph, which
Dagster evaluates once per *path*: 6,400 condition nodes per tick for 24 assets, about a second
per evaluation (plus the hashing of every node's result for the cursor). This condition computes
the same thing once per ancestor, walking the graph from its roots, and is a single node.

Per ancestor A, "about to change" is what the composed condition said, with three exceptions:
- in progress: in a queued or running run, in a backfill, or in a run whose end the tick's view
  of the event log does not hold yet (`in_progress.InProgress`);
- requested on this tick: counts whether or not A could run in the same run as the asset
  evaluated (`will_be_requested` sees only the latter), except when it can: then that run builds
  A first and the asset is requested with it (`automation.on_change`), not after it (see
  `UpstreamBusy.every_request` and `UpstreamBusy.chain`);
- a dependency of A with a new data version since the previous tick while A was not updated
  (A is about to react), unless A is requested on this tick in the asset's run. A dependency
  re-read with the same data (the daily run re-reads every landing file) changes nothing below
  it, so it holds nothing back: the composed condition used `newly_updated`, and the block
  groups' daily re-read held the facts back a tick.
An ancestor is busy when it is about to change or one of its own parents is busy; partitions
are carried from parent to child by the graph's partition mappings, as `any_deps_match` does.

It is arbitrary Python, so the automation sensor evaluates it in the code server
(`use_user_code_server=True`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import dagster as dg
from dagster._core.definitions.assets.graph.asset_graph import executable_in_same_run

from .in_progress import in_progress_at_tick

if TYPE_CHECKING:
    from dagster._core.asset_graph_view.entity_subset import EntitySubset


class UpstreamBusy(dg.AutomationCondition):
    """True for the partitions of an asset with an ancestor (any distance) in progress or about
    to change.

    `every_request`: an ancestor requested on this tick in a run the asset cannot share counts
    (the default, what automation uses). `will_be_requested`, which the composed condition used,
    does not see it: a month of the event links requested on this tick was invisible to the
    baseline rates (unpartitioned), which then built beside it and again after it.
    `chain`: an ancestor requested on this tick in a run the asset can share does not count (the
    default): the asset is requested with it. With both False it decides exactly what the
    composed condition decided (tested)."""

    def __init__(self, every_request: bool = True, chain: bool = True):
        self.every_request = every_request
        self.chain = chain

    @property
    def name(self) -> str:
        return "upstream_busy"

    @property
    def description(self) -> str:
        return "upstream in progress or about to change"

    @property
    def requires_cursor(self) -> bool:
        return False

    async def evaluate(self, context: dg.AutomationContext) -> dg.AutomationResult:
        if context.candidate_subset.is_empty:
            return dg.AutomationResult(context=context, true_subset=context.get_empty_subset())
        graph = context.asset_graph
        ancestors = graph.get_ancestor_asset_keys(context.key) if _is_asset(context.key) else set()
        chained = _chained_into_run(context, ancestors) if self.chain else set()
        busy: dict[dg.AssetKey, EntitySubset] = {}
        for key in graph.toposorted_asset_keys:
            if key not in ancestors:
                continue
            subset = await _about_to_change(context, key, self.every_request, key in chained)
            for parent in graph.get(key).parent_keys:
                if parent in busy and not busy[parent].is_empty:
                    subset = subset.compute_union(
                        busy[parent].compute_mapped_subset(key, direction="down")
                    )
            busy[key] = subset
        true_subset = context.get_empty_subset()
        for parent in graph.get(context.key).parent_keys if _is_asset(context.key) else ():
            if parent in busy and not busy[parent].is_empty:
                true_subset = true_subset.compute_union(
                    busy[parent].compute_mapped_subset(context.key, direction="down")
                )
        return dg.AutomationResult(
            context=context, true_subset=true_subset.compute_intersection(context.candidate_subset)
        )


def _is_asset(key) -> bool:
    return isinstance(key, dg.AssetKey)


def _chained_into_run(context: dg.AutomationContext, ancestors: set[dg.AssetKey]) -> set:
    """Ancestors requested on this tick whose change reaches the asset evaluated only through
    assets built in the same run as it: each can share its run and is requested, and so is
    every asset between it and the asset. (An ancestor that could share the run but feeds the
    asset through one that cannot, or that is not requested, still holds it back.)"""
    graph = context.asset_graph
    root = context.root_context.key
    chained: set[dg.AssetKey] = set()
    for key in reversed(graph.toposorted_asset_keys):
        if key not in ancestors or key not in context.request_subsets_by_key:
            continue
        if not _requested_with_root(context, key):
            continue
        below = graph.get(key).child_keys & (ancestors | {root})
        if all(child == root or child in chained for child in below):
            chained.add(key)
    return chained


async def _about_to_change(
    context: dg.AutomationContext, key: dg.AssetKey, every_request: bool, chained: bool
) -> EntitySubset:
    view = context.asset_graph_view
    subset = await in_progress_at_tick(view, key)
    requested = context.request_subsets_by_key.get(key) or view.get_empty_subset(key=key)
    same_run = _requested_with_root(context, key)
    if (same_run and not chained) or (not same_run and every_request):
        subset = subset.compute_union(requested)
    previous = context.previous_temporal_context
    if previous is None:  # the first evaluation: nothing is "newly" updated
        return subset
    updated = await _updated_since(context, key)
    dependency_updated = view.get_empty_subset(key=key)
    for parent in context.asset_graph.get(key).parent_keys:
        parent_changed = await view.compute_data_version_changed_since_temporal_context_subset(
            key=parent, temporal_context=previous
        )
        if not parent_changed.is_empty:
            dependency_updated = dependency_updated.compute_union(
                parent_changed.compute_mapped_subset(key, direction="down")
            )
    reacting = dependency_updated.compute_difference(updated)
    if chained:
        # Requested on this tick in a run the asset can share: that run builds it first, and
        # the asset is requested with it (`on_change`), not after it.
        reacting = reacting.compute_difference(requested)
    return subset.compute_union(reacting)


async def _updated_since(context: dg.AutomationContext, key: dg.AssetKey) -> EntitySubset:
    return await context.asset_graph_view.compute_updated_since_temporal_context_subset(
        key=key, temporal_context=context.previous_temporal_context
    )


def _requested_with_root(context: dg.AutomationContext, key: dg.AssetKey) -> bool:
    """What `will_be_requested` checks: a request counts only if the ancestor can run in the
    same run as the asset evaluated, and is materializable."""
    graph = context.asset_graph
    root = context.root_context.key
    return (
        executable_in_same_run(asset_graph=graph, child_key=root, parent_key=key)
        and graph.get(key).is_materializable
    )
