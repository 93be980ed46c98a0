"""The landing-zone sensor against a real landing folder and a real S3 endpoint (moto)."""

import hashlib
import json
import os
import uuid
from pathlib import Path

import dagster as dg
import pytest

from safebeat_assets.asset_names import RAW_ASSET_BY_SOURCE
from safebeat_assets.defs.sensors.landing import landing_zone_sensor
from safebeat_assets.storage.landing import SOURCE_PATTERNS, LandingZone
from safebeat_assets.storage.object_store import LakeStorage
from safebeat_assets_tests.helpers import assets_in_group

ALL_RAW = assets_in_group("raw")
# evaluate_tick checks each request against the asset graph; stand-ins for the raw assets keep
# these tests free of the lake and warehouse resources (the names are checked against the raw
# group below).
RAW_GRAPH = dg.Definitions(assets=[dg.AssetSpec(name) for name in sorted(ALL_RAW)])


def tick(landing: LandingZone, cursor: str | None):
    with dg.build_sensor_context(
        cursor=cursor, resources={"landing": landing}, definitions=RAW_GRAPH
    ) as context:
        return landing_zone_sensor.evaluate_tick(context)


def requested_assets(data) -> set[str]:
    assert len(data.run_requests) == 1
    return {key.to_user_string() for key in data.run_requests[0].asset_selection}


def local_landing(folder: Path) -> LandingZone:
    return LandingZone(location=str(folder), storage=LakeStorage(root=str(folder)))


def only_file(folder: Path, source: str) -> Path:
    (path,) = sorted((folder / source).iterdir())
    return path


def test_sources_map_to_the_real_raw_assets():
    assert set(RAW_ASSET_BY_SOURCE.values()) == ALL_RAW
    assert set(RAW_ASSET_BY_SOURCE) == set(SOURCE_PATTERNS)


def test_first_tick_requests_every_raw_asset_then_unchanged_files_skip(landing_dir):
    landing = local_landing(landing_dir)
    first = tick(landing, None)
    assert requested_assets(first) == ALL_RAW
    request = first.run_requests[0]
    assert request.run_key.startswith("landing-1-")
    assert request.tags["safebeat/trigger"] == "landing_zone"

    files = json.loads(first.cursor)["files"]
    calls = only_file(landing_dir, "calls")
    key = f"calls/{calls.name}"
    assert files[key]["fingerprint"] == "sha256:" + hashlib.sha256(calls.read_bytes()).hexdigest()
    assert files[key]["size"] == calls.stat().st_size
    assert files[key]["mtime_ns"] == calls.stat().st_mtime_ns

    second = tick(landing, first.cursor)
    assert second.run_requests == []
    assert "no new or changed landing files (3 file(s) unchanged)" in second.skip_message
    assert json.loads(second.cursor) == json.loads(first.cursor)


def test_a_retried_tick_gets_the_same_run_key(landing_dir):
    landing = local_landing(landing_dir)
    assert (
        tick(landing, None).run_requests[0].run_key == tick(landing, None).run_requests[0].run_key
    )


def test_touching_a_file_without_changing_it_does_not_request(landing_dir):
    landing = local_landing(landing_dir)
    cursor = tick(landing, None).cursor
    events = only_file(landing_dir, "events")
    before = events.stat().st_mtime_ns
    os.utime(events, ns=(before + 5_000_000_000, before + 5_000_000_000))

    touched = tick(landing, cursor)
    assert touched.run_requests == []
    state = json.loads(touched.cursor)["files"][f"events/{events.name}"]
    # the new mtime is remembered (so the file is not re-hashed again), the fingerprint is not
    assert state["mtime_ns"] == before + 5_000_000_000
    assert (
        state["fingerprint"] == json.loads(cursor)["files"][f"events/{events.name}"]["fingerprint"]
    )


def test_changed_content_requests_only_that_sources_raw_asset(landing_dir):
    landing = local_landing(landing_dir)
    first = tick(landing, None)
    events = only_file(landing_dir, "events")
    with events.open("ab") as handle:
        handle.write(events.read_bytes().splitlines(keepends=True)[-1])  # one more row

    changed = tick(landing, first.cursor)
    assert requested_assets(changed) == {"raw_events"}
    assert changed.run_requests[0].tags["safebeat/changed_sources"] == "events"
    assert changed.run_requests[0].run_key.startswith("landing-2-")
    assert changed.run_requests[0].run_key != first.run_requests[0].run_key
    assert tick(landing, changed.cursor).run_requests == []


def test_new_file_requests_its_source_and_other_names_are_ignored(landing_dir):
    landing = local_landing(landing_dir)
    cursor = tick(landing, None).cursor
    (landing_dir / "calls" / "notes.txt").write_text("not an export")
    (landing_dir / "calls" / "upload.csv.part").write_text("incomplete")
    assert tick(landing, cursor).run_requests == []

    (landing_dir / "block_groups" / "extra.geojson").write_text('{"type": "FeatureCollection"}')
    assert requested_assets(tick(landing, cursor)) == {"raw_block_groups"}


def test_reverting_to_earlier_content_is_requested_again(landing_dir):
    landing = local_landing(landing_dir)
    events = only_file(landing_dir, "events")
    original = events.read_bytes()
    first = tick(landing, None)
    events.write_bytes(original + original.splitlines(keepends=True)[-1])
    second = tick(landing, first.cursor)
    events.write_bytes(original)
    third = tick(landing, second.cursor)
    assert requested_assets(third) == {"raw_events"}
    assert len({first.run_requests[0].run_key, second.run_requests[0].run_key,
                third.run_requests[0].run_key}) == 3  # fmt: skip


def test_unchanged_files_are_not_rehashed(landing_dir):
    """Proof by cursor content: a stored fingerprint that is not the file's real hash survives
    while size and mtime_ns match, so the file was not read; once the mtime moves it is
    replaced by the real hash."""
    landing = local_landing(landing_dir)
    cursor = json.loads(tick(landing, None).cursor)
    calls = only_file(landing_dir, "calls")
    key = f"calls/{calls.name}"
    cursor["files"][key]["fingerprint"] = "sha256:not-the-real-hash"

    reused = tick(landing, json.dumps(cursor))
    assert reused.run_requests == []  # the planted value is compared with itself
    assert json.loads(reused.cursor)["files"][key]["fingerprint"] == "sha256:not-the-real-hash"

    stat = calls.stat()
    os.utime(calls, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    rehashed = tick(landing, reused.cursor)
    real = "sha256:" + hashlib.sha256(calls.read_bytes()).hexdigest()
    assert json.loads(rehashed.cursor)["files"][key]["fingerprint"] == real
    assert requested_assets(rehashed) == {"raw_911_calls"}  # vs. the planted value


def test_fingerprints_map_source_and_file_name(landing_dir):
    landing = local_landing(landing_dir)
    prints = landing.fingerprints()
    assert sorted(k.split("/")[0] for k in prints) == ["block_groups", "calls", "events"]
    assert all(v.startswith("sha256:") and len(v) == 7 + 64 for v in prints.values())
    assert landing.fingerprints(landing.file_states()) == prints


def test_empty_or_missing_landing_zone_skips(tmp_path):
    empty = tick(local_landing(tmp_path / "nothing-here"), None)
    assert empty.run_requests == []
    assert empty.skip_message == "landing zone is empty"


def test_a_source_that_loses_its_files_is_not_requested(landing_dir):
    landing = local_landing(landing_dir)
    cursor = tick(landing, None).cursor
    only_file(landing_dir, "events").unlink()
    data = tick(landing, cursor)
    assert data.run_requests == []
    assert "events/" not in data.cursor


def test_a_symlink_leading_outside_the_landing_zone_is_not_requested(landing_dir, tmp_path):
    landing = local_landing(landing_dir)
    cursor = tick(landing, None).cursor
    secret = tmp_path / "elsewhere" / "secret.csv"
    secret.parent.mkdir()
    secret.write_text("incident_number\n1\n")
    (landing_dir / "calls" / "secret.csv").symlink_to(secret)
    data = tick(landing, cursor)
    assert data.run_requests == []
    assert "calls/secret.csv" not in json.loads(data.cursor)["files"]


def test_unreadable_cursor_counts_every_file_as_new(landing_dir):
    assert requested_assets(tick(local_landing(landing_dir), "{not json")) == ALL_RAW


# -------------------------------------------------------------------------------------- S3


@pytest.fixture
def s3_landing(s3_storage, s3_client, tmp_path):
    s3_storage.ensure_buckets()
    prefix = f"landing-{uuid.uuid4().hex[:8]}"
    landing = LandingZone(
        location=f"s3://raw-data/{prefix}", storage=s3_storage, cache_dir=str(tmp_path / "cache")
    )
    return landing, s3_client, prefix


def test_s3_landing_uses_etags(s3_landing, sample_landing, tmp_path):
    landing, client, prefix = s3_landing
    bodies = {}
    for source in ("calls", "events", "block_groups"):
        path = only_file(sample_landing, source)
        bodies[source] = (path.name, path.read_bytes())
        client.put_object(
            Bucket="raw-data", Key=f"{prefix}/{source}/{path.name}", Body=bodies[source][1]
        )
    client.put_object(Bucket="raw-data", Key=f"{prefix}/calls/readme.txt", Body=b"ignored")

    first = tick(landing, None)
    assert requested_assets(first) == ALL_RAW
    files = json.loads(first.cursor)["files"]
    name, body = bodies["events"]
    # a single-part upload's ETag is the MD5 of its content
    assert files[f"events/{name}"]["fingerprint"] == "etag:" + hashlib.md5(body).hexdigest()
    assert "mtime_ns" not in files[f"events/{name}"]
    assert not (tmp_path / "cache").exists()  # fingerprints came from the listing, no download

    assert tick(landing, first.cursor).run_requests == []
    # the same bytes uploaded again: same ETag, nothing to do
    client.put_object(Bucket="raw-data", Key=f"{prefix}/events/{name}", Body=body)
    again = tick(landing, first.cursor)
    assert again.run_requests == []

    client.put_object(
        Bucket="raw-data",
        Key=f"{prefix}/events/{name}",
        Body=body + body.splitlines(keepends=True)[-1],
    )
    changed = tick(landing, again.cursor)
    assert requested_assets(changed) == {"raw_events"}
