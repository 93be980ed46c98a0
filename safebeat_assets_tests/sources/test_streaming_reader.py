"""The batch reader of APD exports gives exactly the whole-file reader's table and errors,
wherever the batches are cut."""

from __future__ import annotations

import pyarrow as pa
import pytest

from safebeat_assets.errors import SourceFormatError
from safebeat_assets.sources import read_apd_calls_table, streaming
from safebeat_assets.sources.streaming import iter_apd_call_batches

SHA = "0" * 64


@pytest.fixture
def small_batches(monkeypatch):
    # A few kB per batch: a few hundred rows become many batches.
    monkeypatch.setattr(streaming, "STREAM_BLOCK_BYTES", 8 << 10)


def export(sample_landing):
    return next((sample_landing / "calls").glob("*.csv"))


def whole(path) -> pa.Table:
    return read_apd_calls_table(path, SHA)


def streamed(path) -> pa.Table:
    batches = list(iter_apd_call_batches(path, SHA))
    assert len(batches) > 1
    return pa.concat_tables(batches)


def head(path, out, rows: int) -> bytes:
    lines = path.read_bytes().splitlines(keepends=True)[: rows + 1]
    out.write_bytes(b"".join(lines))
    return b"".join(lines)


def test_batches_equal_the_whole_file(sample_landing, small_batches):
    path = export(sample_landing)
    assert streamed(path).equals(whole(path))


def test_a_quoted_line_break_late_in_the_file(sample_landing, small_batches, tmp_path):
    path = tmp_path / "calls.csv"
    data = head(export(sample_landing), path, 400)
    lines = data.splitlines(keepends=True)
    fields = lines[-1].decode().rstrip("\n").split(",")
    fields[1] = '"Dispatched\nIncident"'  # Incident Type, as Excel writes Alt+Enter
    path.write_bytes(b"".join(lines[:-1]) + (",".join(fields) + "\n").encode())
    table = streamed(path)
    assert table.equals(whole(path))
    assert table["incident_type"][-1].as_py() == "Dispatched\nIncident"


@pytest.mark.parametrize(
    "damage",
    [
        pytest.param(lambda line: line.rsplit(b",", 3)[0] + b"\n", id="missing fields"),
        pytest.param(lambda line: line.replace(b"Priority", b"Prio\x00rity"), id="NUL"),
        pytest.param(lambda line: line.replace(b"Priority", b"Prio\xffrity"), id="not UTF-8"),
    ],
)
def test_errors_name_the_same_row_as_the_whole_file_reader(
    sample_landing, small_batches, tmp_path, damage
):
    path = tmp_path / "calls.csv"
    lines = head(export(sample_landing), path, 400).splitlines(keepends=True)
    lines[350] = damage(lines[350])
    path.write_bytes(b"".join(lines))
    with pytest.raises(SourceFormatError) as expected:
        whole(path)
    with pytest.raises(SourceFormatError) as got:
        list(iter_apd_call_batches(path, SHA))
    assert str(got.value) == str(expected.value)


def test_header_only_yields_nothing(sample_landing, tmp_path):
    path = tmp_path / "calls.csv"
    head(export(sample_landing), path, 0)
    assert list(iter_apd_call_batches(path, SHA)) == []


def test_quoted_line_breaks_on_every_row(sample_landing, small_batches, tmp_path):
    """Blocks are cut at line ends: with a line break inside a value on every row, many cuts
    fall inside a value, and the reader must still give the whole file's table."""
    path = tmp_path / "calls.csv"
    lines = head(export(sample_landing), path, 300).splitlines(keepends=True)
    broken = [lines[0]]
    for line in lines[1:]:
        fields = line.decode().rstrip("\n").split(",")
        fields[1] = f'"{fields[1]}\nsecond line"'
        broken.append((",".join(fields) + "\n").encode())
    path.write_bytes(b"".join(broken))
    table = streamed(path)
    assert table.equals(whole(path))
    assert table.num_rows == 300
    assert table["incident_type"][0].as_py().endswith("\nsecond line")


@pytest.mark.parametrize(
    "reshape",
    [
        pytest.param(lambda data: data.rstrip(b"\n"), id="no final line end"),
        pytest.param(lambda data: data.replace(b"\n", b"\r\n"), id="CRLF line ends"),
        pytest.param(lambda data: data.replace(b"\n", b"\n\n"), id="blank lines"),
    ],
)
def test_block_cuts_whatever_the_line_ends(sample_landing, small_batches, tmp_path, reshape):
    path = tmp_path / "calls.csv"
    data = head(export(sample_landing), path, 400)
    path.write_bytes(reshape(data))
    assert streamed(path).equals(whole(path))


def test_a_line_longer_than_a_block(sample_landing, monkeypatch, tmp_path):
    monkeypatch.setattr(streaming, "STREAM_BLOCK_BYTES", 64)
    path = tmp_path / "calls.csv"
    head(export(sample_landing), path, 40)
    assert streamed(path).equals(whole(path))
