"""The landing zone: where source exports are dropped before ingestion.

A local folder, or a prefix of the `raw-data` bucket (``s3://raw-data/landing``). Objects are
copied to a local cache before parsing, because the XLSX and GIS readers need real files.
"""

import fnmatch
from pathlib import Path

import dagster as dg

from .object_store import LakeStorage

SOURCE_PATTERNS: dict[str, tuple[str, ...]] = {
    "calls": ("*.csv", "*.xlsx"),
    "events": ("*.csv", "*.xlsx"),
    "block_groups": ("*.geojson", "*.json", "*.gpkg", "*.zip"),
}


class MissingSourceError(FileNotFoundError):
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
