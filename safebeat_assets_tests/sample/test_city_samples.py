"""The other built-in cities' samples: each export in its published layout, read back through
the adapter its header selects, cleaned, and placed in the generated block groups."""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
import pytest

from safebeat_assets.sample.cities import CITY_LAYOUTS, build_city_sample, write_city_sample
from safebeat_assets.sample.vocabulary import BLOCK_GROUP_COLUMNS
from safebeat_assets.sources.adapters import builtin_adapter
from safebeat_assets.sources.city_calls import read_city_calls_table
from safebeat_assets.sources.tiger_block_groups import load_block_groups
from safebeat_assets.transform.calls import CallRules, clean_calls
from safebeat_assets.transform.geo import COUNTY_NAMES, build_geo_table, geo_table_checks
from safebeat_assets.transform.point_in_polygon import BlockGroupBoundaries, assign_block_groups

START, END, CALLS = "2024-01-01", "2024-03-31", 6_000


@pytest.fixture(scope="module", params=sorted(CITY_LAYOUTS))
def city_sample(request, tmp_path_factory):
    city = request.param
    sample = build_city_sample(city, CALLS, seed=3, start=START, end=END)
    paths = write_city_sample(sample, city, tmp_path_factory.mktemp(city), START, END)
    return city, sample, paths


def test_the_export_has_the_published_header_and_is_read_by_its_adapter(city_sample):
    city, sample, paths = city_sample
    header = paths.calls.read_text(encoding="utf-8").splitlines()[0].split(",")
    assert header == list(CITY_LAYOUTS[city].header)
    read = read_city_calls_table(paths.calls)
    assert read.adapter.name == city
    assert read.table.num_rows == CALLS
    assert read.counts["incident_id_hashed"] == CALLS  # neither feed has numeric ids


def test_calls_clean_with_only_the_planted_bad_rows_quarantined(city_sample):
    city, sample, paths = city_sample
    read = read_city_calls_table(paths.calls)
    rules = CallRules(start=pd.Timestamp(START), end=pd.Timestamp("2024-04-01"))
    cleaned = clean_calls(read.table, rules)
    stats = cleaned.stats
    expected_quarantined = 1 if city == "seattle" else 0  # one "00/00/0000" datetime
    assert stats["rows_quarantined"] == expected_quarantined
    assert (
        stats["rows_out"]
        + stats["rows_quarantined"]
        + stats["exact_duplicates_dropped"]
        + (stats["key_duplicates_dropped"])
        == CALLS
    )
    categories = set(cleaned.calls["final_problem_category"].astype(str))
    if city == "montgomery":
        assert categories == {"EMS", "Traffic", "Fire"}
    else:
        assert {"Aid Response", "Medic Response"} <= categories


def test_block_groups_are_tiger_shaped_and_hold_nearly_every_call(city_sample):
    city, sample, paths = city_sample
    adapter = builtin_adapter(city)
    layer = gpd.read_file(paths.block_groups)
    assert layer.crs.to_epsg() == 4269
    assert list(layer.columns[:-1]) == list(BLOCK_GROUP_COLUMNS)
    assert layer["GEOID"].str.slice(0, 5).isin(adapter.city.county_fips).all()
    assert layer["GEOID"].str.len().eq(12).all() and layer["GEOID"].is_unique
    assert len(layer) == CITY_LAYOUTS[city].county.n_block_groups

    calls = pd.read_csv(paths.calls, dtype=str, keep_default_na=False)
    location = adapter.fields.location
    boundaries = BlockGroupBoundaries(layer["GEOID"], layer.geometry)
    assigned = assign_block_groups(
        calls[location.latitude].replace("", None),
        calls[location.longitude].replace("", None),
        boundaries,
        adapter.city.box.validity_box(),
    )
    counts = assigned.counts()
    if city == "montgomery":
        # Strays: Texas, central and western Pennsylvania (outside the box) and Philadelphia
        # (inside the box, outside every block group), in turn.
        strays = sample.bad_rows
        assert counts["outside_box"] == strays - strays // 4
        assert counts["outside_polygons"] >= strays // 4
        assert counts["missing_coordinates"] == 0
    else:
        assert counts["missing_coordinates"] == (calls["Latitude"] == "").sum() > 0
        assert counts["outside_box"] == 0
    assert assigned.match_rate > 0.97


def test_the_same_seed_writes_the_same_files(tmp_path):
    for city in CITY_LAYOUTS:
        first = write_city_sample(
            build_city_sample(city, 500, 9, START, END), city, tmp_path / "a", START, END
        )
        again = write_city_sample(
            build_city_sample(city, 500, 9, START, END), city, tmp_path / "b", START, END
        )
        assert first.calls.read_bytes() == again.calls.read_bytes()
        assert first.block_groups.read_bytes() == again.block_groups.read_bytes()


def test_an_unknown_city_is_refused():
    with pytest.raises(ValueError, match="known: montgomery, seattle"):
        build_city_sample("gotham", 10)


def test_safebeat_sample_city_writes_that_city_and_no_events(tmp_path, capsys):
    from safebeat_assets.sample.cli import SAMPLE_CITIES, main

    assert ("austin", *sorted(CITY_LAYOUTS)) == SAMPLE_CITIES
    args = ["--city", "seattle", "--calls", "300", "--start", START, "--end", END]
    assert main([*args, "--out", str(tmp_path)]) == 0
    written = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*.*"))
    assert written == [
        "block_groups/tl_2020_53_bg_sample.geojson",
        f"calls/Seattle_Real_Time_Fire_911_Calls_{START}_{END}.csv",
    ]
    assert "(300 rows" in capsys.readouterr().out
    with pytest.raises(SystemExit, match="Austin's options"):
        main([*args, "--out", str(tmp_path), "--format", "xlsx"])


def test_the_block_group_reader_keeps_the_city_counties_and_builds_dim_geo(city_sample):
    """TIGER reading is not Texas-only: the city's 5-digit counties select its features, the
    internal points pass its state's extent, and dim_geo names the county."""
    city, sample, paths = city_sample
    counties = builtin_adapter(city).city.county_fips
    read = load_block_groups(paths.block_groups, counties)
    assert len(read.block_groups) == CITY_LAYOUTS[city].county.n_block_groups
    assert read.rejected.empty
    geo = build_geo_table(read.block_groups)
    assert geo_table_checks(geo)["internal_point_outside_state"] == 0
    assert geo["county_name"].eq(COUNTY_NAMES[counties[0]]).all()
    # A 3-digit code is a Texas county: none of another state's features are kept.
    elsewhere = load_block_groups(paths.block_groups, (counties[0][2:],))
    assert elsewhere.block_groups.empty
    assert elsewhere.stats["features_outside_counties"] == len(read.block_groups)
