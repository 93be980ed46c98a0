"""Declarative source adapters: the built-in files, detection by header, and the errors a broken
adapter file gets."""

from __future__ import annotations

import datetime as dt

import pytest

from safebeat_assets.sample.vocabulary import CALLS_HEADER_25, CALLS_HEADER_27
from safebeat_assets.sources.adapters import (
    AdapterSpecError,
    NoAdapterMatchesError,
    builtin_adapter,
    builtin_adapters,
    detect_adapter,
    load_adapter,
    parse_adapter,
)
from safebeat_assets.sources.adapters.spec import CoordinateLocation, GeoIdLocation

# The two APD layouts as the generator writes them (the same headers as the real exports).
AUSTIN_25, AUSTIN_27 = list(CALLS_HEADER_25), list(CALLS_HEADER_27)
MONTGOMERY = ["lat", "lng", "desc", "zip", "title", "timeStamp", "twp", "addr", "e"]
SEATTLE = [
    "Address",
    "Type",
    "Datetime",
    "Latitude",
    "Longitude",
    "Report Location",
    "Incident Number",
]

VALID = """
name = "testville"
documentation = ["https://example.org/testville-911"]

[city]
title = "Testville"
time_zone = "America/Denver"
county_fips = ["08031"]
box = { min_latitude = 39.5, max_latitude = 40.0, min_longitude = -105.2, max_longitude = -104.6 }
partition_start = 2024-01-01

[layout]
required = ["id", "when", "type", "y", "x"]
optional = ["prio"]

[fields.incident_id]
column = "id"

[fields.call_datetime]
column = "when"
formats = ["%m/%d/%Y %I:%M:%S %p"]

[fields.priority]
column = "prio"
mapping = { "P1" = 0, "P2" = 1, "P3" = 2 }

[fields.classification]
split = { column = "type", separator = " - " }

[fields.location]
kind = "coordinates"
latitude = "y"
longitude = "x"
"""


def test_builtin_adapters_load_with_their_cities():
    names = [a.name for a in builtin_adapters()]
    assert names == sorted(set(names)) and {"austin", "montgomery", "seattle"} <= set(names)
    austin, montgomery = builtin_adapter("austin"), builtin_adapter("montgomery")
    assert austin.city.time_zone == "America/Chicago"
    assert austin.city.county_fips == ("48453", "48209", "48491")
    assert austin.city.partition_start == dt.date(2023, 1, 1)
    assert isinstance(austin.fields.location, GeoIdLocation)
    assert montgomery.city.time_zone == "America/New_York"
    assert montgomery.city.county_fips == ("42091",)
    assert isinstance(montgomery.fields.location, CoordinateLocation)
    assert montgomery.fields.incident_id.hash_of  # the feed has no incident number
    assert montgomery.fields.classification.split.separator == ":"
    box = montgomery.city.box.validity_box()
    # Norristown, the county seat, is inside; Philadelphia City Hall is not in the county but
    # inside the box (it would fall outside every block group instead); Austin is outside.
    assert box.contains(40.1215, -75.3399)
    assert box.contains(39.9526, -75.1652)
    assert not box.contains(30.27, -97.74)


def test_seattle_reads_the_published_datetime_formats():
    seattle = builtin_adapter("seattle")
    assert seattle.city.time_zone == "America/Los_Angeles"
    parsed = {
        dt.datetime.strptime(text, fmt)
        for text in ("05/22/2019 12:55:00 PM", "2019-05-22T12:55:00.000")
        for fmt in seattle.fields.call_datetime.formats
        if _parses(text, fmt)
    }
    assert parsed == {dt.datetime(2019, 5, 22, 12, 55)}
    assert seattle.city.box.validity_box().contains(47.6069, -122.329051)


def _parses(text: str, fmt: str) -> bool:
    try:
        dt.datetime.strptime(text, fmt)
    except ValueError:
        return False
    return True


def test_the_austin_priority_table_is_the_0_to_3_scale():
    mapping = builtin_adapter("austin").fields.priority.mapping
    assert {mapping[f"Priority {n}"] for n in range(4)} == {0, 1, 2, 3}


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (AUSTIN_25, "austin"),
        (AUSTIN_27, "austin"),
        (list(reversed(AUSTIN_27)), "austin"),  # bound by name, not position
        ([h.lower().replace(" ", "_").replace("/", "_") for h in AUSTIN_25], "austin"),  # API
        (MONTGOMERY, "montgomery"),
        ([" lat", "lng ", *MONTGOMERY[2:]], "montgomery"),
        (SEATTLE, "seattle"),
        ([h for h in SEATTLE if h != "Report Location"], "seattle"),  # optional column
        ([h.lower().replace(" ", "_") for h in SEATTLE], "seattle"),  # the JSON API's names
    ],
)
def test_detection_by_header(header, expected):
    assert detect_adapter(header, "drop.csv").name == expected


def test_a_header_fitting_no_adapter_lists_what_each_adapter_missed():
    header = [c for c in MONTGOMERY if c != "timeStamp"] + ["Incident Number"]
    with pytest.raises(NoAdapterMatchesError) as raised:
        detect_adapter(header, "landing/calls/other.csv")
    message = str(raised.value)
    assert message.startswith("landing/calls/other.csv: the header fits no adapter")
    assert "montgomery: missing 'timeStamp'" in message
    assert "austin: missing 'Incident Type', " in message
    assert f"({len(builtin_adapters())} tried)" in message


def test_the_most_specific_fitting_adapter_wins():
    testville = parse_adapter(VALID, "testville.toml")
    wider = parse_adapter(
        VALID.replace('name = "testville"', 'name = "testville_wide"').replace(
            'required = ["id", "when", "type", "y", "x"]',
            'required = ["id", "when", "type", "y", "x", "extra"]',
        ),
        "wide.toml",
    )
    header = ["id", "when", "type", "y", "x", "extra"]
    assert detect_adapter(header, "f.csv", [testville, wider]).name == "testville_wide"
    assert detect_adapter(header[:-1], "f.csv", [testville, wider]).name == "testville"


def test_an_adapter_file_on_disk(tmp_path):
    path = tmp_path / "testville.toml"
    path.write_text(VALID)
    spec = load_adapter(path)
    assert spec.name == "testville"
    assert spec.fields.classification.split.column == "type"
    assert spec.missing_columns(["id", "when"]) == ["type", "y", "x"]


def test_unknown_adapter_name_lists_the_known_ones():
    with pytest.raises(AdapterSpecError, match="no built-in adapter named 'gotham'.*austin"):
        builtin_adapter("gotham")


BROKEN = [
    ('name = "testville"\n[city', "not valid TOML"),
    (
        VALID.replace("[fields.priority]\ncolumn", "[fields.priority]\ncolum"),
        "fields.priority.colum: Extra inputs are not permitted",
    ),
    (VALID.replace('"P3" = 2', '"P3" = 5'), "priorities outside 0-3: {'P3': 5}"),
    (VALID.replace("America/Denver", "America/Gotham"), "unknown IANA time zone"),
    (VALID.replace("2024-01-01", "2024-01-15"), "start on the first day of a month"),
    (VALID.replace('county_fips = ["08031"]', 'county_fips = ["8031"]'), "city.county_fips.0"),
    (VALID.replace("min_latitude = 39.5", "min_latitude = 40.5"), "minimum must lie below"),
    (VALID.replace('kind = "coordinates"', 'kind = "address"'), "fields.location"),
    (
        VALID.replace('[fields.incident_id]\ncolumn = "id"', "[fields.incident_id]\nhash_of = []"),
        "exactly one of `column` or `hash_of`",
    ),
    (
        VALID.replace('split = { column = "type", separator = " - " }', 'description = "type"\n')
        + "",
        None,  # valid: a description column alone is allowed
    ),
    (
        VALID.replace(
            'split = { column = "type", separator = " - " }',
            'category = "type"\nsplit = { column = "type", separator = "-" }',
        ),
        "either `category`/`description` columns or `split`",
    ),
    (VALID.replace('latitude = "y"', 'latitude = "lat"'), "does not list: ['lat']"),
    (VALID.replace('formats = ["%m/%d/%Y %I:%M:%S %p"]', 'formats = ["MM/DD/YYYY"]'), "strptime"),
    (VALID.replace('name = "testville"', 'name = "Test Ville"'), "name"),
    (VALID.replace('documentation = ["https://example.org/testville-911"]', ""), "documentation"),
]


@pytest.mark.parametrize(("text", "expected"), BROKEN)
def test_a_broken_adapter_file_gets_a_clear_error(text, expected):
    if expected is None:
        parse_adapter(text, "testville.toml")
        return
    with pytest.raises(AdapterSpecError) as raised:
        parse_adapter(text, "adapters/testville.toml")
    message = str(raised.value)
    assert message.startswith("adapters/testville.toml: ")
    assert expected in message


def test_every_problem_of_a_file_is_reported_at_once():
    text = (
        VALID.replace("America/Denver", "Mars/Olympus")
        .replace('"P3" = 2', '"P3" = 9')
        .replace('latitude = "y"', 'latitude = "lat"')
    )
    with pytest.raises(AdapterSpecError) as raised:
        parse_adapter(text, "testville.toml")
    message = str(raised.value)
    assert "problem(s) in the adapter file" in message
    assert "city.time_zone" in message and "fields.priority.mapping" in message
