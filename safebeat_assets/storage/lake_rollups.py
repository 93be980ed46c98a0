"""Which stored months of a monthly asset a long read takes from a yearly roll-up.

A model refit reads every month of its aggregate; at ten times Austin's history that is 370
small Parquet objects per aggregate, and decoding each one costs more than its rows (1-2 ms per
object: 0.3-0.8 s per aggregate, about 4 s per new day). The lake therefore keeps, beside the
months, one roll-up per past year: the concatenation of that year's stored months.

A roll-up is named after exactly what it was built from: ``<year>.<digest>.parquet``, where the
digest covers each month's object name and storage version (local: size, modification time and
inode; S3: ETag and size). A month rewritten since changes the digest, so a stale roll-up is never
read: the listing that finds the months decides, without opening anything. Only years of which
the read takes every stored month are rolled up, and never the year of the newest month read, which
a new day changes every day.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

ROLLUP_FOLDER = "_years"
EXTENSION = ".parquet"
# A read of fewer months takes them one by one: the roll-ups pay off on refits over history.
MIN_MONTHS_FOR_ROLLUPS = 24


@dataclass(frozen=True)
class YearRollup:
    """The months of one year read as one object."""

    year: str
    months: tuple[str, ...]  # partition keys, in order
    digest: str

    @property
    def name(self) -> str:
        return f"{self.year}.{self.digest}{EXTENSION}"


def year_of(key: str) -> str:
    return key[:4]


def rollup_digest(months: list[str], versions: dict[str, str]) -> str:
    """What a roll-up of `months` was built from: each object's name and storage version."""
    text = "\n".join(f"{key}{EXTENSION}={versions[f'{key}{EXTENSION}']}" for key in months)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def plan_read(keys: list[str], versions: dict[str, str]) -> list[str | YearRollup]:
    """The sorted months `keys` (all stored, `versions` keyed by object name) as the parts to
    read in order: a month's key, or the roll-up of a past year whose stored months are all
    among `keys`."""
    keys = sorted(keys)
    if len(keys) < MIN_MONTHS_FOR_ROLLUPS:
        return list(keys)
    stored_by_year: dict[str, list[str]] = {}
    for name in versions:
        if name.endswith(EXTENSION):
            key = name[: -len(EXTENSION)]
            stored_by_year.setdefault(year_of(key), []).append(key)
    newest_year = year_of(keys[-1])
    by_year: dict[str, list[str]] = {}
    for key in keys:
        by_year.setdefault(year_of(key), []).append(key)
    parts: list[str | YearRollup] = []
    for year, months in by_year.items():
        whole_year = sorted(stored_by_year.get(year, [])) == months
        if year != newest_year and whole_year and len(months) > 1:
            parts.append(YearRollup(year, tuple(months), rollup_digest(months, versions)))
        else:
            parts.extend(months)
    return parts


def stale_rollups(stored: set[str], current: list[YearRollup]) -> list[str]:
    """Roll-up objects of the planned years that were built from other versions of them."""
    wanted = {rollup.name for rollup in current}
    shapes = {(rollup.year, len(rollup.name)) for rollup in current}
    return sorted(
        name
        for name in stored
        if name not in wanted and (name[:4], len(name)) in shapes and name.endswith(EXTENSION)
    )
