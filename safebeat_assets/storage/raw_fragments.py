"""Raw call exports in the lake as content-addressed fragments: one folder per landing file
(named by its SHA-256), holding that file's rows split by the month they are dated in.

Why: a daily run must cost what the day costs. A landing file already ingested (same bytes,
same SHA-256) is never read again, and a monthly partition downstream reads only the fragments
of its own month, so neither time nor memory grows with the history kept in the landing zone.

Layout under ``<lake>/raw/raw_911_calls/fragments/<FORMAT>/<sha256>/``:

- ``<month>.<part>.parquet``: the file's rows dated in ``month`` (``YYYY-MM-01``, or
  ``unreadable`` when no month can be read from the response datetime) from one read batch, in
  file order, as text plus provenance (exactly `read_apd_calls_table`'s columns; another
  city's export is translated by its adapter onto the same columns, plus latitude/longitude
  when it locates calls by coordinates);
- ``ingest.json``: written last, so its presence means the file was read completely: the rows,
  fingerprint and parts of each month, the adapter that read it and what translating counted.

Fragments are immutable and shared by every export that lists the same file: the asset's stored
value is the manifest (which files make up the export, and their months), the commit point.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from upath import UPath

from ..sources.columns import PROVENANCE_COLUMNS, SOURCE_ROW
from ..sources.streaming import AUSTIN_ADAPTER, open_city_calls
from ..transform.months import (
    MonthGroups,
    StreamingMonthFingerprints,
    route_partition_keys,
    rows_at,
    text_month_keys,
)
from .background import BackgroundWrites, read_ahead
from .object_store import LakeStorage, is_local

# Bump when the fragment content changes (reader, columns): old fragments are then re-read.
FORMAT = "v1"
UNREADABLE_MONTH = "unreadable"
INGEST_RECORD = "ingest.json"
EXTENSION = ".parquet"
# Fragments encoded or being written while the next batches are read: a few batches' worth.
_PENDING_FRAGMENTS = 8
# The manifest: one row per (landing file, month present in it).
MANIFEST_COLUMNS = ("source_file", "source_sha256", "month", "rows", "fingerprint", "parts")


@dataclass
class FileIngest:
    """What one landing file holds, per month it has rows in."""

    sha256: str
    rows: dict[str, int] = field(default_factory=dict)
    fingerprints: dict[str, str] = field(default_factory=dict)
    parts: dict[str, list[str]] = field(default_factory=dict)
    adapter: str = AUSTIN_ADAPTER
    translation: dict[str, int] = field(default_factory=dict)  # the adapter's counts

    @property
    def total_rows(self) -> int:
        return sum(self.rows.values())

    def to_json(self) -> str:
        return json.dumps(
            {"sha256": self.sha256, "rows": self.rows, "fingerprints": self.fingerprints,
             "parts": self.parts, "adapter": self.adapter, "translation": self.translation},
            sort_keys=True,
        )  # fmt: skip

    @classmethod
    def from_json(cls, text: str) -> FileIngest:
        data = json.loads(text)
        # Records written before adapters existed are Austin's, untranslated.
        return cls(
            data["sha256"],
            data["rows"],
            data["fingerprints"],
            data["parts"],
            data.get("adapter", AUSTIN_ADAPTER),
            data.get("translation", {}),
        )


class RawCallFragments:
    """Reads landing files into fragments once, and fragments back by monthly partition."""

    def __init__(self, storage: LakeStorage, folder: UPath):
        self.storage = storage
        self.folder = folder / FORMAT

    @classmethod
    def in_lake(cls, storage: LakeStorage, bucket: str, asset_name: str) -> RawCallFragments:
        return cls(storage, storage.upath().joinpath(bucket, asset_name, "fragments"))

    # --- writing -------------------------------------------------------------------------
    def ingested(self, sha256: str) -> FileIngest | None:
        """The record of a file read completely before, or None."""
        try:
            return FileIngest.from_json(
                self.storage.read_bytes(self.folder / sha256 / INGEST_RECORD).decode()
            )
        except FileNotFoundError:
            return None

    def ingest(self, path: Path, sha256: str, city: str = AUSTIN_ADAPTER) -> FileIngest:
        """Read `path` (an export of `city`, an adapter name) in batches and store its rows by
        month; raises the reader's SourceFormatError/SourceSchemaError (or NoAdapterMatchesError)
        for a bad file (its record is then not written)."""
        stream = open_city_calls(path, sha256, city)
        record = FileIngest(sha256, adapter=stream.adapter.name)
        prints = StreamingMonthFingerprints()
        # The next batch is parsed and the last ones written while this one is hashed.
        with (
            BackgroundWrites(max_pending=_PENDING_FRAGMENTS) as writes,
            closing(read_ahead(stream.batches)) as batches,
        ):
            for number, adapted in enumerate(batches):
                batch = adapted.table
                for name, count in adapted.counts.items():
                    record.translation[name] = record.translation.get(name, 0) + count
                months = MonthGroups.of(_month_keys(batch))
                for month, rows in months:
                    part = f"{month}.{number:05d}{EXTENSION}"
                    writes.submit(self._write, rows_at(batch, rows), self.folder / sha256 / part)
                    record.parts.setdefault(month, []).append(part)
                    record.rows[month] = record.rows.get(month, 0) + len(rows)
                prints.update(batch.drop_columns(list(PROVENANCE_COLUMNS)), months)
        record.fingerprints = prints.fingerprints()
        self.storage.write_bytes(self.folder / sha256 / INGEST_RECORD, record.to_json().encode())
        return record

    def _write(self, table: pa.Table, path: UPath) -> None:
        buffer = pa.BufferOutputStream()
        pq.write_table(table, buffer, compression="zstd")
        self.storage.write_bytes(path, buffer.getvalue().to_pybytes())

    def prune(self, keep: Iterable[str]) -> list[str]:
        """Remove the fragments of every file whose SHA-256 is not in `keep`; returns those."""
        kept = set(keep)
        removed = [sha for sha in self._stored_files() if sha not in kept]
        for sha in removed:
            self.storage.delete_folder(self.folder / sha)
        return removed

    def _stored_files(self) -> list[str]:
        if is_local(self.folder):
            local = Path(self.folder.path)
            return sorted(p.name for p in local.iterdir() if p.is_dir()) if local.is_dir() else []
        return sorted(self.storage.folder_names(self.folder))

    # --- reading -------------------------------------------------------------------------
    def read_partition(self, manifest: pd.DataFrame, partition: str, first: str, last: str):
        """The raw rows of one monthly partition, in export order: its own month, plus every
        earlier month when it is the first partition and every later or unreadable one when
        it is the last (cleaning quarantines those), across the manifest's files."""
        wanted = manifest[_partition_of(manifest["month"], first, last) == partition]
        tables = [
            self._read(self.folder / sha / part)
            for sha, parts in zip(wanted["source_sha256"], wanted["parts"], strict=True)
            for part in parts.split(",")
        ]
        if not tables:
            return None
        table = pa.concat_tables(tables, promote_options="default")
        if wanted["month"].nunique() > 1:
            # Several months routed here: back to file order (files in manifest order).
            files = pa.array(manifest["source_file"].unique(), pa.string())
            rank = pc.index_in(table["source_file"], value_set=files).to_numpy()
            order = np.lexsort((table[SOURCE_ROW].to_numpy(), rank))
            table = table.take(pa.array(order))
        return table

    def _read(self, path: UPath) -> pa.Table:
        # Arrow reads its own buffer natively; a BytesIO is read through Python calls.
        return pq.read_table(pa.BufferReader(self.storage.read_bytes(path)))


def manifest_of(files: list[tuple[str, FileIngest]]) -> pd.DataFrame:
    """The export as stored: one row per (file, month), files in landing order."""
    rows = [
        (name, record.sha256, month, record.rows[month], record.fingerprints[month],
         ",".join(record.parts[month]))
        for name, record in files
        for month in sorted(record.rows)
    ]  # fmt: skip
    frame = pd.DataFrame(rows, columns=list(MANIFEST_COLUMNS))
    frame["rows"] = frame["rows"].astype("int64")
    return frame


def partition_rows(manifest: pd.DataFrame, first: str, last: str) -> dict[str, int]:
    """Rows per monthly partition (out-of-range months routed to the first/last)."""
    keys = _partition_of(manifest["month"], first, last)
    counts = manifest["rows"].groupby(keys.to_numpy()).sum()
    return {str(k): int(v) for k, v in sorted(counts.items())}


def partition_fingerprints(manifest: pd.DataFrame, first: str, last: str) -> dict[str, str]:
    """A content fingerprint per monthly partition: its months' fingerprints in export order.
    File names and positions do not enter, so the same rows re-exported under another name
    keep the partition's fingerprint."""
    keys = _partition_of(manifest["month"], first, last).to_numpy()
    digests: dict[str, hashlib._Hash] = {}
    for key, month, fingerprint in zip(
        keys, manifest["month"], manifest["fingerprint"], strict=True
    ):
        digest = digests.setdefault(str(key), hashlib.blake2b(digest_size=8))
        digest.update(f"{month}:{fingerprint};".encode())
    return {key: digest.hexdigest() for key, digest in sorted(digests.items())}


def rows_outside(manifest: pd.DataFrame, first: str, last: str) -> int:
    """Rows dated before the first or after the last partition (unreadable ones excluded)."""
    months = manifest["month"]
    readable = months != UNREADABLE_MONTH
    outside = readable & ((months < first) | (months > last))
    return int(manifest.loc[outside, "rows"].sum())


def _partition_of(months: pd.Series, first: str, last: str) -> pd.Series:
    keys = months.where(months != UNREADABLE_MONTH, None).to_numpy(dtype=object)
    return pd.Series(route_partition_keys(keys, first, last), index=months.index)


def _month_keys(batch: pa.Table) -> np.ndarray:
    keys = text_month_keys(batch["response_datetime"])
    keys[pd.isna(keys)] = UNREADABLE_MONTH
    return keys
