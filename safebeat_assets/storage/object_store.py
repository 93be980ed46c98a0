"""Where the lake lives: a local folder or an S3 endpoint (MinIO in production, moto in CI).

One resource holds the location and credentials; everything else asks it for UPaths, so the
lake, the landing zone and the report files are written by the same code in both profiles.

Whole objects only: a local file is written under a temporary name in its own folder, fsynced
and renamed over the final name; an S3 object is one PUT, which S3 makes visible only once it
is complete. A reader therefore sees the previous object or the new one, never a part of one.

S3 requests carry botocore's standard retries and bounded connect/read timeouts, so a stopped
or hung endpoint fails in seconds rather than hanging a run. What still fails after those
retries is raised as `ObjectStoreUnavailableError` (a `ConnectionError`, hence transient: the
step's retry policy applies), naming the endpoint and the object.
"""

import glob
import os
import re
import shutil
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

import dagster as dg
from pydantic import PrivateAttr
from upath import UPath

from ..errors import is_transient
from ..settings import LAKE_BUCKETS

__all__ = [
    "LAKE_BUCKETS",
    "LakeStorage",
    "ObjectStoreError",
    "ObjectStoreUnavailableError",
    "atomic_local_file",
    "fsync_directory",
    "is_local",
    "unsafe_name_reason",
]

LOCAL_PROTOCOLS = ("", "file", "local")
_WRITE_CHUNK = 8 << 20
_MISSING_CODES = frozenset({"NoSuchKey", "NoSuchBucket", "404", "NotFound"})
_client_lock = threading.Lock()


class ObjectStoreUnavailableError(ConnectionError):
    """The S3 endpoint did not answer even after the client's retries. Transient."""


class ObjectStoreError(RuntimeError):
    """The S3 endpoint refused a request (credentials, missing bucket, ...); names the endpoint
    and the object. Transient only when its cause is."""


def is_local(path: UPath | Path) -> bool:
    return getattr(path, "protocol", "") in LOCAL_PROTOCOLS


def unsafe_name_reason(name: str, allow_folders: bool = False) -> str | None:
    """Why `name` could resolve outside the folder it is joined to, or None when it cannot.

    Landing file names come from whoever drops files there (and S3 keys are arbitrary strings),
    so a name is checked before it ever becomes a local path. With `allow_folders`, forward
    slashes separate sub-folders (report paths); a backslash is always refused, because on
    Windows it is a separator too.
    """
    if not name:
        return "empty name"
    if "\x00" in name:
        return "NUL byte in name"
    if name.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", name):
        return "absolute path"
    parts = re.split(r"[/\\]", name)
    if ".." in parts:
        return "parent-folder reference '..'"
    if "\\" in name:
        return "backslash in name"
    if "/" in name and not allow_folders:
        return "path separator in name"
    if any(part in ("", ".") for part in parts):
        return "empty or '.' path segment"
    return None


def _write_all(handle: IO[bytes], data: bytes) -> None:
    view = memoryview(data)
    for start in range(0, len(view), _WRITE_CHUNK):
        handle.write(view[start : start + _WRITE_CHUNK])


def fsync_directory(folder: Path) -> None:
    # Makes the rename itself durable; not every platform can open a directory.
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, another user's
        return True
    return True


def remove_abandoned_temporaries(target: Path) -> list[Path]:
    """Delete the temporary files of `target` left by writers that died mid-write (killed
    runs): they are invisible to readers, but would otherwise pile up in the lake. A temporary
    of a live writer (its pid is in the name) is left alone."""
    removed = []
    for leftover in target.parent.glob(f".{glob.escape(target.name)}.*.tmp"):
        pid_part = leftover.name[len(target.name) + 2 :].split(".", 1)[0]
        if pid_part.isdigit() and _process_alive(int(pid_part)):
            continue
        leftover.unlink(missing_ok=True)
        removed.append(leftover)
    return removed


@contextmanager
def atomic_local_file(target: Path) -> Iterator[IO[bytes]]:
    """A handle whose bytes appear at `target` all at once when the block ends without error.

    The temporary file sits in the target's folder (a rename within one file system is atomic)
    and is hidden and suffixed, so no lake or landing pattern matches it; it is removed when
    the block fails. Created with 0o666 so the process umask applies as for a plain write.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    remove_abandoned_temporaries(target)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.{uuid.uuid4().hex[:12]}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(fd, "wb") as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    fsync_directory(target.parent)


class LakeStorage(dg.ConfigurableResource):
    """The lake root: a folder (local profile) or ``s3://`` (buckets are the first path part)."""

    root: str
    endpoint_url: str | None = None
    region_name: str = "us-east-1"
    access_key_id: str | None = None
    secret_access_key: str | None = None
    max_attempts: int = 4
    connect_timeout_seconds: float = 5.0
    read_timeout_seconds: float = 30.0

    _client: Any = PrivateAttr(default=None)
    _client_pid: int | None = PrivateAttr(default=None)

    @property
    def is_object_store(self) -> bool:
        return self.root.startswith("s3://")

    @property
    def endpoint(self) -> str:
        return self.endpoint_url or f"AWS S3 ({self.region_name})"

    def _botocore_config(self) -> dict[str, Any]:
        return {
            # botocore's own "max_attempts" counts retries only; this one counts every request.
            "retries": {"mode": "standard", "total_max_attempts": self.max_attempts},
            "connect_timeout": self.connect_timeout_seconds,
            "read_timeout": self.read_timeout_seconds,
        }

    def _options(self) -> dict[str, Any]:
        options: dict[str, Any] = {}
        if self.endpoint_url:
            options["endpoint_url"] = self.endpoint_url
        if self.access_key_id:
            options["key"] = self.access_key_id
            options["secret"] = self.secret_access_key
        options["client_kwargs"] = {"region_name": self.region_name}
        options["config_kwargs"] = self._botocore_config()
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
        """This process's boto3 client (thread-safe), with the retry and timeout settings."""
        # A client inherited through fork would share its connection pool with the parent.
        if self._client is None or self._client_pid != os.getpid():
            with _client_lock:
                if self._client is None or self._client_pid != os.getpid():
                    import boto3
                    from botocore.config import Config

                    self._client = boto3.session.Session().client(
                        "s3",
                        endpoint_url=self.endpoint_url,
                        region_name=self.region_name,
                        aws_access_key_id=self.access_key_id,
                        aws_secret_access_key=self.secret_access_key,
                        config=Config(**self._botocore_config()),
                    )
                    self._client_pid = os.getpid()
        return self._client

    @staticmethod
    def bucket_and_key(path: UPath) -> tuple[str, str]:
        bucket, _, key = path.path.partition("/")
        return bucket, key

    @contextmanager
    def answering(self, action: str, what: str) -> Iterator[None]:
        """Turns an S3 failure into one that names the endpoint and the object: a missing
        object is a `FileNotFoundError`, a transient failure (after botocore's retries) an
        `ObjectStoreUnavailableError`, anything else an `ObjectStoreError`."""
        try:
            yield
        except (FileNotFoundError, ObjectStoreUnavailableError, ObjectStoreError):
            raise
        except Exception as exc:
            if _is_missing(exc):
                raise FileNotFoundError(
                    f"{what} does not exist (S3 endpoint {self.endpoint})"
                ) from exc
            detail = f"{type(exc).__name__}: {exc}"
            if is_transient(exc):
                raise ObjectStoreUnavailableError(
                    f"S3 endpoint {self.endpoint} did not answer: {action} {what} failed after "
                    f"{self.max_attempts} attempts ({detail})"
                ) from exc
            raise ObjectStoreError(
                f"S3 endpoint {self.endpoint} refused {action} {what} ({detail})"
            ) from exc

    def ensure_buckets(self) -> list[str]:
        """Create the four lake buckets (or folders) if missing; returns the ones created."""
        if not self.is_object_store:
            for bucket in LAKE_BUCKETS:
                (self.upath() / bucket).mkdir(parents=True, exist_ok=True)
            return []
        client = self.s3_client()
        with self.answering("listing/creating", f"buckets {', '.join(LAKE_BUCKETS)}"):
            existing = {b["Name"] for b in client.list_buckets().get("Buckets", [])}
            created = []
            for bucket in LAKE_BUCKETS:
                if bucket not in existing:
                    client.create_bucket(Bucket=bucket)
                    created.append(bucket)
        return created

    def write_bytes(self, path: UPath, data: bytes) -> None:
        """Write a whole object: a local file via a temporary name, fsync and rename; an S3
        object in one PUT (never a multipart or streamed write that could be completed with
        only part of the bytes)."""
        if is_local(path):
            with atomic_local_file(Path(path.path)) as handle:
                _write_all(handle, data)
            return
        bucket, key = self.bucket_and_key(path)
        with self.answering("PUT", str(path)):
            self.s3_client().put_object(Bucket=bucket, Key=key, Body=data)

    def read_bytes(self, path: UPath) -> bytes:
        """A whole object; S3 serves one version of it in one GET."""
        if is_local(path):
            return Path(path.path).read_bytes()
        bucket, key = self.bucket_and_key(path)
        with self.answering("GET", str(path)):
            response = self.s3_client().get_object(Bucket=bucket, Key=key)
            with response["Body"] as body:
                return body.read()

    def object_names(self, folder: UPath) -> set[str]:
        """Names of the objects directly in `folder` (empty when it does not exist)."""
        return self._children(folder)[0]

    def object_versions(self, folder: UPath) -> dict[str, str]:
        """The objects directly in `folder`, each with a token that changes whenever the
        object is rewritten (local: size, modification time and inode, since a write renames a
        new file over the name; S3: ETag and size). Empty when the folder does not exist."""
        if is_local(folder):
            local = Path(folder.path)
            if not local.is_dir():
                return {}
            versions = {}
            with os.scandir(local) as entries:
                for entry in entries:
                    if entry.is_file():
                        stat = entry.stat()
                        versions[entry.name] = f"{stat.st_size}:{stat.st_mtime_ns}:{stat.st_ino}"
            return versions
        return self._s3_children(folder)[0]

    def delete_objects(self, folder: UPath, names: list[str]) -> None:
        """Remove the named objects of `folder` (one already gone is not an error)."""
        if not names:
            return
        if is_local(folder):
            for name in names:
                Path(folder.path, name).unlink(missing_ok=True)
            return
        bucket, prefix = self.bucket_and_key(folder)
        keys = [{"Key": f"{prefix.rstrip('/')}/{name}"} for name in names]
        with self.answering("DELETE", str(folder)):
            self.s3_client().delete_objects(Bucket=bucket, Delete={"Objects": keys, "Quiet": True})

    def folder_names(self, folder: UPath) -> set[str]:
        """Names of the sub-folders directly in `folder` (empty when it does not exist)."""
        return self._children(folder)[1]

    def _children(self, folder: UPath) -> tuple[set[str], set[str]]:
        """(object names, sub-folder names) directly in `folder`."""
        if is_local(folder):
            local = Path(folder.path)
            if not local.is_dir():
                return set(), set()
            entries = list(local.iterdir())
            return {p.name for p in entries if p.is_file()}, {p.name for p in entries if p.is_dir()}
        versions, folders = self._s3_children(folder)
        return set(versions), folders

    def _s3_children(self, folder: UPath) -> tuple[dict[str, str], set[str]]:
        """({object name: "ETag:size"}, sub-folder names) directly in an S3 `folder`."""
        bucket, prefix = self.bucket_and_key(folder)
        prefix = f"{prefix.rstrip('/')}/" if prefix else ""
        versions: dict[str, str] = {}
        folders: set[str] = set()
        try:
            with self.answering("LIST", str(folder)):
                pages = self.s3_client().get_paginator("list_objects_v2")
                for page in pages.paginate(Bucket=bucket, Prefix=prefix, Delimiter="/"):
                    for obj in page.get("Contents", []):
                        versions[obj["Key"][len(prefix) :]] = f"{obj['ETag']}:{obj['Size']}"
                    folders.update(
                        p["Prefix"][len(prefix) :].rstrip("/")
                        for p in page.get("CommonPrefixes", [])
                    )
        except FileNotFoundError:  # no such bucket
            return {}, set()
        return versions, folders

    def delete_folder(self, folder: UPath) -> None:
        """Remove `folder` and every object under it (nothing when it does not exist)."""
        if is_local(folder):
            if Path(folder.path).exists():
                shutil.rmtree(Path(folder.path))
            return
        bucket, prefix = self.bucket_and_key(folder)
        prefix = f"{prefix.rstrip('/')}/"
        client = self.s3_client()
        with self.answering("DELETE", str(folder)):
            for page in client.get_paginator("list_objects_v2").paginate(
                Bucket=bucket, Prefix=prefix
            ):
                keys = [{"Key": obj["Key"]} for obj in page.get("Contents", [])]
                if keys:
                    client.delete_objects(Bucket=bucket, Delete={"Objects": keys, "Quiet": True})


def _is_missing(exc: BaseException) -> bool:
    if isinstance(exc, FileNotFoundError):
        return True
    response = getattr(exc, "response", None)
    if not isinstance(response, dict):
        return False
    code = str(response.get("Error", {}).get("Code", ""))
    return code in _MISSING_CODES
