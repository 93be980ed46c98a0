"""SAFEBEAT_CITY: one setting selects the city's time zone, counties, box, first month and
whether it has an events feed, and each reaches the layer that uses it."""

from __future__ import annotations

import pandas as pd
import pytest

from safebeat_assets.definitions import build_definitions
from safebeat_assets.resources import build_resources
from safebeat_assets.settings import SettingsError, load_settings
from safebeat_assets.storage.tables import DIM_GEO, FACT_911_CALLS
from safebeat_assets.storage.warehouse import Warehouse
from safebeat_assets.transform import clean_calls
from safebeat_assets.transform.calls import CallRules, call_rules_for_partitions
from safebeat_assets_tests.storage.test_warehouse import fact_frame, geo_frame
from safebeat_assets_tests.transform.test_calls_cleaning import REAL_ROW_1, raw_calls


def test_austin_is_the_default_city():
    settings = load_settings({})
    city = settings.city
    assert (city.name, city.title, city.time_zone) == ("austin", "Austin, Texas", "America/Chicago")
    assert settings.county_fips == ("48453", "48209", "48491")
    assert settings.partition_start == "2023-01-01"
    assert city.event_permits is True


def test_montgomery_selects_its_zone_counties_and_first_month():
    settings = load_settings({"SAFEBEAT_CITY": "Montgomery"})
    assert settings.city.time_zone == "America/New_York"
    assert settings.county_fips == ("42091",)
    assert settings.partition_start == "2015-12-01"
    assert settings.city.event_permits is False
    assert settings.city.box == (39.8, 40.7, -75.9, -74.9)


def test_overrides_beat_the_city_and_short_codes_take_its_state():
    settings = load_settings(
        {
            "SAFEBEAT_CITY": "seattle",
            "SAFEBEAT_COUNTY_FIPS": "033, 53061",
            "SAFEBEAT_PARTITION_START": "2024-03",
        }
    )
    assert settings.county_fips == ("53033", "53061")
    assert settings.partition_start == "2024-03-01"
    assert load_settings({"SAFEBEAT_COUNTY_FIPS": "453,021"}).county_fips == ("48453", "48021")


@pytest.mark.parametrize(
    ("env", "message"),
    [
        (
            {"SAFEBEAT_CITY": "gotham"},
            r"SAFEBEAT_CITY='gotham'.*known: austin, montgomery, seattle",
        ),
        ({"SAFEBEAT_COUNTY_FIPS": "4530"}, r"SAFEBEAT_COUNTY_FIPS.*'4530'"),
        ({"SAFEBEAT_COUNTY_FIPS": "48-453"}, r"SAFEBEAT_COUNTY_FIPS"),
        ({"SAFEBEAT_COUNTY_FIPS": " , "}, r"names no county"),
    ],
)
def test_bad_city_settings_are_clear_errors(env, message):
    with pytest.raises(SettingsError, match=message):
        load_settings(env)


def test_the_city_reaches_the_resources_and_the_partitions(tmp_path):
    settings = load_settings({"SAFEBEAT_CITY": "montgomery", "SAFEBEAT_DATA_DIR": str(tmp_path)})
    resources = build_resources(settings)
    pipeline = resources["pipeline"]
    assert (pipeline.city, pipeline.city_title) == ("montgomery", "Montgomery County, Pennsylvania")
    assert pipeline.time_zone == "America/New_York"
    assert pipeline.county_fips == ["42091"]
    assert resources["warehouse"].time_zone == "America/New_York"
    graph = build_definitions(settings).resolve_asset_graph()
    partitioned = [
        graph.get(key).partitions_def
        for key in graph.get_all_asset_keys()
        if graph.get(key).partitions_def is not None
    ]
    assert partitioned
    for partitions in partitioned:
        assert partitions.timezone == "America/New_York"
        assert partitions.get_first_partition_key() == "2015-12-01"


def test_calls_are_read_in_the_city_zone():
    """The same wall-clock time is a different instant in New York: months, dates and hours
    stay those of the export, the instant moves by the zones' difference."""
    raw = raw_calls(REAL_ROW_1)
    central = clean_calls(raw).calls.iloc[0]
    eastern = clean_calls(raw, CallRules(time_zone="America/New_York")).calls.iloc[0]
    assert str(eastern["response_datetime"].tz) == "America/New_York"
    assert str(eastern["first_unit_arrived_datetime"].tz) == "America/New_York"
    assert eastern["response_datetime"].tz_localize(None) == central[
        "response_datetime"
    ].tz_localize(None)
    assert central["response_datetime"] - eastern["response_datetime"] == pd.Timedelta(hours=1)
    for column in ("response_date", "response_hour", "response_month_key", "time_of_day"):
        assert eastern[column] == central[column], column


def test_partition_rules_take_now_in_the_city_zone():
    # 02:30 UTC on 1 March is still February in Austin and in New York, March in UTC.
    now = pd.Timestamp("2024-03-01 02:30", tz="UTC")
    eastern = call_rules_for_partitions(
        "2024-01", "2024-12", ("42091",), now=now, time_zone="America/New_York"
    )
    assert eastern.time_zone == "America/New_York"
    assert eastern.end == pd.Timestamp("2024-02-29 21:30") + pd.Timedelta(days=1)
    central = call_rules_for_partitions("2024-01", "2024-12", now=now)
    assert central.end == pd.Timestamp("2024-02-29 20:30") + pd.Timedelta(days=1)
    assert eastern.county_fips == ("42091",)
    assert CallRules(county_fips=("453", "48209")).county_fips == ("48453", "48209")


def test_the_warehouse_reads_instants_back_in_the_city_zone(warehouse):
    warehouse.replace_table(DIM_GEO, geo_frame())
    original = fact_frame()
    warehouse.replace_table(FACT_911_CALLS, original)
    eastern = Warehouse(
        warehouse.dsn, warehouse.schema, timeouts=warehouse.timeouts, time_zone="America/New_York"
    )
    back = eastern.read_table(FACT_911_CALLS).sort_values("incident_number")
    expected = original.sort_values("incident_number")
    assert str(back["response_datetime"].dt.tz) == "America/New_York"
    assert (back["response_datetime"].to_numpy() == expected["response_datetime"].to_numpy()).all()
