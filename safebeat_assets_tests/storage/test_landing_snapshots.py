"""A run parses a snapshot of each landing file, hashed as it was copied: a file replaced
while it is read gives the old content or the new one, never a mix (fault 5)."""

import hashlib
import os
import random
import threading
import time
import uuid
from collections import Counter
from pathlib import Path

import pytest

from safebeat_assets.errors import is_transient
from safebeat_assets.storage import landing as landing_module
from safebeat_assets.storage.landing import (
    COPY_ATTEMPTS,
    LandingFileChangingError,
    LandingZone,
    MissingSourceError,
)
from safebeat_assets.storage.object_store import LakeStorage

SIZE = 256 << 10
CHUNK = 16 << 10


def body(fill: bytes) -> bytes:
    """CSV-like content of exactly SIZE bytes, so old and new differ only in their bytes."""
    line = b"incident," + fill * 40 + b"\n"
    return (line * (SIZE // len(line) + 1))[:SIZE]


OLD, NEW = body(b"o"), body(b"n")


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture
def fast_copies(monkeypatch):
    """Small copy chunks (a copy spans many reads a writer can slip between) and short pauses."""
    monkeypatch.setattr(landing_module, "_COPY_CHUNK", CHUNK)
    monkeypatch.setattr(landing_module, "_COPY_PAUSE_SECONDS", 0.002)


def zone_at(folder: Path, tmp_path: Path, settle_seconds: float = 0.0) -> LandingZone:
    return LandingZone(
        location=str(folder),
        storage=LakeStorage(root=str(folder)),
        cache_dir=str(tmp_path / "cache"),
        settle_seconds=settle_seconds,
    )


@pytest.fixture
def local(tmp_path) -> tuple[LandingZone, Path]:
    """A landing zone with one calls export; no settle time (the copy checks alone)."""
    folder = tmp_path / "landing"
    (folder / "calls").mkdir(parents=True)
    export = folder / "calls" / "export.csv"
    export.write_bytes(OLD)
    return zone_at(folder, tmp_path), export


def leftovers(cache: Path) -> list[str]:
    return sorted(p.name for p in cache.rglob(".incoming-*"))


def test_source_files_are_hashed_snapshots_that_later_changes_do_not_touch(local, tmp_path):
    zone, export = local
    (landed,) = zone.snapshot("calls")
    assert landed.name == "export.csv" and landed.origin == str(export)
    assert landed.path.name == "export.csv"  # readers dispatch on the suffix, cite the name
    assert landed.path.is_relative_to(tmp_path / "cache" / "calls")
    assert landed.path.read_bytes() == OLD
    assert landed.sha256 == sha(OLD) and landed.size == SIZE and landed.attempts == 1
    assert landed.version == f"mtime_ns:{export.stat().st_mtime_ns}"
    assert landed.metadata()["sha256"] == sha(OLD)

    export.write_bytes(NEW)
    assert landed.path.read_bytes() == OLD  # content-addressed: a new copy never overwrites it
    (again,) = zone.source_files("calls")
    assert again != landed.path and again.read_bytes() == NEW
    assert zone.landed_names("calls") == ["export.csv"]
    assert leftovers(tmp_path / "cache") == []


def test_a_file_changed_during_the_copy_is_copied_again(local, fast_copies, monkeypatch):
    zone, export = local
    writes = Counter()
    real_write = landing_module._Incoming.write

    def write_then_replace_once(self, chunk):
        real_write(self, chunk)
        writes["chunks"] += 1
        if writes["chunks"] == 3:  # first attempt, part-way through
            export.write_bytes(NEW)

    monkeypatch.setattr(landing_module._Incoming, "write", write_then_replace_once)
    (landed,) = zone.snapshot("calls")
    assert landed.attempts == 2
    assert landed.path.read_bytes() == NEW and landed.sha256 == sha(NEW)


def test_an_in_place_rewrite_keeping_size_and_mtime_is_still_noticed(
    local, fast_copies, monkeypatch
):
    """mtime has only the kernel clock's resolution: the second hash is what notices this."""
    zone, export = local
    stat = export.stat()
    real_write = landing_module._Incoming.write
    done = []

    def rewrite_in_place_once(self, chunk):
        real_write(self, chunk)
        if not done:
            done.append(True)
            with export.open("r+b") as handle:
                handle.write(NEW)
            os.utime(export, ns=(stat.st_atime_ns, stat.st_mtime_ns))

    monkeypatch.setattr(landing_module._Incoming, "write", rewrite_in_place_once)
    monkeypatch.setattr(landing_module, "_identity", lambda s: (s.st_dev, s.st_ino, s.st_size))
    (landed,) = zone.snapshot("calls")
    assert landed.attempts == 2 and landed.path.read_bytes() == NEW


def test_a_file_that_keeps_changing_is_refused_as_transient(
    local, fast_copies, monkeypatch, tmp_path
):
    zone, export = local
    real_write = landing_module._Incoming.write
    flip = [OLD, NEW]

    def keep_changing(self, chunk):
        real_write(self, chunk)
        if self.size == CHUNK:
            flip.reverse()
            export.write_bytes(flip[0])

    monkeypatch.setattr(landing_module._Incoming, "write", keep_changing)
    with pytest.raises(LandingFileChangingError) as refused:
        zone.source_files("calls")
    assert str(refused.value) == (
        f"landing file {export} kept changing while it was being copied ({COPY_ATTEMPTS} "
        "attempts, each waiting for it to stay unchanged for 0s; an upload still in "
        "progress?); nothing of it was read"
    )
    assert is_transient(refused.value)  # the step's retry policy reads it again later
    assert leftovers(tmp_path / "cache") == []
    assert not list((tmp_path / "cache" / "calls").glob("*/export.csv"))


def test_a_file_written_just_now_is_copied_once_it_settles(tmp_path):
    folder = tmp_path / "landing"
    (folder / "calls").mkdir(parents=True)
    (folder / "calls" / "export.csv").write_bytes(OLD)
    started = time.monotonic()
    (landed,) = zone_at(folder, tmp_path, settle_seconds=0.3).snapshot("calls")
    assert time.monotonic() - started >= 0.25
    assert landed.path.read_bytes() == OLD and landed.attempts == 1


def test_a_file_still_being_appended_to_is_refused(tmp_path, fast_copies):
    folder = tmp_path / "landing"
    (folder / "calls").mkdir(parents=True)
    export = folder / "calls" / "export.csv"
    export.write_bytes(OLD[:CHUNK])
    stop = threading.Event()

    def slow_upload():
        with export.open("ab") as handle:
            while not stop.is_set():
                handle.write(b"incident,more\n")
                handle.flush()
                time.sleep(0.01)

    thread = threading.Thread(target=slow_upload, daemon=True)
    thread.start()
    try:
        with pytest.raises(LandingFileChangingError, match="for 0.05s; an upload still"):
            zone_at(folder, tmp_path, settle_seconds=0.05).source_files("calls")
    finally:
        stop.set()
        thread.join()


def test_old_snapshots_are_pruned(local, tmp_path):
    zone, export = local
    (first,) = zone.source_files("calls")
    old = time.time() - landing_module.SNAPSHOT_RETENTION_SECONDS - 60
    os.utime(first.parent, (old, old))
    stale = tmp_path / "cache" / "calls" / ".incoming-abandoned.part"
    stale.write_bytes(b"half")
    os.utime(stale, (old, old))

    export.write_bytes(NEW)
    (second,) = zone.source_files("calls")
    assert not first.exists() and not stale.exists()
    assert second.read_bytes() == NEW


def test_no_file_is_a_missing_source_error(local):
    zone, _ = local
    with pytest.raises(MissingSourceError, match="no events file found in .*landing/events"):
        zone.source_files("events")


# --- fault 5: the file is replaced by another thread while the landing zone reads it -------


def replace_by_rename(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{uuid.uuid4().hex}.upload")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def rewrite_in_place(path: Path, data: bytes) -> None:
    """The way a naive copy tool overwrites: the same file, piece by piece."""
    fd = os.open(path, os.O_WRONLY)
    try:
        for start in range(0, len(data), CHUNK // 2):
            os.pwrite(fd, data[start : start + CHUNK // 2], start)
    finally:
        os.close(fd)


def run_replacements(zone, export, replace, pause, until) -> Counter:
    """Snapshots `export` while another thread replaces it (alternately new and old content,
    `pause()` seconds apart) until `until()`; every snapshot must hold one content whole."""
    stop = threading.Event()
    seen: Counter = Counter()

    def writer():
        while not stop.is_set():
            replace(export, NEW if seen["replacements"] % 2 == 0 else OLD)
            seen["replacements"] += 1
            time.sleep(pause())

    thread = threading.Thread(target=writer, daemon=True)
    thread.start()
    try:
        while not until(seen):
            try:
                (landed,) = zone.snapshot("calls")
            except LandingFileChangingError:
                seen["refused"] += 1
                continue
            data = landed.path.read_bytes()
            assert data in (OLD, NEW), "a snapshot mixes the old and the new content"
            assert sha(data) == landed.sha256
            seen["new" if data == NEW else "old"] += 1
            seen["retried copies"] += landed.attempts - 1
    finally:
        stop.set()
        thread.join()
    print(f"{replace.__name__}: {dict(seen)}")
    return seen


def test_fault5_file_renamed_over_while_read_gives_old_or_new_whole(local, fast_copies):
    """An uploader that renames a finished file into place: the open handle keeps the inode it
    opened, the identity check retries when the name moved on. No settle time needed."""
    zone, export = local
    rng = random.Random(5)
    seen = run_replacements(
        zone,
        export,
        replace_by_rename,
        pause=lambda: rng.uniform(0, 0.004),
        until=lambda seen: seen["old"] + seen["new"] + seen["refused"] >= 200,
    )
    assert seen["replacements"] > 50 and seen["old"] and seen["new"]
    assert seen["refused"] <= 20  # refusing is allowed (and clear), mixing never


def test_fault5_file_rewritten_in_place_while_read_gives_old_or_new_whole(tmp_path, fast_copies):
    """A writer overwriting the file piece by piece: copies overlapping a rewrite are retried,
    and a half-rewritten file is not taken before it has been left alone for the settle time."""
    folder = tmp_path / "landing"
    (folder / "calls").mkdir(parents=True)
    export = folder / "calls" / "export.csv"
    export.write_bytes(OLD)
    zone = zone_at(folder, tmp_path, settle_seconds=0.1)
    rng = random.Random(5)
    seen = run_replacements(
        zone,
        export,
        rewrite_in_place,
        pause=lambda: rng.uniform(0.05, 0.2),
        until=lambda seen: seen["replacements"] >= 24,
    )
    assert seen["old"] and seen["new"]


# --- S3: one GET serves one version of the object ------------------------------------------


def test_fault5_s3_object_replaced_while_read(s3_storage, s3_client, tmp_path):
    s3_storage.ensure_buckets()
    prefix = f"landing-{uuid.uuid4().hex[:8]}"
    key = f"{prefix}/calls/export.csv"
    s3_client.put_object(Bucket="raw-data", Key=key, Body=OLD)
    zone = LandingZone(
        location=f"s3://raw-data/{prefix}", storage=s3_storage, cache_dir=str(tmp_path / "c")
    )
    stop = threading.Event()

    def writer():
        flip = 0
        while not stop.is_set():
            s3_client.put_object(Bucket="raw-data", Key=key, Body=NEW if flip % 2 == 0 else OLD)
            flip += 1

    seen: Counter = Counter()
    thread = threading.Thread(target=writer, daemon=True)
    thread.start()
    try:
        for _ in range(40):
            (landed,) = zone.snapshot("calls")
            data = landed.path.read_bytes()
            assert data in (OLD, NEW) and sha(data) == landed.sha256
            assert landed.origin == f"s3://raw-data/{key}"
            assert landed.version == f"etag:{hashlib.md5(data).hexdigest()}"
            seen["new" if data == NEW else "old"] += 1
    finally:
        stop.set()
        thread.join()
    assert sum(seen.values()) == 40


def test_an_unchanged_file_is_neither_copied_nor_hashed_again(local, monkeypatch):
    """A multi-gigabyte export is only listed on a run that finds it unchanged; a rewrite that
    keeps size and mtime still changes the ctime, and is copied again."""
    zone, export = local
    monkeypatch.setattr(landing_module, "SNAPSHOT_REUSE_AGE_SECONDS", 0.0)
    (first,) = zone.snapshot("calls")
    assert first.attempts == 1

    def no_copy(*args, **kwargs):
        raise AssertionError("an unchanged file was copied again")

    with monkeypatch.context() as patched:
        patched.setattr(LandingZone, "_snapshot_local", no_copy)
        (again,) = zone.snapshot("calls")
    assert again.attempts == 0
    assert (again.path, again.sha256, again.size) == (first.path, first.sha256, first.size)

    stat = export.stat()
    time.sleep(0.01)
    with export.open("r+b") as handle:
        handle.write(NEW)
    os.utime(export, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    (rewritten,) = zone.snapshot("calls")
    assert rewritten.attempts == 1 and rewritten.sha256 == sha(NEW)
    # A file younger than the reuse age is always copied (same clock tick as a writer).
    monkeypatch.setattr(landing_module, "SNAPSHOT_REUSE_AGE_SECONDS", 3600.0)
    (young,) = zone.snapshot("calls")
    assert young.attempts == 1
