"""The landing zone: where source exports are dropped before ingestion."""

from pathlib import Path

import dagster as dg

SOURCE_PATTERNS: dict[str, tuple[str, ...]] = {
    "calls": ("*.csv", "*.xlsx"),
    "events": ("*.csv", "*.xlsx"),
    "block_groups": ("*.geojson", "*.json", "*.gpkg", "*.zip"),
}


class MissingSourceError(FileNotFoundError):
    """No input file was found for a source."""


class LandingZone(dg.ConfigurableResource):
    """A local landing folder with one sub-folder per source (calls, events, block_groups)."""

    root: str

    def source_files(self, source: str) -> list[Path]:
        """The source's files in name order; an error that says where to put them if none."""
        folder = Path(self.root) / source
        files = sorted(
            {p for pattern in SOURCE_PATTERNS[source] for p in folder.glob(pattern) if p.is_file()}
        )
        if not files:
            raise MissingSourceError(
                f"no {source} file found in {folder} (expected {', '.join(SOURCE_PATTERNS[source])}); "
                "drop an export there or run `safebeat sample --out "
                f"{Path(self.root)}` to generate sample data"
            )
        return files
