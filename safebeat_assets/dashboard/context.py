"""What every page shares: the sidebar (data status and filters) and the current filters."""

from __future__ import annotations

import datetime as dt

import streamlit as st

from ..settings import load_settings
from . import queries
from .cache import cached, data_version
from .filters import ALCOHOL_CHOICES, Filters
from .source import DashboardDataError

FILTERS_KEY = "safebeat_filters"
PRIORITY_LABELS = {0: "P0 (most urgent)", 1: "P1", 2: "P2", 3: "P3"}

filter_options = cached(queries.filter_options)
latest_report = cached(queries.latest_report)


def page(title: str, question: str) -> Filters:
    """Start a page: its title and the question it answers, the shared sidebar; returns the
    filters. A warehouse that cannot be read stops the page with the reason."""
    st.title(title)
    st.caption(question)
    try:
        return sidebar()
    except DashboardDataError as exc:
        st.error(f"SafeBeat cannot read its data: {exc}")
        st.stop()
        raise  # st.stop() does not return


def sidebar() -> Filters:
    """Draw the shared filters in the sidebar and return them (also kept for the pages)."""
    options = filter_options()
    if options["first"] is None:
        st.info(
            "The warehouse holds no calls yet: the pages fill in once the pipeline's first run "
            "has landed (locally, `make demo`)."
        )
        st.stop()
    first, last = queries.as_date(options["first"]), queries.as_date(options["last"])
    with st.sidebar:
        st.caption(f"Calls {first:%d %b %Y} – {last:%d %b %Y}")
        picked = st.date_input(
            "Date range", value=(first, last), min_value=first, max_value=last, key="f_dates"
        )
        start, end = _range(picked, first, last)
        categories = st.multiselect(
            "Call category", options["categories"], key="f_categories", placeholder="All"
        )
        priorities = st.multiselect(
            "Priority",
            options["priorities"],
            format_func=PRIORITY_LABELS.get,
            key="f_priorities",
            placeholder="All",
        )
        tiers = st.multiselect("Event tier", options["tiers"], key="f_tiers", placeholder="All")
        alcohol = st.selectbox("Alcohol at events", ALCOHOL_CHOICES, key="f_alcohol")
        report = latest_report()
        if report:
            meta = report["report_metadata"]
            st.caption(f"Last run: **{meta['status']}** ({meta['generated_at'][:16]} UTC)")
        settings = load_settings()
        st.caption(
            f"**{settings.city.title}** · profile `{settings.profile}` · data version "
            f"{data_version()[-6:]}"
        )
    filters = Filters(
        start=start,
        end=end,
        categories=tuple(categories),
        priorities=tuple(int(p) for p in priorities),
        tiers=tuple(int(t) for t in tiers),
        alcohol=alcohol,
    )
    st.session_state[FILTERS_KEY] = filters
    return filters


def filters() -> Filters:
    return st.session_state[FILTERS_KEY]


def _range(picked, first: dt.date, last: dt.date) -> tuple[dt.date, dt.date]:
    """The date input gives one date while the user is still choosing the second."""
    if isinstance(picked, tuple | list):
        if len(picked) == 2:
            return picked[0], picked[1]
        if len(picked) == 1:
            return picked[0], picked[0]
        return first, last
    return picked, picked
