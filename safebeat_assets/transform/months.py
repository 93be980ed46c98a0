"""Month routing of raw call rows: which monthly partition a row belongs to, from its text.

Raw rows stay text; this reads only the year and month of `response_datetime` in any of the
accepted layouts (`2025 Oct 31 …`, `2025-10-31 …`, `2025-10-31T…`). Cleaning parses properly.
"""

import hashlib

import pandas as pd

_MONTHS = {
    name: number
    for number, name in enumerate(
        ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"), 1
    )
}


def month_keys(datetime_text: pd.Series) -> pd.Series:
    """`YYYY-MM-01` for each value whose year and month can be read, else None."""
    text = datetime_text.astype("string").str.strip()
    apd = text.str.extract(r"^(\d{4}) ([A-Z][a-z]{2}) ", expand=True)
    iso = text.str.extract(r"^(\d{4})-(\d{2})-\d{2}", expand=True)
    month = apd[1].map(_MONTHS).astype("Float64").fillna(pd.to_numeric(iso[1], errors="coerce"))
    year = pd.to_numeric(apd[0], errors="coerce").fillna(pd.to_numeric(iso[0], errors="coerce"))
    valid = (month.between(1, 12) & year.notna()).fillna(False).astype(bool)
    keys = (
        year.astype("Int64").astype("string")
        + "-"
        + month.astype("Int64").astype("string").str.zfill(2)
        + "-01"
    )
    return keys.astype(object).where(valid, None)


def route_to_months(datetime_text: pd.Series, fallback_key: str) -> pd.Series:
    """Month key of every row; rows whose month cannot be read go to `fallback_key`."""
    keys = month_keys(datetime_text)
    return keys.where(keys.notna(), fallback_key)


def month_fingerprints(frame: pd.DataFrame, keys: pd.Series) -> dict[str, str]:
    """A content hash per month: a month whose rows did not change keeps its fingerprint."""
    row_hashes = pd.util.hash_pandas_object(frame, index=False).to_numpy()
    prints = {}
    for key, rows in pd.Series(keys.to_numpy()).groupby(keys.to_numpy()).indices.items():
        prints[str(key)] = hashlib.sha256(row_hashes[rows].tobytes()).hexdigest()[:16]
    return dict(sorted(prints.items()))
