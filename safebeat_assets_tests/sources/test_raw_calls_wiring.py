"""The raw and cleaned call assets on a real lake folder: an empty or sharply shrunken export is
refused before anything is written (unless the run carries the override tag), and calls dated
outside the monthly partitions reach the quarantine of the first or last partition."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pandas as pd
import pytest

from safebeat_assets.defs.cleaned import build_cleaned_calls
from safebeat_assets.defs.partitions import monthly_partitions, months_tags
from safebeat_assets.defs.raw import ROWS_BY_MONTH_KEY, build_raw_calls
from safebeat_assets.guards import ALLOW_SHRINK_TAG
from safebeat_assets.resources import LAKE_IO, PipelineSettings
from safebeat_assets.sample import generate_sample
from safebeat_assets.storage.lake import ParquetLakeIOManager
from safebeat_assets.storage.landing import LandingZone
from safebeat_assets.storage.object_store import LakeStorage

START = "2025-01-01"


@pytest.fixture
def landing(tmp_path) -> Path:
    root = tmp_path / "landing"
    generate_sample(root, n_calls=900, seed=11, start=START, end="2025-03-31")
    return root


def calls_file(landing: Path) -> Path:
    [path] = list((landing / "calls").glob("*.csv"))
    return path


def resources(landing: Path) -> dict:
    storage = LakeStorage(root=str(landing.parent / "lake"))
    return {
        "landing": LandingZone(location=str(landing), storage=storage),
        LAKE_IO: ParquetLakeIOManager(storage=storage),
        "lake_storage": storage,
        "pipeline": PipelineSettings(),
    }


def stored_raw(landing: Path) -> Path:
    return landing.parent / "lake" / "raw-data" / "raw_911_calls.parquet"


def failure_message(result: dg.ExecuteInProcessResult) -> str:
    failures = [event for event in result.all_events if event.is_step_failure]
    assert failures, "the run did not fail"
    return failures[0].step_failure_data.error.message


def test_empty_or_halved_export_is_refused_unless_overridden(landing):
    monthly = monthly_partitions(START)
    asset = build_raw_calls(monthly)
    path = calls_file(landing)
    lines = path.read_bytes().splitlines(keepends=True)

    def materialize(instance, **kwargs):
        return dg.materialize(
            [asset], instance=instance, resources=resources(landing), raise_on_error=False, **kwargs
        )

    with dg.instance_for_test() as instance:
        first = materialize(instance)  # nothing to compare with: always allowed
        assert first.success
        counts = first.asset_materializations_for_node("raw_911_calls")[0].metadata
        by_month = counts[ROWS_BY_MONTH_KEY].value
        assert sum(by_month.values()) == len(lines) - 1
        assert set(by_month) == {"2025-01-01", "2025-02-01", "2025-03-01"}
        stored = stored_raw(landing).read_bytes()

        for name, kept in (("header only", lines[:1]), ("half", lines[: len(lines) // 2])):
            path.write_bytes(b"".join(kept))
            refused = materialize(instance)
            assert not refused.success, name
            message = failure_message(refused)
            assert "raw_911_calls (calls export APD_911_Calls" in message
            assert "refusing a load that removes too many rows" in message
            assert f"{ALLOW_SHRINK_TAG}=true" in message
            assert "2025-03-01" in message  # the truncation emptied the last month
            assert stored_raw(landing).read_bytes() == stored, name
            assert len(instance.fetch_materializations(asset.key, limit=10).records) == 1

        overridden = materialize(instance, tags={ALLOW_SHRINK_TAG: "true"})
        assert overridden.success
        meta = overridden.asset_materializations_for_node("raw_911_calls")[0].metadata
        assert sum(meta[ROWS_BY_MONTH_KEY].value.values()) == len(lines) // 2 - 1
        assert meta["removal_bounds_overridden"].value
        assert pd.read_parquet(stored_raw(landing))["rows"].sum() == len(lines) // 2 - 1

        # The halved export is now the last good load: re-adding rows is always fine.
        path.write_bytes(b"".join(lines))
        assert materialize(instance).success


def test_calls_outside_the_partitions_are_quarantined_at_the_edges(landing):
    monthly = monthly_partitions(START)
    path = calls_file(landing)
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    early, late = frame.iloc[[0]].copy(), frame.iloc[[1]].copy()
    early["Response Datetime"] = "2019 May 05 10:00:00 AM"
    late["Response Datetime"] = "2031 Jan 01 10:00:00 AM"
    early["Incident Number"], late["Incident Number"] = "190000001", "310000001"
    pd.concat([frame, early, late]).to_csv(path, index=False)

    assets = [build_raw_calls(monthly), build_cleaned_calls(monthly)]
    with dg.instance_for_test() as instance:
        result = dg.materialize(
            assets, instance=instance, resources=resources(landing), tags=months_tags(monthly)
        )
    assert result.success
    raw_meta = result.asset_materializations_for_node("raw_911_calls")[0].metadata
    assert raw_meta["rows_outside_partitions"].value == 2
    # Routed to the edge partitions, so they count in those months' fingerprints and counts.
    assert raw_meta[ROWS_BY_MONTH_KEY].value[START] > 1
    lake = landing.parent / "lake" / "cleaned-data" / "quarantined_911_calls"
    first = pd.read_parquet(lake / f"{START}.parquet")
    last = pd.read_parquet(lake / f"{monthly.get_last_partition_key()}.parquet")
    assert first[["incident_number", "reject_reason"]].values.tolist() == [
        ["190000001", "response_datetime_before_start"]
    ]
    assert last[["incident_number", "reject_reason"]].values.tolist() == [
        ["310000001", "response_datetime_in_future"]
    ]
    cleaned = [
        m for m in result.asset_materializations_for_node("cleaned_911_calls") if m.partition
    ]
    stats = cleaned[0].metadata["cleaning_stats"].value
    assert stats["rows_in"] == len(frame) + 2
    assert (
        stats["rows_out"]
        + stats["rows_quarantined"]
        + stats["exact_duplicates_dropped"]
        + (stats["key_duplicates_dropped"])
        == len(frame) + 2
    )
    assert "values_nulled_by_column" in cleaned[0].metadata
    assert "null_counts" in cleaned[0].metadata
