"""Raw exports as per-file, per-month fragments: read once, read back by partition in export
order, fingerprints that depend on the rows only, pruning, on a local lake and on S3."""

from __future__ import annotations

import shutil
import threading

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from safebeat_assets.benchmark.workload import add_daily_file, calls_export
from safebeat_assets.sources import file_sha256, read_apd_calls_table, streaming
from safebeat_assets.sources.columns import PROVENANCE_COLUMNS
from safebeat_assets.storage.object_store import LakeStorage
from safebeat_assets.storage.raw_fragments import (
    RawCallFragments,
    manifest_of,
    partition_fingerprints,
    partition_rows,
    rows_outside,
)
from safebeat_assets.transform.months import (
    StreamingMonthFingerprints,
    partition_month_keys,
    text_month_keys,
)

FIRST, LAST = "2023-01-01", "2025-12-01"


@pytest.fixture
def calls_dir(sample_landing, tmp_path):
    folder = tmp_path / "calls"
    shutil.copytree(sample_landing / "calls", folder)
    return folder


def ingest_all(fragments, paths):
    return [
        (path.name, fragments.ingested(sha) or fragments.ingest(path, sha))
        for path, sha in ((p, file_sha256(p)) for p in paths)
    ]


def local_fragments(tmp_path) -> RawCallFragments:
    storage = LakeStorage(root=str(tmp_path / "lake"))
    return RawCallFragments.in_lake(storage, "raw-data", "raw_911_calls")


def test_fingerprints_ignore_where_batches_are_cut(sample_landing):
    table = read_apd_calls_table(calls_export(sample_landing / "calls"))
    table = table.drop_columns(list(PROVENANCE_COLUMNS))
    months = text_month_keys(table["response_datetime"])
    one = StreamingMonthFingerprints()
    one.update(table, months)
    cut = StreamingMonthFingerprints()
    for start, stop in ((0, 1234), (1234, 1235), (1235, table.num_rows)):
        cut.update(table.slice(start, stop - start), months[start:stop])
    assert one.fingerprints() == cut.fingerprints()
    changed = StreamingMonthFingerprints()
    edited = table.set_column(1, "incident_type", pa.array(["x"] * table.num_rows))
    changed.update(edited.slice(0, 10), months[:10])
    changed.update(table.slice(10), months[10:])
    differing = {m for m, p in changed.fingerprints().items() if one.fingerprints()[m] != p}
    assert differing == set(months[:10])


def test_partitions_read_back_in_export_order(calls_dir, tmp_path, monkeypatch):
    monkeypatch.setattr(streaming, "STREAM_BLOCK_BYTES", 64 << 10)
    add_daily_file(calls_dir, "2025-06-30")
    paths = sorted(calls_dir.glob("*.csv"))
    fragments = local_fragments(tmp_path)
    records = ingest_all(fragments, paths)
    manifest = manifest_of(records)
    whole = pa.concat_tables([read_apd_calls_table(p) for p in paths])
    first, last = "2025-02-01", "2025-05-01"  # January, June and July routed to the edges
    routed = partition_month_keys(whole["response_datetime"], first, last)
    assert partition_rows(manifest, first, last) == {
        str(k): int(v)
        for k, v in zip(*np.unique(routed.astype(str), return_counts=True), strict=True)
    }
    readable = text_month_keys(whole["response_datetime"])
    readable = readable[pd.notna(readable)]
    assert rows_outside(manifest, first, last) == int(
        ((readable < first) | (readable > last)).sum()
    )
    for month in (first, "2025-03-01", last):
        expected = whole.filter(pa.array(routed == month))
        assert fragments.read_partition(manifest, month, first, last).equals(expected), month
    # The daily file's day is in the last partition, after the export's rows.
    last_rows = fragments.read_partition(manifest, last, first, last)
    assert last_rows["source_file"][-1].as_py() == paths[1].name


def test_read_once_and_the_same_rows_keep_their_fingerprint(calls_dir, tmp_path):
    fragments = local_fragments(tmp_path)
    export = calls_export(calls_dir)
    [(_, record)] = ingest_all(fragments, [export])
    before = manifest_of([(export.name, record)])
    assert fragments.ingested(record.sha256) == record
    # Renamed, same bytes: nothing changes but the name.
    renamed = export.rename(calls_dir / "APD_911_Calls_for_Service_renamed.csv")
    after = manifest_of(ingest_all(fragments, [renamed]))
    assert partition_fingerprints(after, FIRST, LAST) == partition_fingerprints(before, FIRST, LAST)
    # One more day in a daily file: only its month's fingerprint changes.
    add_daily_file(calls_dir, "2025-06-30")
    grown = manifest_of(ingest_all(fragments, sorted(calls_dir.glob("*.csv"))))
    old, new = (partition_fingerprints(m, FIRST, LAST) for m in (before, grown))
    assert {k for k in new if new[k] != old.get(k)} == {"2025-07-01"}
    # Pruning keeps the listed files only.
    assert fragments.prune({record.sha256}) == sorted(set(grown["source_sha256"]) - {record.sha256})
    assert fragments.ingested(record.sha256) is not None


def test_on_s3(calls_dir, s3_storage):
    s3_storage.ensure_buckets()
    fragments = RawCallFragments.in_lake(s3_storage, "raw-data", "raw_911_calls")
    export = calls_export(calls_dir)
    records = ingest_all(fragments, [export])
    manifest = manifest_of(records)
    month = "2025-03-01"
    whole = read_apd_calls_table(export)
    expected = whole.filter(pa.array(text_month_keys(whole["response_datetime"]) == month))
    assert fragments.read_partition(manifest, month, FIRST, LAST).equals(expected)
    assert fragments.prune(set()) == [records[0][1].sha256]
    assert fragments.ingested(records[0][1].sha256) is None


def _fragment_files(fragments, sha):
    folder = fragments.folder / sha
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def test_a_bad_row_late_in_the_file_leaves_no_record_and_no_thread(
    calls_dir, tmp_path, monkeypatch
):
    """Batches are parsed ahead and fragments written behind: a file that fails after several
    batches raises the reader's error, is not recorded as read, and leaves nothing running."""
    from safebeat_assets.errors import SourceFormatError

    monkeypatch.setattr(streaming, "STREAM_BLOCK_BYTES", 16 << 10)
    export = calls_export(calls_dir)
    lines = export.read_bytes().splitlines(keepends=True)
    lines[-5] = lines[-5].rsplit(b",", 3)[0] + b"\n"  # missing fields near the end
    export.write_bytes(b"".join(lines))
    fragments = local_fragments(tmp_path)
    sha = file_sha256(export)
    threads = threading.active_count()
    with pytest.raises(SourceFormatError, match="expected .* fields"):
        fragments.ingest(export, sha)
    assert fragments.ingested(sha) is None
    assert "ingest.json" not in _fragment_files(fragments, sha)
    assert threading.active_count() == threads


def test_a_failed_fragment_write_stops_the_ingest(calls_dir, tmp_path, monkeypatch):
    monkeypatch.setattr(streaming, "STREAM_BLOCK_BYTES", 16 << 10)
    export = calls_export(calls_dir)
    fragments = local_fragments(tmp_path)
    real_write = LakeStorage.write_bytes
    written = []

    def failing_write(self, path, data):
        if len(written) == 3:
            raise OSError("No space left on device")
        written.append(path.name)
        real_write(self, path, data)

    monkeypatch.setattr(LakeStorage, "write_bytes", failing_write)
    sha = file_sha256(export)
    with pytest.raises(OSError, match="No space left"):
        fragments.ingest(export, sha)
    # The three fragments before the failure, none after it, and no record of a read.
    assert _fragment_files(fragments, sha) == sorted(written)
    assert fragments.ingested(sha) is None
