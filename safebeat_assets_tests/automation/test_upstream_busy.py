"""`UpstreamBusy(every_request=False, chain=False)` decides exactly what the composed condition it
replaced decided: `any_deps_match` nested once per level over "in progress, requested on this
tick (when it could share the run), or a dependency with a new data version since the previous
tick while it was not updated". Two copies of a small graph mixing monthly and unpartitioned
assets go through the same history, one per condition, and request the same partitions on every
tick. The defaults also count requests the asset could not share a run with, and let `on_change`
request a chain that can share a run in one tick; `InProgress` counts a run that ended after the
tick began."""

import asyncio

import dagster as dg
import pytest
from dagster._core.asset_graph_view.asset_graph_view import AssetGraphView
from dagster._core.definitions.temporal_context import TemporalContext
from dagster._time import get_current_datetime

from safebeat_assets.defs.automation import on_change
from safebeat_assets.defs.in_progress import in_progress_at_tick
from safebeat_assets.defs.partitions import RANGE_END_TAG, RANGE_START_TAG
from safebeat_assets.defs.upstream_busy import UpstreamBusy

AC = dg.AutomationCondition
MONTHS = dg.MonthlyPartitionsDefinition(start_date="2025-01-01", end_date="2025-04-01")
DEPTH = 4  # the toy graph's longest path: a -> b -> c -> d -> e
# The root's data version, set by the test: a re-read with the same version changes nothing.
ROOT_VERSION = {"a": "1"}


def nested_upstream_busy(depth: int = DEPTH) -> dg.AutomationCondition:
    """The composition `UpstreamBusy` replaced (Dagster evaluates it once per path)."""
    about_to_change = (
        AC.in_progress()
        | AC.will_be_requested()
        | (AC.any_deps_match(AC.data_version_changed()) & ~AC.newly_updated())
    )
    busy = about_to_change
    for _ in range(depth - 1):
        busy = about_to_change | AC.any_deps_match(busy)
    return AC.any_deps_match(busy)


def toy_graph(busy: dg.AutomationCondition) -> dg.Definitions:
    changed = AC.any_deps_match(AC.data_version_changed())
    waits = (AC.missing() | changed) & ~AC.in_progress() & ~busy

    @dg.asset(automation_condition=AC.missing())
    def a() -> dg.MaterializeResult:
        return dg.MaterializeResult(data_version=dg.DataVersion(ROOT_VERSION["a"]))

    @dg.asset(partitions_def=MONTHS, deps=[a], automation_condition=waits)
    def b():
        return 1

    @dg.asset(partitions_def=MONTHS, deps=[b], automation_condition=waits)
    def c():
        return 1

    @dg.asset(deps=[c], automation_condition=waits)
    def d():
        return 1

    @dg.asset(partitions_def=MONTHS, deps=[d, b], automation_condition=waits)
    def e():
        return 1

    return dg.Definitions(assets=[a, b, c, d, e])


class History:
    """One copy of the graph, its instance and its automation cursor."""

    def __init__(self, busy: dg.AutomationCondition, instance: dg.DagsterInstance):
        self.defs = toy_graph(busy)
        self.instance = instance
        self.cursor = None

    def tick(self) -> dict[str, set]:
        result = dg.evaluate_automation_conditions(
            defs=self.defs, instance=self.instance, cursor=self.cursor
        )
        self.cursor = result.cursor
        requested = {}
        for key in self.defs.resolve_asset_graph().get_all_asset_keys():
            partitions = result.get_requested_partitions(key)
            if partitions:
                requested[key.to_user_string()] = set(partitions)
        return requested

    def start_run(self, name: str, partition: str) -> None:
        """A run of `name` that has not started yet: in progress for Dagster."""
        job = self.defs.resolve_implicit_global_asset_job_def()
        self.instance.create_run_for_job(
            job_def=job,
            asset_selection=frozenset({dg.AssetKey(name)}),
            tags={"dagster/partition": partition},
        )

    def materialize(self, names: str, partition: str | None = None) -> None:
        keys = [dg.AssetKey(n) for n in names.split()]
        job = self.defs.resolve_implicit_global_asset_job_def()
        assert job.execute_in_process(
            instance=self.instance, asset_selection=keys, partition_key=partition
        ).success


@pytest.fixture
def histories():
    ROOT_VERSION.update(a="1")
    with dg.instance_for_test() as first, dg.instance_for_test() as second:
        yield (
            History(nested_upstream_busy(), first),
            History(UpstreamBusy(every_request=False, chain=False), second),
        )


def test_same_requests_as_the_nested_composition_on_every_tick(histories):
    nested, single = histories
    steps = [
        lambda h: None,  # empty: the root is missing and requested, the rest waits
        lambda h: h.materialize("a"),  # a updated, b has not reacted: everything below waits
        lambda h: None,
        lambda h: h.materialize("b", "2025-02-01"),  # one month reacts
        lambda h: h.materialize("b c", "2025-01-01"),
        lambda h: None,
        lambda h: h.materialize("d"),
        lambda h: h.materialize("a"),  # re-read, same data: holds nothing back
        lambda h: None,
        lambda h: ROOT_VERSION.update(a="2"),
        lambda h: h.materialize("a"),  # a new root version while the months are half built
        lambda h: None,
        lambda h: h.start_run("b", "2025-03-01"),  # a month of b in progress
        lambda h: h.materialize("b c e", "2025-01-01"),
        lambda h: None,
    ]
    seen = []
    for step in steps:
        step(nested)
        step(single)
        expected, actual = nested.tick(), single.tick()
        assert actual == expected, f"after step {len(seen)}: {expected} vs {actual}"
        seen.append(expected)
    # The history exercised the condition: something was held back and something requested.
    assert any(seen) and any(not s.get("e") for s in seen)


def test_by_default_every_request_upstream_holds_back():
    """A request the asset could not share a run with (the unpartitioned root, above monthly
    assets) holds it back too: the composition requested b beside a. One it can share does not:
    c is requested with b, to be built after it in the same run; d and e still wait for c."""
    with dg.instance_for_test() as instance:
        history = History(UpstreamBusy(), instance)
        assert history.tick() == {"a": {None}}
        history.materialize("a")
        months = set(MONTHS.get_partition_keys())
        assert history.tick() == {"b": months, "c": months}


# --- the defaults, inside `on_change` -----------------------------------------------------------


def chain_graph() -> dg.Definitions:
    """a (unpartitioned root) -> b, c (monthly) -> d, e (unpartitioned), every asset `on_change`."""

    @dg.asset(automation_condition=AC.missing())
    def a() -> None:
        pass

    @dg.asset(partitions_def=MONTHS, deps=[a], automation_condition=on_change())
    def b() -> None:
        pass

    @dg.asset(partitions_def=MONTHS, deps=[b], automation_condition=on_change())
    def c() -> None:
        pass

    @dg.asset(deps=[c], automation_condition=on_change())
    def d() -> None:
        pass

    @dg.asset(deps=[d], automation_condition=on_change())
    def e() -> None:
        pass

    return dg.Definitions(assets=[a, b, c, d, e])


class ChainHistory(History):
    def __init__(self, instance: dg.DagsterInstance):
        self.defs = chain_graph()
        self.instance = instance
        self.cursor = None
        self.job = self.defs.resolve_implicit_global_asset_job_def()

    def run(self, names: str, first: str | None = None, last: str | None = None) -> None:
        tags = {RANGE_START_TAG: first, RANGE_END_TAG: last or first} if first else {}
        keys = [dg.AssetKey(n) for n in names.split()]
        result = self.job.execute_in_process(
            instance=self.instance, asset_selection=keys, tags=tags
        )
        assert result.success

    def queue(self, name: str, month: str) -> None:
        """A run of one month of `name` that has not started: in progress for Dagster."""
        self.instance.create_run_for_job(
            job_def=self.job,
            asset_selection=frozenset({dg.AssetKey(name)}),
            tags={"dagster/partition": month},
        )


ALL_MONTHS = set(MONTHS.get_partition_keys())
FIRST, LAST = min(ALL_MONTHS), max(ALL_MONTHS)


@pytest.fixture
def chain():
    with dg.instance_for_test() as instance:
        yield ChainHistory(instance)


def test_a_chain_that_can_share_a_run_is_requested_in_one_tick(chain):
    # Empty: only the root; the months wait for it (they cannot run in its run).
    assert chain.tick() == {"a": {None}}
    chain.run("a")
    # Both monthly assets at once: c is built after b in the same run.
    assert chain.tick() == {"b": ALL_MONTHS, "c": ALL_MONTHS}
    chain.run("b c", FIRST, LAST)
    # Then both unpartitioned assets, together.
    assert chain.tick() == {"d": {None}, "e": {None}}
    chain.run("d e")
    assert chain.tick() == {}


def test_a_chain_waits_for_ancestors_that_cannot_share_its_run(chain):
    for names, months in (("a", ()), ("b c", (FIRST, LAST)), ("d e", ())):
        chain.tick()
        chain.run(names, *months)
    assert chain.tick() == {}

    ROOT_VERSION.update(a="3")
    chain.run("a")  # a new root version: the months react together; d and e wait for them
    assert chain.tick() == {"b": ALL_MONTHS, "c": ALL_MONTHS}
    # One month's run still queued: d and e keep waiting, nothing is requested twice.
    chain.run("b c", FIRST, "2025-02-01")
    chain.queue("b", LAST)
    assert chain.tick() == {}
    chain.run("b", LAST)
    # c of the last month reacts to b; d still waits for it.
    assert chain.tick() == {"c": {LAST}}
    chain.run("c", LAST)
    assert chain.tick() == {"d": {None}, "e": {None}}
    chain.run("d e")
    assert chain.tick() == {}


# --- InProgress: as of the tick's view of the event log ---------------------------------------


def _in_progress(chain: ChainHistory, last_event_id: int, names: str) -> dict[str, set]:
    """What `in_progress_at_tick` finds per asset for a tick that began at `last_event_id`."""
    view = AssetGraphView(
        temporal_context=TemporalContext(
            effective_dt=get_current_datetime(), last_event_id=last_event_id
        ),
        instance=chain.instance,
        asset_graph=chain.defs.resolve_asset_graph(),
    )

    async def subsets():
        return {n: await in_progress_at_tick(view, dg.AssetKey(n)) for n in names.split()}

    return {
        name: {ap.partition_key for ap in subset.expensively_compute_asset_partitions()}
        for name, subset in asyncio.run(subsets()).items()
    }


def test_a_run_that_ended_after_the_tick_began_is_still_in_progress(chain):
    chain.run("a")
    before = chain.instance.event_log_storage.get_maximum_record_id()
    chain.run("b c", "2025-02-01", LAST)
    after = chain.instance.event_log_storage.get_maximum_record_id()
    # A tick that began before the run ended: that run's months of b and c, nothing else.
    assert _in_progress(chain, before, "a b c d") == {
        "a": set(),
        "b": {"2025-02-01", LAST},
        "c": {"2025-02-01", LAST},
        "d": set(),
    }
    # A tick that began after it: nothing in progress.
    assert _in_progress(chain, after, "a b c") == {"a": set(), "b": set(), "c": set()}
    # An unpartitioned run counts too, for what it built only.
    before = chain.instance.event_log_storage.get_maximum_record_id()
    chain.run("d")
    assert _in_progress(chain, before, "d e") == {"d": {None}, "e": set()}


def test_a_run_that_ends_while_the_tick_is_evaluated_is_still_in_progress(chain):
    """One tick evaluates asset after asset: a run that ends after the first asset's answer is
    still in progress for the next (the daemon end-to-end test requested a month's event links
    a second time when the ended runs were read once per tick, before that run ended)."""
    chain.run("a")
    began = chain.instance.event_log_storage.get_maximum_record_id()
    view = AssetGraphView(
        temporal_context=TemporalContext(effective_dt=get_current_datetime(), last_event_id=began),
        instance=chain.instance,
        asset_graph=chain.defs.resolve_asset_graph(),
    )

    loop = asyncio.new_event_loop()  # one tick: one view, one event loop

    def months(name: str) -> set:
        subset = loop.run_until_complete(in_progress_at_tick(view, dg.AssetKey(name)))
        return {ap.partition_key for ap in subset.expensively_compute_asset_partitions()}

    try:
        assert months("b") == set()  # nothing running yet: the tick's first answer
        chain.run("b c", "2025-02-01", LAST)  # a run that ends while the same tick goes on
        assert months("c") == {"2025-02-01", LAST}
        assert months("b") == {"2025-02-01", LAST}
    finally:
        loop.close()
