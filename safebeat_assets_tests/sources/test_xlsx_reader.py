"""The batched fastexcel XLSX reader gives exactly the reference reader's text (python-calamine
cell by cell) for every kind of cell, and its errors."""

from __future__ import annotations

import datetime as dt
import io
import re
import zipfile
from pathlib import Path

import openpyxl
import pyarrow as pa
import pytest

from safebeat_assets.errors import SourceFormatError
from safebeat_assets.sample import generate_sample
from safebeat_assets.sources import xlsx
from safebeat_assets.sources.files import read_text_table

EVERY_KIND = [
    "text", "", " padded ", "x & <y>", "é ünïcode", "true", "1.5", "0.0000001",
    1.0, 0.0, -0.0, 304.5, 0.1 + 0.2, 1e-7, -2.5e-5, 1e20, 2.0**53 + 2, 484530412002.0,
    41249997089.80554, 7, True, False,
    dt.datetime(2025, 10, 31, 23, 59, 47), dt.datetime(2025, 11, 1, 0, 13, 17, 999_999),
    dt.datetime(2025, 11, 1, 0, 13, 17, 400_000), dt.datetime(2024, 1, 13),
    dt.date(2024, 1, 13), dt.time(13, 5, 7), dt.timedelta(hours=30, minutes=1), None,
]  # fmt: skip


def _save(workbook: openpyxl.Workbook, path: Path, errors: dict[str, str] | None = None) -> Path:
    buffer = io.BytesIO()
    workbook.save(buffer)
    data = buffer.getvalue()
    if errors:
        # openpyxl writes formulas without a cached value; an error cell as Excel saves it is
        # `t="e"` with the error text as its value.
        source = zipfile.ZipFile(io.BytesIO(data))
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w") as target:
            for info in source.infolist():
                payload = source.read(info.filename)
                if info.filename == "xl/worksheets/sheet1.xml":
                    text = payload.decode()
                    for ref, error in errors.items():
                        text = re.sub(
                            rf'<c r="{ref}"[^>]*>.*?</c>',
                            f'<c r="{ref}" t="e"><v>{error}</v></c>',
                            text,
                        )
                    payload = text.encode()
                target.writestr(info, payload)
        data = out.getvalue()
    path.write_bytes(data)
    return path


def _same_as_reference(path: Path) -> pa.Table:
    fast = xlsx.read_xlsx_as_text(path)
    reference = xlsx.read_xlsx_with_calamine(path)
    assert fast.column_names == reference.column_names
    assert fast.to_pydict() == reference.to_pydict()
    assert all(kind == pa.string() for kind in fast.schema.types)
    return fast


def _every_kind_workbook(path: Path) -> Path:
    """Each kind of cell alone in a typed column, all of them in one mixed column, errors,
    blank rows, a repeated header, a blank-headed empty column and one holding nothing."""
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(["mixed", "number", "when", "flag", "number", None, "text", "mostly numbers"])
    for index, value in enumerate(EVERY_KIND):
        number = [1.0, 304.5, 484530412002.0, 7][index % 4]
        when = dt.datetime(2025, 1, 1, 12) + dt.timedelta(hours=index * 7, seconds=0.4 * index)
        flag = index % 3 == 0
        mostly = "No" if index % 5 == 0 else index % 2
        sheet.append([value, number, when, flag, -number, None, f"t{index}", mostly])
        if index % 9 == 4:
            sheet.append([])  # a blank row between data rows
    sheet.append(["error", 2.0, None, None, None, None, "error", "error"])
    last = sheet.max_row
    errors = {
        f"A{last}": "#DIV/0!",
        f"G{last}": "#N/A",
        f"H{last}": "#VALUE!",
        f"G{last - 1}": "#REF!",
    }
    return _save(workbook, path, errors=errors)


def test_every_kind_of_cell_reads_as_the_reference_does(tmp_path):
    table = _same_as_reference(_every_kind_workbook(tmp_path / "every.xlsx"))
    assert table.column_names[:5] == ["mixed", "number", "when", "flag", "number"]
    mixed = table.column("mixed").to_pylist()
    assert mixed[0] == "text" and mixed[1] is None and mixed[3] == "x & <y>"
    assert "1e-07" in mixed and "True" in mixed and "2025-11-01 00:13:18" in mixed
    # python-calamine gives error cells (#DIV/0!, #N/A, ...) as blanks.
    assert mixed[-1] is None and table.column("text").to_pylist()[-2:] == [None, None]


@pytest.mark.parametrize("piece_bytes", [300, 2_000])
def test_pieces_and_columns_found_mixed_in_a_later_piece(tmp_path, monkeypatch, piece_bytes):
    """Many small pieces: a column that is numeric in the first pieces and mixed later, typed
    columns that change kind between pieces, and pieces whose column A is empty."""
    monkeypatch.setattr(xlsx, "_BATCH_BYTES", piece_bytes)
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(["id", "late", "when", "sparse"])
    for row in range(200):
        late = "No" if row > 150 and row % 7 == 0 else float(row % 2)
        when = dt.datetime(2024, 3, 10, 1, 59, 59) + dt.timedelta(minutes=row)
        sheet.append([float(row) if row % 40 else None, late, when, "s" if row % 50 == 0 else None])
    _same_as_reference(_save(workbook, tmp_path / "pieces.xlsx"))


def test_generated_apd_workbook_takes_the_fast_path(tmp_path, monkeypatch):
    """The sample's APD workbook (inline strings, native datetimes, numbers, a text/number
    flag column) never needs the cell-by-cell reader."""
    paths = generate_sample(tmp_path / "x", n_calls=2_000, seed=7, calls_format="xlsx")
    reference = xlsx.read_xlsx_with_calamine(paths.calls)
    monkeypatch.setattr(xlsx, "_BATCH_BYTES", 100_000)

    def refuse(*_args):
        raise AssertionError("took the reference path")

    monkeypatch.setattr(xlsx, "read_xlsx_with_calamine", refuse)
    monkeypatch.setattr(xlsx, "_reference_piece", refuse)
    fast = xlsx.read_xlsx_as_text(paths.calls)
    assert fast.to_pydict() == reference.to_pydict()


def test_first_of_two_sheets_with_data_away_from_column_a(tmp_path):
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    workbook.create_sheet("second sheet").append(["not", "read"])
    sheet["B1"], sheet["C1"] = "first", "second"
    sheet["C4"], sheet["B6"], sheet["C6"] = 2.5, "x", dt.datetime(2020, 2, 29, 23, 59, 59)
    path = _save(workbook, tmp_path / "offset.xlsx")
    assert _same_as_reference(path).column_names == ["", "first", "second"]
    assert read_text_table(path).to_pydict() == {
        "first": [None, "x"],
        "second": ["2.5", "2020-02-29 23:59:59"],
    }


def test_header_only_and_errors(tmp_path):
    workbook = openpyxl.Workbook()
    workbook.active.append(["a", "b"])
    header_only = _same_as_reference(_save(workbook, tmp_path / "header.xlsx"))
    assert header_only.num_rows == 0 and header_only.column_names == ["a", "b"]

    empty = _save(openpyxl.Workbook(), tmp_path / "empty.xlsx")
    with pytest.raises(SourceFormatError, match="empty workbook: the first sheet has no header"):
        xlsx.read_xlsx_as_text(empty)

    workbook = openpyxl.Workbook()
    workbook.active["A2"] = "value"
    blank = _save(workbook, tmp_path / "blank.xlsx")
    with pytest.raises(SourceFormatError, match="first row of the first sheet is blank"):
        xlsx.read_xlsx_as_text(blank)

    workbook = openpyxl.Workbook()
    workbook.active.append(["a", None])
    workbook.active.append(["1", "orphan"])
    orphan = _save(workbook, tmp_path / "orphan.xlsx")
    with pytest.raises(SourceFormatError, match="position 2 has a blank header but holds values"):
        read_text_table(orphan)

    broken = tmp_path / "broken.xlsx"
    with zipfile.ZipFile(broken, "w") as archive:
        archive.writestr("xl/workbook.xml", "<workbook/>")
    with pytest.raises(SourceFormatError, match="cannot read as an XLSX workbook"):
        xlsx.read_xlsx_as_text(broken)


def test_typed_columns_convert_without_the_reference_path(tmp_path, monkeypatch):
    """Numbers of every magnitude, datetimes with fractions of a second and at midnight,
    booleans, text: converted with Arrow, the same text as the reference."""
    numbers = [1.0, 0.0, -0.0, 304.5, 0.1 + 0.2, 1e-7, -2.5e-5, 1e-4, 1e15 + 0.5, 1e16, 1e20]
    numbers += [2.0**53 + 2, -(2.0**53), 484530412002.0, 41249997089.80554, 4794094861493037.0]
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(["number", "when", "flag", "text", "sometimes"])
    for index, number in enumerate(numbers):
        when = dt.datetime(2024, 1, 13) + dt.timedelta(seconds=index * 3_600.4999)
        if index == 3:
            when = dt.datetime(2025, 11, 1, 0, 13, 17, 999_999)
        sometimes = None if index % 2 else float(index)
        sheet.append([number, when, index % 2 == 0, f"n{index}", sometimes])
    path = _save(workbook, tmp_path / "typed.xlsx")
    reference = xlsx.read_xlsx_with_calamine(path)

    def refuse(*_args):
        raise AssertionError("took the reference path")

    monkeypatch.setattr(xlsx, "read_xlsx_with_calamine", refuse)
    monkeypatch.setattr(xlsx, "_reference_piece", refuse)
    fast = xlsx.read_xlsx_as_text(path)
    assert fast.to_pydict() == reference.to_pydict()
    assert fast.column("number").to_pylist()[:7] == [
        "1",
        "0",
        "0",
        "304.5",
        "0.3",
        "1e-07",
        "-2.5e-05",
    ]
    assert fast.column("when").to_pylist()[0] == "2024-01-13"  # exactly midnight: a date


@pytest.mark.parametrize("member", ["_rels/.rels", "xl/workbook.xml"])
def test_a_damaged_package_part_is_a_source_format_error(tmp_path, member):
    """A part the sheet lookup reads whose zip header is broken (found by the ACE fuzz test:
    zipfile's BadZipFile escaped the reader) fails as a SourceFormatError, naming the file."""
    workbook = openpyxl.Workbook()
    workbook.active.append(["FOLDERRSN", "FOLDERNAME"])
    workbook.active.append([1, "x"])
    path = _save(workbook, tmp_path / "damaged.xlsx")
    data = bytearray(path.read_bytes())
    offset = zipfile.ZipFile(path).getinfo(member).header_offset
    data[offset : offset + 4] = b"XXXX"  # the local file header's signature
    path.write_bytes(bytes(data))
    with pytest.raises(SourceFormatError, match="damaged.xlsx"):
        xlsx.read_xlsx_as_text(path)


def test_a_package_without_a_workbook_relationship_is_a_source_format_error(tmp_path):
    """`_rels/.rels` naming no officeDocument: the sheet lookup's StopIteration does not escape."""
    workbook = openpyxl.Workbook()
    workbook.active.append(["FOLDERRSN"])
    source = zipfile.ZipFile(io.BytesIO(_save(workbook, tmp_path / "ok.xlsx").read_bytes()))
    path = tmp_path / "no_workbook.xlsx"
    with zipfile.ZipFile(path, "w") as target:
        for info in source.infolist():
            payload = source.read(info.filename)
            if info.filename == "_rels/.rels":
                payload = payload.replace(b"/officeDocument", b"/somethingElse")
            target.writestr(info, payload)
    with pytest.raises(SourceFormatError, match="no_workbook.xlsx"):
        xlsx.read_xlsx_as_text(path)
