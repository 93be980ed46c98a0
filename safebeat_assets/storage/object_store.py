"""Where the lake lives: a local folder or an S3 endpoint (MinIO in production, moto in CI).

One resource holds the location and credentials; everything else asks it for UPaths, so the
lake, the landing zone and the report files are written by the same code in both profiles.
"""

from typing import Any

import dagster as dg
from dagster_aws.s3 import S3Resource
from upath import UPath

from ..settings import LAKE_BUCKETS


class LakeStorage(dg.ConfigurableResource):
    """The lake root: a folder (local profile) or ``s3://`` (buckets are the first path part)."""

    root: str
    endpoint_url: str | None = None
    region_name: str = "us-east-1"
    access_key_id: str | None = None
    secret_access_key: str | None = None

    @property
    def is_object_store(self) -> bool:
        return self.root.startswith("s3://")

    def _options(self) -> dict[str, Any]:
        options: dict[str, Any] = {}
        if self.endpoint_url:
            options["endpoint_url"] = self.endpoint_url
        if self.access_key_id:
            options["key"] = self.access_key_id
            options["secret"] = self.secret_access_key
        options["client_kwargs"] = {"region_name": self.region_name}
        # New exports land while a code server runs for days: never answer from a stale listing.
        options["use_listings_cache"] = False
        return options

    def upath(self, location: str | None = None) -> UPath:
        """A UPath for the lake root, or for another location on the same store."""
        location = location or self.root
        if location.startswith("s3://"):
            return UPath(location, **self._options())
        return UPath(location)

    def s3_client(self):
        return S3Resource(
            endpoint_url=self.endpoint_url,
            region_name=self.region_name,
            aws_access_key_id=self.access_key_id,
            aws_secret_access_key=self.secret_access_key,
        ).get_client()

    def ensure_buckets(self) -> list[str]:
        """Create the four lake buckets (or folders) if missing; returns the ones created."""
        if not self.is_object_store:
            for bucket in LAKE_BUCKETS:
                (self.upath() / bucket).mkdir(parents=True, exist_ok=True)
            return []
        client = self.s3_client()
        existing = {b["Name"] for b in client.list_buckets().get("Buckets", [])}
        created = []
        for bucket in LAKE_BUCKETS:
            if bucket not in existing:
                client.create_bucket(Bucket=bucket)
                created.append(bucket)
        return created

    def write_bytes(self, path: UPath, data: bytes) -> None:
        """Write a whole object; a local file goes through a temporary name and a rename."""
        if path.protocol in ("", "file", "local"):
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(path.name + ".tmp")
            tmp.write_bytes(data)
            tmp.rename(path)
        else:
            path.write_bytes(data)  # an object PUT is atomic
