"""`on_change` with `UpstreamBusy` on a small graph mixing monthly and unpartitioned assets:
what can run in one run is requested in one tick (a chain of monthly assets; then the
unpartitioned assets below them), and nothing starts while an ancestor that cannot share its run
is requested, in progress or about to react to a change."""

import dagster as dg
import pytest

from safebeat_assets.defs.automation import on_change

AC = dg.AutomationCondition
MONTHS = dg.MonthlyPartitionsDefinition(start_date="2025-01-01", end_date="2025-04-01")
ALL_MONTHS = set(MONTHS.get_partition_keys())


# The roots' data versions, set by the tests: a re-read with the same version changes nothing.
ROOT_VERSIONS = {"a": "1", "g": "1"}


def toy_graph() -> dg.Definitions:
    """a (unpartitioned root) -> b, c (monthly) -> d, e (unpartitioned); g (root) -> h -> c, as
    raw calls -> enriched calls, facts -> models, and block groups -> dim_geo -> facts."""

    @dg.asset(automation_condition=AC.missing())
    def a() -> dg.MaterializeResult:
        return dg.MaterializeResult(data_version=dg.DataVersion(ROOT_VERSIONS["a"]))

    @dg.asset(automation_condition=AC.missing())
    def g() -> dg.MaterializeResult:
        return dg.MaterializeResult(data_version=dg.DataVersion(ROOT_VERSIONS["g"]))

    @dg.asset(deps=[g], automation_condition=on_change())
    def h() -> None:
        pass

    @dg.asset(partitions_def=MONTHS, deps=[a], automation_condition=on_change())
    def b() -> None:
        pass

    @dg.asset(partitions_def=MONTHS, deps=[b, h], automation_condition=on_change())
    def c() -> None:
        pass

    @dg.asset(deps=[c], automation_condition=on_change())
    def d() -> None:
        pass

    @dg.asset(deps=[d], automation_condition=on_change())
    def e() -> None:
        pass

    return dg.Definitions(assets=[a, b, c, d, e, g, h])


class History:
    """The graph, its instance and its automation cursor."""

    def __init__(self, instance: dg.DagsterInstance):
        self.defs = toy_graph()
        self.instance = instance
        self.cursor = None
        self.job = self.defs.resolve_implicit_global_asset_job_def()

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

    def materialize(self, names: str, first: str | None = None, last: str | None = None) -> None:
        tags = {}
        if first:
            tags = {
                "dagster/asset_partition_range_start": first,
                "dagster/asset_partition_range_end": last or first,
            }
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


@pytest.fixture
def history():
    ROOT_VERSIONS.update(a="1", g="1")
    with dg.instance_for_test() as instance:
        yield History(instance)


def build_everything(history: History) -> None:
    # Empty: only the roots; h can share their run, the months wait for them (they cannot).
    assert history.tick() == {"a": {None}, "g": {None}, "h": {None}}
    history.materialize("a g h")
    # Both monthly assets at once: c is built after b in the same run.
    assert history.tick() == {"b": ALL_MONTHS, "c": ALL_MONTHS}
    history.materialize("b c", "2025-01-01", "2025-03-01")
    # Then both unpartitioned assets, together.
    assert history.tick() == {"d": {None}, "e": {None}}
    history.materialize("d e")
    assert history.tick() == {}


def test_a_chain_that_can_share_a_run_is_requested_in_one_tick(history):
    build_everything(history)


def test_a_root_re_read_with_the_same_data_holds_nothing_back(history):
    build_everything(history)
    # The daily run re-reads every root; only a has new data. h will not react to g's same
    # version, so it does not hold c back: b and c go together again.
    ROOT_VERSIONS["a"] = "2"
    history.materialize("a g")
    assert history.tick() == {"b": ALL_MONTHS, "c": ALL_MONTHS}


def test_waits_for_ancestors_that_cannot_share_its_run(history):
    build_everything(history)

    # A new root version: the months react together; d and e wait for them.
    ROOT_VERSIONS["a"] = "2"
    history.materialize("a")
    assert history.tick() == {"b": ALL_MONTHS, "c": ALL_MONTHS}
    # One month's run still queued: d and e keep waiting, nothing is requested twice.
    history.materialize("b c", "2025-01-01", "2025-02-01")
    history.queue("b", "2025-03-01")
    assert history.tick() == {}
    history.materialize("b", "2025-03-01")
    # c of March reacts to b; d still waits for it.
    assert history.tick() == {"c": {"2025-03-01"}}
    history.materialize("c", "2025-03-01")
    assert history.tick() == {"d": {None}, "e": {None}}
    history.materialize("d e")
    assert history.tick() == {}
