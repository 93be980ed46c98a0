"""`UpstreamBusy(every_request=False)` decides exactly what the composed condition it replaced
decided: `any_deps_match` nested once per level over "in progress, requested on this tick (when
it could share the run), or a dependency with a new data version since the previous tick while
it was not updated". Two copies of a small graph mixing monthly and unpartitioned assets go
through the same history, one per condition, and request the same partitions on every tick.
The default also counts requests the asset could not share a run with."""

import dagster as dg
import pytest

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
            History(UpstreamBusy(every_request=False), second),
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
    assets) holds it back too: the composition requested b beside a."""
    with dg.instance_for_test() as instance:
        history = History(UpstreamBusy(), instance)
        assert history.tick() == {"a": {None}}
        history.materialize("a")
        assert history.tick() == {"b": set(MONTHS.get_partition_keys())}
