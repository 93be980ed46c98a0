"""Streamlit caching of the queries, invalidated when a new run lands.

One `DataSource` per server process (`st.cache_resource`). Query results are cached per
(query, arguments, data version); the data version (`queries.data_version`) is itself cached
for `VERSION_TTL_SECONDS`, so a run that lands shows up within that time without every
rerun asking the warehouse whether anything changed.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

import streamlit as st

from ..analytics.event_impact import RateTable
from ..settings import load_settings
from . import queries
from .source import DataSource

VERSION_TTL_SECONDS = 30
_QUERIES: dict[str, Callable[..., Any]] = {}


@st.cache_resource(show_spinner="Connecting to the warehouse…")
def source() -> DataSource:
    return DataSource.from_settings(load_settings())


@st.cache_data(ttl=VERSION_TTL_SECONDS, show_spinner=False)
def data_version() -> str:
    return queries.data_version(source())


@st.cache_data(show_spinner=False, max_entries=256)
def _run(name: str, version: str, args: tuple, kwargs: tuple) -> Any:
    return _QUERIES[name](source(), *args, **dict(kwargs))


@st.cache_resource(show_spinner=False, max_entries=2)
def _rate_table(version: str) -> RateTable:
    return RateTable.from_frame(queries.baseline_rates(source()))


def rate_table() -> RateTable:
    """`call_baseline_rates` as the array the planner and the events page sum baselines from,
    built once per data version."""
    return _rate_table(data_version())


def cached(query: Callable[..., Any]) -> Callable[..., Any]:
    """`query(src, *args)` as `cached(query)(*args)`: the source is implied, the result cached
    until the data version changes. Arguments must be hashable values (Filters, str, int)."""
    name = f"{query.__module__}.{query.__qualname__}"
    _QUERIES[name] = query

    @wraps(query)
    def call(*args: Any, **kwargs: Any) -> Any:
        return _run(name, data_version(), args, tuple(sorted(kwargs.items())))

    return call
