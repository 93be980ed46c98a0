"""Every reader error names the file (and the column and row where they can be known); bad
block-group features are rejected with a reason instead of failing the load."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest

from safebeat_assets.errors import DataError, SourceFormatError
from safebeat_assets.sources import SourceSchemaError, read_ace_events, read_apd_calls
from safebeat_assets.sources.files import read_text_table
from safebeat_assets.sources.tiger_block_groups import load_block_groups, read_block_groups
from safebeat_assets_tests.sources.test_apd_calls_reader import HEADER_25, ROW_1, ROW_2, write_csv

ACE_HEADER = b"FOLDERRSN,FOLDERNAME,START_DATE,END_DATE,GPSLATITUDE,GPSLONGITUDE\n"
ACE_ROW = b'1,Fest,"Aug 02, 2019","Aug 03, 2019",30.2672,-97.7431\n'


def write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def calls_bytes(rows=(ROW_1, ROW_2)) -> bytes:
    lines = [",".join(f'"{h}"' for h in HEADER_25)]
    lines += [",".join(f'"{row.get(h, "")}"' for h in HEADER_25) for row in rows]
    return ("\n".join(lines) + "\n").encode()


def error_of(reader, path: Path) -> SourceFormatError:
    with pytest.raises(SourceFormatError) as caught:
        reader(path)
    assert path.name in str(caught.value)
    assert caught.value.source == str(path)
    return caught.value


# --- file-level problems -----------------------------------------------------------------------


def test_zero_byte_file(tmp_path):
    for reader, name in ((read_apd_calls, "calls.csv"), (read_ace_events, "ace.xlsx")):
        error = error_of(reader, write(tmp_path / name, b""))
        assert "empty file (0 bytes)" in str(error)


def test_header_only_file_has_zero_rows(tmp_path):
    header = calls_bytes(rows=())
    assert len(read_apd_calls(write(tmp_path / "calls.csv", header))) == 0
    # Without the final line break too.
    assert len(read_apd_calls(write(tmp_path / "calls2.csv", header.rstrip(b"\n")))) == 0
    assert len(read_ace_events(write(tmp_path / "ace.csv", ACE_HEADER))) == 0


def test_blank_first_line(tmp_path):
    error = error_of(read_apd_calls, write(tmp_path / "calls.csv", b"\n\n" + calls_bytes()))
    assert "the first line is blank" in str(error)


def test_non_utf8_bytes_name_line_and_offset(tmp_path):
    data = calls_bytes().replace(b"Alarm Burglar", b"Alarm Burgl\xe9r", 1)
    error = error_of(read_apd_calls, write(tmp_path / "calls.csv", data))
    offset = data.index(b"\xe9")
    assert "not UTF-8 text: byte E9" in str(error)
    assert f"byte offset {offset:,} on line 2" in str(error)
    assert "re-export the file as UTF-8 CSV" in str(error)


def test_non_utf8_header(tmp_path):
    error = error_of(read_ace_events, write(tmp_path / "ace.csv", b"FOLDERRSN\xff," + ACE_HEADER))
    assert "byte FF at byte offset 9 in the header" in str(error)


def test_utf16_file(tmp_path):
    data = calls_bytes().decode().encode("utf-16")
    error = error_of(read_apd_calls, write(tmp_path / "calls.csv", data))
    assert "UTF-16" in str(error)


def test_csv_bytes_named_xlsx(tmp_path):
    error = error_of(read_apd_calls, write(tmp_path / "calls.xlsx", calls_bytes()))
    assert "not an XLSX workbook (no ZIP signature); the bytes look like CSV text" in str(error)


def test_broken_workbook(tmp_path):
    path = tmp_path / "calls.xlsx"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("notes.txt", "not a workbook")
    error = error_of(read_apd_calls, path)
    assert "cannot read as an XLSX workbook" in str(error)


def test_workbook_named_csv(tmp_path):
    path = tmp_path / "calls.csv"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("xl/workbook.xml", "<workbook/>")
    assert "not CSV text but a ZIP archive" in str(error_of(read_apd_calls, path))


def test_wrong_number_of_fields_names_the_rows(tmp_path):
    lines = calls_bytes(rows=(ROW_1, ROW_2, ROW_1, ROW_2)).split(b"\n")
    lines[2] = lines[2].rsplit(b",", 3)[0]  # row 2 lost its last three fields
    lines[4] = lines[4] + b',"extra"'  # row 4 has one field too many
    error = error_of(read_apd_calls, write(tmp_path / "calls.csv", b"\n".join(lines)))
    assert error.row == 2
    message = str(error)
    assert message.startswith(f"{tmp_path / 'calls.csv'}, row 2: expected 25 fields")
    assert "found 22 on line 3" in message and "rows 2, 4" in message


def test_truncated_last_line(tmp_path):
    data = calls_bytes()
    error = error_of(read_apd_calls, write(tmp_path / "calls.csv", data[: len(data) - 40]))
    assert error.row == 2 and "expected 25 fields" in str(error)


def test_nul_byte_names_column_and_row(tmp_path):
    data = calls_bytes().replace(b"George", b"Geo\x00rge", 1)
    error = error_of(read_apd_calls, write(tmp_path / "calls.csv", data))
    assert (error.column, error.row) == ("Sector", 2)
    assert "column 'Sector', row 2: contains a NUL character" in str(error)


def test_values_under_a_blank_header(tmp_path):
    path = write(
        tmp_path / "ace.csv", ACE_HEADER.rstrip(b"\n") + b",\n" + ACE_ROW.rstrip(b"\n") + b",x\n"
    )
    error = error_of(read_ace_events, path)
    assert "position 7 has a blank header but holds values" in str(error) and error.row == 1


def test_trailing_separators_are_not_a_column(tmp_path):
    path = write(
        tmp_path / "ace.csv", ACE_HEADER.rstrip(b"\n") + b",\n" + ACE_ROW.rstrip(b"\n") + b",\n"
    )
    assert len(read_ace_events(path)) == 1


def test_duplicated_and_missing_headers_are_schema_errors(tmp_path):
    duplicated = write_csv(tmp_path / "dup.csv", [*HEADER_25, "Geo ID"], [ROW_1])
    with pytest.raises(SourceSchemaError, match="dup.csv: columns appearing more than once"):
        read_apd_calls(duplicated)
    missing = write(tmp_path / "ace.csv", b"FOLDERRSN,FOLDERNAME\n1,x\n")
    with pytest.raises(SourceSchemaError, match="ace.csv: missing required columns") as error:
        read_ace_events(missing)
    assert isinstance(error.value, DataError)


def test_unsupported_suffix_is_a_source_format_error(tmp_path):
    error = error_of(read_text_table, write(tmp_path / "calls.txt", b"a\n1\n"))
    assert "unsupported file type '.txt'" in str(error)


# --- block groups ------------------------------------------------------------------------------

_BOX = [[[-97.75, 30.29], [-97.73, 30.29], [-97.73, 30.31], [-97.75, 30.31], [-97.75, 30.29]]]
_BOWTIE = [[[-97.75, 30.29], [-97.73, 30.31], [-97.73, 30.29], [-97.75, 30.31], [-97.75, 30.29]]]


def feature(block_group: str, geometry=None, **overrides) -> dict:
    properties = {
        "STATEFP": "48",
        "COUNTYFP": "453",
        "TRACTCE": "041200",
        "BLKGRPCE": block_group,
        "GEOID": f"48453041200{block_group}",
        "ALAND": 1_000_000,
        "AWATER": 0,
        "INTPTLAT": "+30.3000000",
        "INTPTLON": "-097.7400000",
        **overrides,
    }
    geometry = {"type": "Polygon", "coordinates": _BOX} if geometry is None else geometry
    return {"type": "Feature", "properties": properties, "geometry": geometry}


def write_features(path: Path, *features: dict) -> Path:
    path.write_text(json.dumps({"type": "FeatureCollection", "features": list(features)}))
    return path


def test_bad_features_are_rejected_with_reasons_and_positions(tmp_path):
    path = write_features(
        tmp_path / "bg.geojson",
        feature("1"),
        feature("2", GEOID=None),
        feature("3", geometry={"type": "Polygon", "coordinates": _BOWTIE}),
        feature("4", geometry={"type": "Point", "coordinates": [-97.74, 30.3]}),
        feature("5", INTPTLAT="north"),
        feature("6", INTPTLAT="+40.0000000"),
        feature("7", ALAND=-5),
        feature("8", ALAND=1e30),
        feature("9", GEOID="484530412009", TRACTCE="999999"),
        feature("1"),  # the GEOID of the first feature again
        feature("0", STATEFP="06"),  # another state: filtered, not rejected
        {**feature("1", TRACTCE="041300", GEOID="484530413001"), "geometry": None},
    )

    result = load_block_groups(path)
    assert result.block_groups["GEOID"].tolist() == ["484530412003"]
    assert result.block_groups.geometry.is_valid.all()
    assert set(result.block_groups.geom_type) == {"MultiPolygon"}
    rejected = dict(zip(result.rejected["feature"], result.rejected["reject_reason"], strict=True))
    assert rejected == {
        1: "duplicate_geoid",
        2: "missing_geoid",
        4: "invalid_geometry",
        5: "invalid_internal_point",
        6: "invalid_internal_point",
        7: "invalid_area",
        8: "invalid_area",
        9: "invalid_geoid",
        10: "duplicate_geoid",
        12: "empty_geometry",
    }
    assert result.rejected["source_file"].unique().tolist() == ["bg.geojson"]
    assert result.stats["geometries_repaired"] == 1
    assert result.stats["features_rejected"] == 10
    assert result.stats["features_outside_counties"] == 1
    assert read_block_groups(path)["GEOID"].tolist() == ["484530412003"]


def test_block_group_code_typed_as_numbers_is_padded(tmp_path):
    path = write_features(
        tmp_path / "bg.geojson", feature("1", STATEFP=48, COUNTYFP=453, GEOID=484530412001)
    )
    result = load_block_groups(path)
    assert result.block_groups["GEOID"].tolist() == ["484530412001"]
    assert result.block_groups["COUNTYFP"].tolist() == ["453"]


def test_unreadable_block_group_files(tmp_path):
    error = error_of(read_block_groups, write(tmp_path / "bg.geojson", b""))
    assert "empty file (0 bytes)" in str(error)
    error = error_of(read_block_groups, write(tmp_path / "bg.geojson", b'{"type": "Feat'))
    assert "cannot read as GeoJSON, GeoPackage or a zipped shapefile" in str(error)
    error = error_of(read_block_groups, write(tmp_path / "bg.zip", b"GEOID,ALAND\n1,2\n"))
    assert "cannot read" in str(error)


def test_repeated_attribute_names_are_a_schema_error(tmp_path):
    path = write_features(tmp_path / "bg.geojson", feature("1", geoid="484530412001"))
    with pytest.raises(SourceSchemaError, match="GEOID"):
        read_block_groups(path)
