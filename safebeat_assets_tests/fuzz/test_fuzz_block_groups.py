"""Fuzzing the TIGER block-group reader: every malformed file ends as block groups plus counted
rejected features (every feature accounted for), or as a DataError naming the file; the kept
block groups would load into dim_geo."""

from __future__ import annotations

import json

import pytest
import shapely
from hypothesis import given

from safebeat_assets.errors import DataError
from safebeat_assets.sample import generate_sample
from safebeat_assets.sources.tiger_block_groups import (
    REJECT_REASONS,
    STATE_EXTENTS,
    load_block_groups,
)
from safebeat_assets.storage.tables import DIM_GEO
from safebeat_assets.transform import build_geo_table
from safebeat_assets_tests.fuzz.harness import (
    Tally,
    check_data_error,
    check_warehouse_fit,
    geo_cases,
    within,
)


@pytest.fixture(scope="module")
def features(tmp_path_factory) -> tuple[dict, ...]:
    """Features of a generated TIGER file, spread over its three counties."""
    folder = tmp_path_factory.mktemp("tiger")
    paths = generate_sample(folder, n_calls=50, seed=29, start="2024-01-01", end="2024-01-31")
    every = json.loads(paths.block_groups.read_text())["features"]
    return tuple(every[:: max(1, len(every) // 120)])


def check(path, case, tally: Tally) -> str:
    try:
        result = load_block_groups(path)
        geo = build_geo_table(result.block_groups)
    except DataError as exc:
        check_data_error(exc, path)
        return tally.error(exc)
    stats, kept = result.stats, result.block_groups
    if case.countable:
        assert stats["features_read"] == len(case.features), stats
    assert stats["features_read"] == (
        stats["features_outside_counties"] + stats["features_rejected"] + len(kept)
    ), stats
    assert len(result.rejected) == stats["features_rejected"]
    assert set(result.rejected["reject_reason"]) <= set(REJECT_REASONS)
    assert result.rejected["feature"].between(1, stats["features_read"]).all()
    assert kept["GEOID"].is_unique
    assert shapely.is_valid(kept.geometry.to_numpy()).all()
    assert (kept.geom_type == "MultiPolygon").all()
    texas_latitude, texas_longitude = STATE_EXTENTS["48"]
    assert within(geo["latitude_centroid"], *texas_latitude)
    assert within(geo["longitude_centroid"], *texas_longitude)
    assert (geo["area_sq_km"] >= 0).all()
    check_warehouse_fit(DIM_GEO, geo)
    tally.rows["features_in"] += stats["features_read"]
    tally.rows["features_rejected"] += stats["features_rejected"]
    tally.rows["geometries_repaired"] += stats["geometries_repaired"]
    return "quarantined" if stats["features_rejected"] else "clean"


def test_block_group_reader_survives_malformed_files(features, tmp_path_factory, fuzz_summary):
    work = tmp_path_factory.mktemp("fuzz-tiger")
    tally = Tally("tiger_block_groups")
    number = iter(range(10**9))

    @given(case=geo_cases(features))
    def run(case):
        path = case.write(work / f"bg_{next(number)}{case.suffix}")
        try:
            tally.run(lambda: check(path, case, tally))
        finally:
            path.unlink(missing_ok=True)

    try:
        run()
    finally:
        fuzz_summary["tiger_block_groups"] = tally.summary()
    assert tally.outcomes["unexpected"] == 0
