"""Landing file names cannot lead outside the landing folder (or the snapshot cache): unsafe
names and symlinks leading elsewhere are skipped with a warning, by runs and sensor alike."""

import logging
import uuid
from pathlib import Path

import pytest

from safebeat_assets.storage.landing import LandingZone, MissingSourceError
from safebeat_assets.storage.object_store import LakeStorage, unsafe_name_reason
from safebeat_assets.storage.reports import ReportStore


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("..", "parent-folder reference '..'"),
        ("../escape.csv", "parent-folder reference '..'"),
        ("calls/../../escape.csv", "parent-folder reference '..'"),
        ("..\\escape.csv", "parent-folder reference '..'"),
        ("/etc/passwd.csv", "absolute path"),
        ("\\\\server\\share\\x.csv", "absolute path"),
        ("C:\\exports\\x.csv", "absolute path"),
        ("sub/x.csv", "path separator in name"),
        ("a\\b.csv", "backslash in name"),
        ("x\x00.csv", "NUL byte in name"),
        ("", "empty name"),
        ("export.csv", None),
        ("..csv", None),  # dots inside a name are just characters
        ("2025..06.csv", None),
        (".hidden.csv", None),
    ],
)
def test_unsafe_name_reason(name, reason):
    assert unsafe_name_reason(name) == reason


def test_report_paths_may_have_folders_but_not_escape():
    assert unsafe_name_reason("daily/2025-07-01_report.html", allow_folders=True) is None
    assert unsafe_name_reason("daily/../../x.html", allow_folders=True) is not None
    assert unsafe_name_reason("daily//x.html", allow_folders=True) == "empty or '.' path segment"


def test_report_store_refuses_a_path_outside_the_reports_bucket(tmp_path):
    store = ReportStore(storage=LakeStorage(root=str(tmp_path / "lake")))
    for path in ("../models/x.parquet", "/tmp/x.json"):
        with pytest.raises(ValueError, match="is not inside the reports bucket"):
            store.write(path, b"{}")
    assert not any((tmp_path / "lake").rglob("*.*"))
    written = store.write("daily/x.json", b"{}")
    assert Path(written) == tmp_path / "lake" / "reports" / "daily" / "x.json"


# --- local landing folder ------------------------------------------------------------------


@pytest.fixture
def landing(tmp_path) -> tuple[LandingZone, Path]:
    folder = tmp_path / "landing"
    (folder / "calls").mkdir(parents=True)
    (folder / "calls" / "good.csv").write_bytes(b"incident\n1\n")
    zone = LandingZone(
        location=str(folder),
        storage=LakeStorage(root=str(folder)),
        cache_dir=str(tmp_path / "cache"),
        settle_seconds=0,
    )
    return zone, folder


@pytest.fixture
def outside(tmp_path) -> Path:
    secret = tmp_path / "outside" / "secret.csv"
    secret.parent.mkdir()
    secret.write_bytes(b"not for the pipeline\n")
    return secret


def read_names(zone: LandingZone) -> tuple[list[str], list[str]]:
    """What a run would read and what the sensor would fingerprint."""
    return [p.name for p in zone.source_files("calls")], sorted(zone.file_states())


def test_symlink_leading_outside_is_skipped_with_a_warning(landing, outside, caplog):
    zone, folder = landing
    (folder / "calls" / "evil.csv").symlink_to(outside)
    with caplog.at_level(logging.WARNING):
        assert read_names(zone) == (["good.csv"], ["calls/good.csv"])
    expected = (
        f"skipping landing file '{folder}/calls/evil.csv': symlink to {outside}, outside the "
        f"landing folder {folder}"
    )
    assert expected in caplog.text
    (folder / "calls" / "good.csv").unlink()
    with pytest.raises(MissingSourceError):
        zone.source_files("calls")


def test_symlink_within_the_landing_folder_is_read(landing):
    zone, folder = landing
    (folder / "archive").mkdir()
    (folder / "archive" / "2025.csv").write_bytes(b"incident\n2\n")
    (folder / "calls" / "latest.csv").symlink_to(folder / "archive" / "2025.csv")
    (files, states) = read_names(zone)
    assert files == ["good.csv", "latest.csv"] and "calls/latest.csv" in states
    assert zone.source_files("calls")[1].read_bytes() == b"incident\n2\n"


def test_relative_symlink_climbing_out_is_skipped(landing, outside):
    zone, folder = landing
    (folder / "calls" / "climb.csv").symlink_to(Path("..") / ".." / "outside" / "secret.csv")
    assert read_names(zone) == (["good.csv"], ["calls/good.csv"])


def test_source_folder_symlinked_outside_is_skipped(landing, outside, caplog):
    zone, folder = landing
    (folder / "events").symlink_to(outside.parent, target_is_directory=True)
    (outside.parent / "events.csv").write_bytes(b"x\n")
    with caplog.at_level(logging.WARNING), pytest.raises(MissingSourceError):
        zone.source_files("events")
    assert f"leads to {outside.parent}, outside the landing folder" in caplog.text
    assert not any(key.startswith("events/") for key in zone.file_states())


def test_names_with_dot_dot_and_backslashes_are_skipped(landing, tmp_path):
    zone, folder = landing
    # On POSIX a backslash is an ordinary character, so these are real files in the folder;
    # copied to a Windows cache (or joined by a careless reader) they would climb out.
    (folder / "calls" / "..\\..\\escape.csv").write_bytes(b"x\n")
    (folder / "calls" / "C:\\escape.csv").write_bytes(b"x\n")
    assert read_names(zone) == (["good.csv"], ["calls/good.csv"])
    assert [p.name for p in (tmp_path / "cache").rglob("*.csv")] == ["good.csv"]


# --- S3 landing prefix ----------------------------------------------------------------------


def test_s3_keys_with_parent_references_are_never_read(s3_storage, s3_client, tmp_path, caplog):
    s3_storage.ensure_buckets()
    prefix = f"landing-{uuid.uuid4().hex[:8]}"
    bodies = {
        f"{prefix}/calls/good.csv": b"incident\n1\n",
        f"{prefix}/calls/../../escape.csv": b"climbs two folders\n",
        f"{prefix}/calls/../calls/twice.csv": b"refers to itself\n",
        f"{prefix}/calls//etc/passwd.csv": b"absolute after the prefix\n",
        f"{prefix}/calls/..\\..\\escape.csv": b"backslashes\n",
    }
    for key, data in bodies.items():
        s3_client.put_object(Bucket="raw-data", Key=key, Body=data)
    stored = s3_client.list_objects_v2(Bucket="raw-data", Prefix=prefix)["Contents"]
    assert {obj["Key"] for obj in stored} == set(bodies)  # kept literally, not normalized
    cache = tmp_path / "work" / "cache"
    zone = LandingZone(location=f"s3://raw-data/{prefix}", storage=s3_storage, cache_dir=str(cache))
    with caplog.at_level(logging.WARNING):
        files = zone.source_files("calls")
    assert [p.name for p in files] == ["good.csv"]
    assert files[0].read_bytes() == b"incident\n1\n"
    assert sorted(zone.file_states()) == ["calls/good.csv"]
    assert (
        f"skipping landing file 's3://raw-data/{prefix}/calls/..\\\\..\\\\escape.csv': "
        "parent-folder reference '..'" in caplog.text
    )
    # Nothing was written anywhere but the cache.
    written = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*.csv"))
    assert written == [f"work/cache/calls/{files[0].parent.name}/good.csv"]
