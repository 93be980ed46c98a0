"""Projections of the lake frames onto the warehouse tables (dim_event, fact_911_calls).

Only column selection, order and renaming happen here; every value was typed upstream. A
missing column is an error naming it, so a contract drift fails loudly at load time.
"""

from __future__ import annotations

import pandas as pd

from safebeat_assets.sources.columns import SourceSchemaError
from safebeat_assets.transform.events import CLEANED_EVENT_COLUMNS

DIM_EVENT_COLUMNS: tuple[str, ...] = CLEANED_EVENT_COLUMNS

FACT_CALL_COLUMNS: tuple[str, ...] = (
    "incident_number",
    "response_datetime",
    "response_date",
    "response_year",
    "response_month",
    "response_hour",
    "response_day_of_week",
    "day_of_week_index",
    "is_weekend",
    "time_of_day",
    "geo_id",
    "reported_geo_id",
    "latitude_centroid",
    "longitude_centroid",
    "priority_level",
    "priority_numeric",
    "initial_problem_category",
    "final_problem_category",
    "final_problem_description",
    "call_disposition_description",
    "sector",
    "council_district",
    "response_time",
    "unit_time_on_scene",
    "number_of_units_arrived",
    "is_mental_health",
    "report_written",
    "is_duplicate_incident_number",
)
# fact geo_id is the FK (NULL when the id is not in dim_geo); the id as delivered (normalised)
# is kept as reported_geo_id.
_FACT_SOURCES = {"geo_id": "dim_geo_id", "reported_geo_id": "geo_id"}
# The enriched_911_calls columns the fact is made of (a reader loads only these).
FACT_SOURCE_COLUMNS: tuple[str, ...] = tuple(_FACT_SOURCES.get(c, c) for c in FACT_CALL_COLUMNS)


def _select(
    frame: pd.DataFrame, columns: tuple[str, ...], name: str, sources: dict[str, str] | None = None
) -> pd.DataFrame:
    """`columns` of `frame` in order, each read from `sources.get(column, column)`."""
    sources = sources or {}
    wanted = [sources.get(c, c) for c in columns]
    missing = [c for c in wanted if c not in frame.columns]
    if missing:
        raise SourceSchemaError(f"{name} frame", missing=missing)
    # Column-wise concat instead of `.loc[:, columns]`, which copies every column of
    # every call.
    selected = pd.concat(
        [frame[source].rename(target) for source, target in zip(wanted, columns, strict=True)],
        axis=1,
        copy=False,
    )
    return selected.set_axis(pd.RangeIndex(len(frame)), copy=False)


def to_dim_event(events: pd.DataFrame) -> pd.DataFrame:
    """cleaned_events -> dim_event (same columns, contract order)."""
    return _select(events, DIM_EVENT_COLUMNS, "cleaned_events")


def to_fact_calls(enriched: pd.DataFrame) -> pd.DataFrame:
    """enriched_911_calls -> fact_911_calls (contract columns and order)."""
    return _select(enriched, FACT_CALL_COLUMNS, "enriched_911_calls", _FACT_SOURCES)
