"""Reader of any city's 911 export: the file's header chooses the adapter (or configuration
names it), and the adapter translates the file onto the raw APD layout cleaning reads."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa

from .adapters import AdapterSpec, adapt_calls, detect_adapter
from .files import file_sha256, read_text_table, with_provenance


@dataclass(frozen=True)
class CityCalls:
    """One export read through an adapter: the raw-layout table (with provenance), the adapter
    that read it and what translating it counted."""

    table: pa.Table
    adapter: AdapterSpec
    counts: dict[str, int]


def read_city_calls_table(
    path: Path, adapter: AdapterSpec | None = None, sha256: str | None = None
) -> CityCalls:
    """Read a CSV or XLSX export through `adapter`, or through the built-in adapter its header
    fits. A header fitting none raises NoAdapterMatchesError listing, for each adapter tried,
    the columns it missed."""
    path = Path(path)
    text = read_text_table(path)
    chosen = adapter or detect_adapter(text.column_names, str(path))
    adapted = adapt_calls(text, chosen)
    table = with_provenance(adapted.table, path, sha256 or file_sha256(path))
    return CityCalls(table, chosen, adapted.counts)
