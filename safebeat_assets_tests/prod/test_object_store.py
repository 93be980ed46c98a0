"""The lake storage and landing zone on a real S3 endpoint (moto on loopback)."""

import pytest

from safebeat_assets.storage.landing import LandingZone, MissingSourceError
from safebeat_assets.storage.object_store import LAKE_BUCKETS


def test_buckets_are_created_idempotently(s3_storage, s3_client):
    assert sorted(s3_storage.ensure_buckets()) == sorted(LAKE_BUCKETS)
    assert s3_storage.ensure_buckets() == []
    assert {b["Name"] for b in s3_client.list_buckets()["Buckets"]} >= set(LAKE_BUCKETS)


def test_landing_prefix_lists_and_caches_objects(s3_storage, s3_client, tmp_path):
    s3_storage.ensure_buckets()
    s3_client.put_object(Bucket="raw-data", Key="landing/events/b.csv", Body=b"second")
    s3_client.put_object(Bucket="raw-data", Key="landing/events/a.csv", Body=b"first")
    s3_client.put_object(Bucket="raw-data", Key="landing/events/notes.txt", Body=b"ignored")
    landing = LandingZone(
        location="s3://raw-data/landing", storage=s3_storage, cache_dir=str(tmp_path / "cache")
    )
    files = landing.source_files("events")
    assert [p.name for p in files] == ["a.csv", "b.csv"]
    assert files[0].read_bytes() == b"first"
    # A file dropped later is seen by the same process (no stale listing cache).
    s3_client.put_object(Bucket="raw-data", Key="landing/events/c.csv", Body=b"third")
    assert [p.name for p in landing.source_files("events")] == ["a.csv", "b.csv", "c.csv"]
    with pytest.raises(
        MissingSourceError, match="no calls file found in s3://raw-data/landing/calls"
    ):
        landing.source_files("calls")


def test_report_objects_are_written_whole(s3_storage, s3_client):
    s3_storage.ensure_buckets()
    target = s3_storage.upath() / "reports" / "daily" / "x.json"
    s3_storage.write_bytes(target, '{"ok": "✓"}'.encode())
    body = s3_client.get_object(Bucket="reports", Key="daily/x.json")["Body"].read()
    assert body.decode("utf-8") == '{"ok": "✓"}'
