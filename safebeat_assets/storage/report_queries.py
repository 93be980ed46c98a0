"""The warehouse figures the daily report states, in one read-only round trip each."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from ..asset_names import DIM_EVENT, FACT_CALLS, FACT_EVENT_INCIDENTS
from .warehouse import Warehouse


@dataclass(frozen=True)
class WarehouseFigures:
    calls: int
    matched_calls: int
    latest_date: dt.date | None
    calls_on_latest_date: int
    events: int
    events_linked: int


def warehouse_figures(client: Warehouse) -> WarehouseFigures:
    calls, matched, latest = client.fetch_one(
        "SELECT count(*), count(geo_id), max(response_date) FROM {fact}", fact=FACT_CALLS
    )
    on_latest = client.fetch_one(
        "SELECT count(*) FROM {fact} WHERE response_date = (SELECT max(response_date) FROM {fact})",
        fact=FACT_CALLS,
    )[0]
    events, linked = client.fetch_one(
        "SELECT (SELECT count(*) FROM {events}), (SELECT count(DISTINCT event_id) FROM {links})",
        events=DIM_EVENT,
        links=FACT_EVENT_INCIDENTS,
    )
    return WarehouseFigures(
        calls=int(calls),
        matched_calls=int(matched),
        latest_date=latest,
        calls_on_latest_date=int(on_latest),
        events=int(events),
        events_linked=int(linked),
    )
