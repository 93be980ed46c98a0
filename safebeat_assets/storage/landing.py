"""The landing zone: where source exports are dropped before ingestion.

A local folder, or a prefix of the `raw-data` bucket (``s3://raw-data/landing``). Objects are
copied to a local cache before parsing, because the XLSX and GIS readers need real files.
"""

import fnmatch
import hashlib
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import dagster as dg

from ..errors import DataError
from .object_store import LakeStorage

SOURCE_PATTERNS: dict[str, tuple[str, ...]] = {
    "calls": ("*.csv", "*.xlsx"),
    "events": ("*.csv", "*.xlsx"),
    "block_groups": ("*.geojson", "*.json", "*.gpkg", "*.zip"),
}


class MissingSourceError(DataError, FileNotFoundError):
    """No input file was found for a source."""


class LandingZone(dg.ConfigurableResource):
    """One sub-folder (or sub-prefix) per source: calls, events, block_groups."""

    location: str
    storage: dg.ResourceDependency[LakeStorage]
    cache_dir: str = ""

    def source_files(self, source: str) -> list[Path]:
        """The source's files in name order as local paths; a clear error if there are none."""
        folder = self.storage.upath(self.location) / source
        patterns = SOURCE_PATTERNS[source]
        entries = sorted(
            (p for p in folder.iterdir() if any(fnmatch.fnmatch(p.name, pat) for pat in patterns))
            if folder.exists()
            else [],
            key=lambda p: p.name,
        )
        entries = [p for p in entries if p.is_file()]
        if not entries:
            raise MissingSourceError(
                f"no {source} file found in {folder} (expected {', '.join(patterns)}); "
                f"drop an export there or run `safebeat sample --out {self.location}` "
                "to generate sample data"
            )
        if folder.protocol in ("", "file", "local"):
            return [Path(str(p)) for p in entries]
        return [self._cached_copy(source, p) for p in entries]

    def _cached_copy(self, source: str, remote) -> Path:
        if not self.cache_dir:
            raise dg.DagsterInvalidConfigError(
                "a remote landing zone needs a local cache_dir", [], None
            )
        local = Path(self.cache_dir) / source / remote.name
        local.parent.mkdir(parents=True, exist_ok=True)
        tmp = local.with_name(local.name + ".part")
        tmp.write_bytes(remote.read_bytes())
        tmp.rename(local)
        return local

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

        Only files `source_files` would read count (same patterns, direct children). On S3 the
        fingerprint is the object's ETag from the listing (``etag:<etag>``, nothing is
        downloaded). Locally it is the SHA-256 of the content (``sha256:<hex>``), taken from
        `previous` when the file's size and mtime_ns are unchanged, so a large export is hashed
        once rather than on every sensor tick. A missing folder or bucket yields no entries.
        """
        previous = previous or {}
        states: dict[str, dict[str, Any]] = {}
        root = self.storage.upath(self.location)
        for source, patterns in SOURCE_PATTERNS.items():
            folder = root / source
            if folder.protocol in ("", "file", "local"):
                states.update(self._local_states(source, Path(folder.path), patterns, previous))
            else:
                states.update(self._listed_states(source, folder, patterns))
        return states

    @staticmethod
    def _local_states(
        source: str,
        folder: Path,
        patterns: tuple[str, ...],
        previous: Mapping[str, Mapping[str, Any]],
    ) -> dict[str, dict[str, Any]]:
        if not folder.is_dir():
            return {}
        states = {}
        for entry in sorted(os.scandir(folder), key=lambda e: e.name):
            if not entry.is_file() or not any(fnmatch.fnmatch(entry.name, p) for p in patterns):
                continue
            stat = entry.stat()
            key = f"{source}/{entry.name}"
            known = previous.get(key) or {}
            if (
                known.get("fingerprint")
                and known.get("size") == stat.st_size
                and known.get("mtime_ns") == stat.st_mtime_ns
            ):
                fingerprint = known["fingerprint"]
            else:
                fingerprint = "sha256:" + LandingZone._sha256_file(Path(entry.path))
            states[key] = {
                "fingerprint": fingerprint,
                "size": stat.st_size,
                "mtime_ns": stat.st_mtime_ns,
            }
        return states

    @staticmethod
    def _listed_states(source: str, folder, patterns: tuple[str, ...]) -> dict[str, dict[str, Any]]:
        try:
            listing = folder.fs.ls(folder.path, detail=True)
        except FileNotFoundError:
            return {}
        states = {}
        for info in sorted(listing, key=lambda i: i["name"]):
            name = info["name"].rstrip("/").rsplit("/", 1)[-1]
            if info.get("type") != "file" or not any(fnmatch.fnmatch(name, p) for p in patterns):
                continue
            etag = info.get("ETag") or info.get("etag")
            if not etag:
                raise RuntimeError(f"the listing of {folder} gives no ETag for {name}")
            states[f"{source}/{name}"] = {
                "fingerprint": "etag:" + str(etag).strip('"'),
                "size": int(info.get("size") or 0),
            }
        return states

    @staticmethod
    def _sha256_file(path: Path) -> str:
        digest = hashlib.sha256()
        with path.open("rb") as handle:
            while chunk := handle.read(1 << 20):
                digest.update(chunk)
        return digest.hexdigest()
