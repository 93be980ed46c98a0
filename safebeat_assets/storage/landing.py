"""The landing zone: where source exports are dropped before ingestion.

A local folder, or a prefix of the `raw-data` bucket (``s3://raw-data/landing``). A run never
parses a landing file in place: `source_files` copies each file once into a local snapshot,
hashing the bytes as it copies, so what is parsed is exactly what was hashed, even while the
export is being replaced. A local file is copied once it has been left alone for
`settle_seconds`, and copied again when it changes during the copy (identity, size, mtime or
content differ before and after); after a few attempts it is refused with
`LandingFileChangingError`. The settle time matters for writers that overwrite a file in place:
one paused half-way leaves a file that really holds half the new bytes, which no before/after
comparison can tell from a finished file (uploaders should write a temporary name and rename
it). An S3 object is fetched in one GET, which serves one version whole.
Snapshots are content-addressed (``<cache>/<source>/<sha256 prefix>/<name>``), so a run never
sees another run's copy change under it.

Only plain names directly in a source's folder are read: a name that could resolve elsewhere
(``..``, an absolute path, a separator) or a symlink leading outside the landing folder is
skipped with a warning, by the runs and by the sensor alike.
"""

import fnmatch
import hashlib
import json
import os
import shutil
import tempfile
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dagster as dg

from ..errors import DataError
from .object_store import LakeStorage, fsync_directory, unsafe_name_reason

SOURCE_PATTERNS: dict[str, tuple[str, ...]] = {
    "calls": ("*.csv", "*.xlsx"),
    "events": ("*.csv", "*.xlsx"),
    "block_groups": ("*.geojson", "*.json", "*.gpkg", "*.zip"),
}
COPY_ATTEMPTS = 5
_COPY_PAUSE_SECONDS = 0.2  # times the attempt number: an upload gets time to finish
_COPY_CHUNK = 1 << 20
# Snapshots unused for this long are removed when the same source is snapshotted again.
SNAPSHOT_RETENTION_SECONDS = 24 * 3600
_INCOMING_PREFIX = ".incoming-"
_INDEX_NAME = "snapshots.json"
# A local file is taken as unchanged from its stat only once it is older than this.
SNAPSHOT_REUSE_AGE_SECONDS = 2.0


class MissingSourceError(DataError, FileNotFoundError):
    """No input file was found for a source."""


class LandingFileChangingError(TimeoutError):
    """A landing file kept changing while it was copied (most likely an upload still in
    progress). Transient: the step's retry policy reads it again later."""


@dataclass(frozen=True)
class LandedFile:
    """One landing file as this run reads it: the local snapshot and the hash of its bytes."""

    source: str
    name: str
    origin: str  # the landed file: a local path or an s3:// URI
    path: Path  # the snapshot the run parses
    sha256: str
    size: int
    version: str  # "mtime_ns:<n>" locally, "etag:<etag>" on S3
    attempts: int  # copies made until one was consistent

    def metadata(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "origin": self.origin,
            "sha256": self.sha256,
            "size": self.size,
            "version": self.version,
        }


@dataclass(frozen=True)
class _Entry:
    name: str
    origin: str
    local: Path | None = None
    bucket: str = ""
    key: str = ""
    etag: str = ""
    size: int = 0


def _warn_skipped(origin: str, reason: str) -> None:
    dg.get_dagster_logger().warning(f"skipping landing file {origin!r}: {reason}")


def _inside(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def _identity(stat: os.stat_result) -> tuple[int, ...]:
    return (stat.st_dev, stat.st_ino, stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns)


class _SnapshotIndex:
    """Which snapshot holds each landed file, by the version that identifies it unchanged
    (`LandingZone._unchanged_version`): an unchanged export of gigabytes is neither copied nor
    hashed again on every run, only listed."""

    def __init__(self, folder: Path):
        self.path = folder / _INDEX_NAME

    def _read(self) -> dict[str, Any]:
        try:
            return json.loads(self.path.read_text())
        except (FileNotFoundError, ValueError):
            return {}

    def get(self, name: str, version: str | None) -> LandedFile | None:
        known = self._read().get(name)
        if version is None or not known or known.get("unchanged_version") != version:
            return None
        path = Path(known["path"])
        try:
            if path.stat().st_size != known["size"]:
                return None
            os.utime(path.parent)  # in use again: `_prune` leaves it alone
        except FileNotFoundError:
            return None
        fields = {k: known[k] for k in ("source", "name", "origin", "sha256", "size", "version")}
        return LandedFile(path=path, attempts=0, **fields)

    def put(self, landed: LandedFile, version: str | None) -> None:
        if version is None:
            return
        entries = self._read()
        entries[landed.name] = {
            **landed.metadata(),
            "source": landed.source,
            "path": str(landed.path),
            "unchanged_version": version,
        }
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(f"{_INCOMING_PREFIX}{uuid.uuid4().hex[:12]}.json")
        tmp.write_text(json.dumps(entries, sort_keys=True))
        os.replace(tmp, self.path)


class _Incoming:
    """A cache file being filled; `commit` moves it whole to its content-addressed name."""

    def __init__(self, folder: Path):
        folder.mkdir(parents=True, exist_ok=True)
        self.folder = folder
        self.tmp = folder / f"{_INCOMING_PREFIX}{uuid.uuid4().hex[:12]}.part"
        self.handle = self.tmp.open("xb")
        self.digest = hashlib.sha256()
        self.size = 0

    def write(self, chunk: bytes) -> None:
        self.digest.update(chunk)
        self.handle.write(chunk)
        self.size += len(chunk)

    def commit(self, name: str) -> Path:
        if reason := unsafe_name_reason(name):
            raise ValueError(f"refusing to cache landing file {name!r}: {reason}")
        self.handle.flush()
        os.fsync(self.handle.fileno())
        self.handle.close()
        folder = self.folder / self.digest.hexdigest()[:16]
        folder.mkdir(exist_ok=True)
        os.utime(folder)  # in use again: `_prune` leaves it alone
        target = folder / name
        os.replace(self.tmp, target)
        fsync_directory(folder)
        return target

    def discard(self) -> None:
        self.handle.close()
        self.tmp.unlink(missing_ok=True)


class LandingZone(dg.ConfigurableResource):
    """One sub-folder (or sub-prefix) per source: calls, events, block_groups."""

    location: str
    storage: dg.ResourceDependency[LakeStorage]
    cache_dir: str = ""
    settle_seconds: float = 1.0

    @property
    def is_remote(self) -> bool:
        return self.location.startswith("s3://")

    def _folder_text(self, source: str) -> str:
        return str(self.storage.upath(self.location) / source)

    def source_files(self, source: str) -> list[Path]:
        """Local snapshots of the source's files in name order; a clear error if there are
        none. Parse these paths, never the landed files themselves."""
        return [landed.path for landed in self.snapshot(source)]

    def snapshot(self, source: str) -> list[LandedFile]:
        """The source's files in name order, each copied once to the cache and hashed."""
        entries = self._entries_or_error(source)
        snapshots = [self._snapshot(source, entry) for entry in entries]
        self._prune(self._cache_root() / source)
        return snapshots

    def landed_names(self, source: str) -> list[str]:
        """The names `source_files` would read, without copying anything."""
        return [entry.name for entry in self._entries_or_error(source)]

    def _entries_or_error(self, source: str) -> list[_Entry]:
        patterns = SOURCE_PATTERNS[source]
        entries = self._entries(source)
        if not entries:
            raise MissingSourceError(
                f"no {source} file found in {self._folder_text(source)} "
                f"(expected {', '.join(patterns)}); drop an export there or run "
                f"`safebeat sample --out {self.location}` to generate sample data"
            )
        return entries

    def _entries(self, source: str) -> list[_Entry]:
        if self.is_remote:
            return self._s3_entries(source)
        return self._local_entries(source)

    def _local_entries(self, source: str) -> list[_Entry]:
        root = Path(self.location)
        folder = root / source
        if not folder.is_dir():
            return []
        real_root = root.resolve()
        real_folder = folder.resolve()
        if not _inside(real_folder, real_root):
            _warn_skipped(str(folder), f"leads to {real_folder}, outside the landing folder")
            return []
        patterns = SOURCE_PATTERNS[source]
        entries = []
        for entry in sorted(os.scandir(folder), key=lambda e: e.name):
            if not any(fnmatch.fnmatch(entry.name, p) for p in patterns):
                continue
            reason = unsafe_name_reason(entry.name)
            if reason is None and entry.is_symlink():
                target = Path(entry.path).resolve()
                if not _inside(target, real_root):
                    reason = f"symlink to {target}, outside the landing folder {real_root}"
            if reason:
                _warn_skipped(entry.path, reason)
                continue
            if entry.is_file():
                entries.append(_Entry(entry.name, entry.path, local=Path(entry.path)))
        return entries

    def _s3_entries(self, source: str) -> list[_Entry]:
        folder = self.storage.upath(self.location) / source
        bucket, prefix = LakeStorage.bucket_and_key(folder)
        prefix = f"{prefix}/"
        patterns = SOURCE_PATTERNS[source]
        entries = []
        try:
            with self.storage.answering("LIST", str(folder)):
                pages = self.storage.s3_client().get_paginator("list_objects_v2")
                # With the delimiter, a key with a further "/" (so any "../") is a common
                # prefix, never an entry; names are still checked, S3 keys being arbitrary.
                listing = [
                    obj
                    for page in pages.paginate(Bucket=bucket, Prefix=prefix, Delimiter="/")
                    for obj in page.get("Contents", [])
                ]
        except FileNotFoundError:  # no such bucket yet
            return []
        for obj in sorted(listing, key=lambda o: o["Key"]):
            name = obj["Key"][len(prefix) :]
            if not any(fnmatch.fnmatch(name, p) for p in patterns):
                continue
            if reason := unsafe_name_reason(name):
                _warn_skipped(f"s3://{bucket}/{obj['Key']}", reason)
                continue
            etag = str(obj.get("ETag") or "").strip('"')
            if not etag:
                raise RuntimeError(f"the listing of {folder} gives no ETag for {name}")
            entries.append(
                _Entry(
                    name,
                    f"s3://{bucket}/{obj['Key']}",
                    bucket=bucket,
                    key=obj["Key"],
                    etag=etag,
                    size=int(obj.get("Size") or 0),
                )
            )
        return entries

    # --- snapshots -------------------------------------------------------------------------

    def _cache_root(self) -> Path:
        if self.cache_dir:
            return Path(self.cache_dir)
        return Path(tempfile.gettempdir()) / "safebeat-landing-cache"

    def _snapshot(self, source: str, entry: _Entry) -> LandedFile:
        index = _SnapshotIndex(self._cache_root() / source)
        version = self._unchanged_version(entry)
        known = index.get(entry.name, version)
        if known is not None:
            return known
        if entry.local is not None:
            landed = self._snapshot_local(source, entry)
        else:
            landed = self._snapshot_s3(source, entry)
        index.put(landed, self._unchanged_version(entry))
        return landed

    @staticmethod
    def _unchanged_version(entry: _Entry) -> str | None:
        """What says a landed file is the one snapshotted before without reading it: the
        object's ETag on S3; locally device, inode, size, mtime and ctime (ctime cannot be
        set back by a writer), and only for a file older than SNAPSHOT_REUSE_AGE_SECONDS, so
        a write in the same clock tick as the earlier snapshot cannot pass for it."""
        if entry.local is None:
            return f"etag:{entry.etag}"
        try:
            stat = os.stat(entry.local)
        except FileNotFoundError:
            return None
        if time.time() - max(stat.st_mtime_ns, stat.st_ctime_ns) / 1e9 < SNAPSHOT_REUSE_AGE_SECONDS:
            return None
        return "stat:" + ":".join(str(v) for v in _identity(stat))

    def _snapshot_local(self, source: str, entry: _Entry) -> LandedFile:
        path = entry.local
        assert path is not None
        for attempt in range(1, COPY_ATTEMPTS + 1):
            if not self._settled(path):
                continue
            incoming = _Incoming(self._cache_root() / source)
            try:
                before = os.stat(path)
                with path.open("rb") as handle:
                    opened = os.fstat(handle.fileno())
                    while chunk := handle.read(_COPY_CHUNK):
                        incoming.write(chunk)
                    finished = os.fstat(handle.fileno())
                after = os.stat(path)
                sha256 = incoming.digest.hexdigest()
                # The second hash catches an in-place rewrite that left size and mtime as they
                # were (mtime is only as fine as the kernel's clock tick).
                steady = (
                    _identity(before) == _identity(opened) == _identity(finished)
                    and _identity(finished) == _identity(after)
                    and incoming.size == after.st_size
                    and self._sha256_file(path) == sha256
                )
                if steady:
                    return LandedFile(
                        source=source,
                        name=entry.name,
                        origin=entry.origin,
                        path=incoming.commit(entry.name),
                        sha256=sha256,
                        size=incoming.size,
                        version=f"mtime_ns:{after.st_mtime_ns}",
                        attempts=attempt,
                    )
            finally:
                incoming.discard()
            if attempt < COPY_ATTEMPTS:
                time.sleep(_COPY_PAUSE_SECONDS * attempt)
        raise LandingFileChangingError(
            f"landing file {entry.origin} kept changing while it was being copied "
            f"({COPY_ATTEMPTS} attempts, each waiting for it to stay unchanged for "
            f"{self.settle_seconds:g}s; an upload still in progress?); nothing of it was read"
        )

    def _settled(self, path: Path) -> bool:
        """Whether the file has been left alone for `settle_seconds`, waiting as needed; False
        when it changed while waiting."""
        first = os.stat(path)
        age = time.time() - first.st_mtime_ns / 1e9
        if age >= self.settle_seconds:
            return True
        # An mtime in the future (clock skew) is waited out for the whole settle time.
        time.sleep(self.settle_seconds - age if age >= 0 else self.settle_seconds)
        return _identity(os.stat(path)) == _identity(first)

    def _snapshot_s3(self, source: str, entry: _Entry) -> LandedFile:
        incoming = _Incoming(self._cache_root() / source)
        try:
            with self.storage.answering("GET", entry.origin):
                response = self.storage.s3_client().get_object(Bucket=entry.bucket, Key=entry.key)
                with response["Body"] as body:
                    while chunk := body.read(_COPY_CHUNK):
                        incoming.write(chunk)
            etag = str(response.get("ETag") or entry.etag).strip('"')
            return LandedFile(
                source=source,
                name=entry.name,
                origin=entry.origin,
                path=incoming.commit(entry.name),
                sha256=incoming.digest.hexdigest(),
                size=incoming.size,
                version=f"etag:{etag}",
                attempts=1,
            )
        finally:
            incoming.discard()

    @staticmethod
    def _prune(folder: Path) -> None:
        """Removes snapshots and abandoned partial copies not used for a day."""
        horizon = time.time() - SNAPSHOT_RETENTION_SECONDS
        try:
            entries = list(os.scandir(folder))
        except FileNotFoundError:
            return
        for entry in entries:
            try:
                if entry.stat(follow_symlinks=False).st_mtime >= horizon:
                    continue
                if entry.is_dir(follow_symlinks=False):
                    shutil.rmtree(entry.path, ignore_errors=True)
                elif entry.name.startswith(_INCOMING_PREFIX):
                    os.unlink(entry.path)
            except FileNotFoundError:
                continue

    # --- fingerprints for the sensor -------------------------------------------------------

    def fingerprints(
        self, previous: Mapping[str, Mapping[str, Any]] | None = None
    ) -> dict[str, str]:
        """``<source>/<file name>`` -> content fingerprint of every landed source file.

        See `file_states`; `previous` is an earlier `file_states` result.
        """
        return {key: state["fingerprint"] for key, state in self.file_states(previous).items()}

    def file_states(
        self, previous: Mapping[str, Mapping[str, Any]] | None = None
    ) -> dict[str, dict[str, Any]]:
        """``<source>/<file name>`` -> ``{"fingerprint", "size"[, "mtime_ns"]}`` (JSON-ready).

        Only files `source_files` would read count (same patterns and name checks, direct
        children). On S3 the fingerprint is the object's ETag from the listing
        (``etag:<etag>``, nothing is downloaded). Locally it is the SHA-256 of the content
        (``sha256:<hex>``), taken from `previous` when the file's size and mtime_ns are
        unchanged, so a large export is hashed once rather than on every sensor tick. A
        missing folder or bucket yields no entries.
        """
        previous = previous or {}
        states: dict[str, dict[str, Any]] = {}
        for source in SOURCE_PATTERNS:
            for entry in self._entries(source):
                key = f"{source}/{entry.name}"
                if entry.local is None:
                    states[key] = {"fingerprint": f"etag:{entry.etag}", "size": entry.size}
                    continue
                try:
                    stat = os.stat(entry.local)
                except FileNotFoundError:  # removed since the listing
                    continue
                known = previous.get(key) or {}
                if (
                    known.get("fingerprint")
                    and known.get("size") == stat.st_size
                    and known.get("mtime_ns") == stat.st_mtime_ns
                ):
                    fingerprint = known["fingerprint"]
                else:
                    fingerprint = "sha256:" + self._sha256_file(entry.local)
                states[key] = {
                    "fingerprint": fingerprint,
                    "size": stat.st_size,
                    "mtime_ns": stat.st_mtime_ns,
                }
        return states

    @staticmethod
    def _sha256_file(path: Path) -> str:
        digest = hashlib.sha256()
        with path.open("rb") as handle:
            while chunk := handle.read(_COPY_CHUNK):
                digest.update(chunk)
        return digest.hexdigest()
