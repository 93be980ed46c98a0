"""What each dashboard page must show (its key element) and a filter that changes its numbers:
the expectations the AppTest tests check, page by page."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from streamlit.testing.v1 import AppTest

from .apptest import chart_marks, shown


@dataclass(frozen=True)
class PageExpectation:
    key_element: str  # what a reader must see, in words (the assertion message)
    present: Callable[[AppTest], bool]
    change_filter: Callable[[AppTest], None]  # a filter that matters on this page
    numbers: Callable[[AppTest], object] = shown  # where the filter's effect shows


def has_metric(label: str) -> Callable[[AppTest], bool]:
    return lambda at: any(m.label == label for m in at.metric)


def has_mark(mark: str) -> Callable[[AppTest], bool]:
    return lambda at: mark in chart_marks(at)


def has_dataframe(at: AppTest) -> bool:
    return len(at.dataframe) > 0


def both(*checks: Callable[[AppTest], bool]) -> Callable[[AppTest], bool]:
    return lambda at: all(check(at) for check in checks)


def raw_value(widget, label: str):
    """The value behind a shown option: AppTest lists the formatted labels but sets values.
    Tries the label itself, its first word, that word as a number (tiers, priorities,
    "<geo_id> <name>"); None when none formats back to the label."""
    first = label.split(" ")[0]
    candidates = [label, first, *([int(first.lstrip("P"))] if first.lstrip("P").isdigit() else [])]
    for candidate in candidates:
        try:
            if str(widget.format_func(candidate)) == label:
                return candidate
        except (KeyError, TypeError, ValueError):
            continue
    return None


def select_first(key: str) -> Callable[[AppTest], None]:
    """Pick the first option of a multiselect (e.g. one call category instead of all)."""

    def change(at: AppTest) -> None:
        widget = at.multiselect(key=key)
        widget.select(raw_value(widget, widget.options[0]))

    return change


def choose(key: str, value) -> Callable[[AppTest], None]:
    """Set a widget (sidebar or page-specific) to a value."""
    return lambda at: at.get_by_key(key).set_value(value)


def first_month(at: AppTest) -> None:
    """Narrow the shared date range to its first 31 days."""
    widget = at.date_input(key="f_dates")
    start = widget.value[0] if isinstance(widget.value, tuple) else widget.value
    widget.set_value((start, start + dt.timedelta(days=30)))


def another_option(key: str) -> Callable[[AppTest], None]:
    """Switch a page's selectbox to an option other than the one shown."""

    def change(at: AppTest) -> None:
        widget = at.selectbox(key=key)
        widget.set_value(next(o for o in widget.options if o != str(widget.value)))

    return change


SERVED = choose("f_alcohol", "Alcohol served")

# Per page: what a reader must see, and a filter (shared or the page's own) that changes it.
EXPECTATIONS: dict[str, PageExpectation] = {
    "overview": PageExpectation(
        "the Calls metric and the calls-per-month line chart",
        both(has_metric("Calls"), has_mark("line")),
        select_first("f_categories"),
    ),
    "map": PageExpectation(
        "the Located calls metric and the block-group map (geoshape)",
        both(has_metric("Located calls"), has_mark("geoshape")),
        select_first("f_categories"),
    ),
    "hot_spots": PageExpectation(
        "the Gi* map (geoshape)",
        has_mark("geoshape"),
        another_option("hs_window"),
    ),
    "time_patterns": PageExpectation(
        "the Calls metric and the hour x weekday heatmap (rect)",
        both(has_metric("Calls"), has_mark("rect")),
        select_first("f_categories"),
    ),
    "events": PageExpectation(
        "the Events metric and the events table",
        both(has_metric("Events"), has_dataframe),
        select_first("f_tiers"),
    ),
    "event_impact": PageExpectation(
        "the comparison bar charts and the tests table",
        both(has_mark("bar"), has_dataframe),
        SERVED,
    ),
    "forecast": PageExpectation(
        "the backtest MAE metric and the forecast line chart",
        both(has_metric("Model MAE (calls/day)"), has_mark("line")),
        first_month,
    ),
    "rules": PageExpectation(
        "the Rules shown metric, the support/confidence scatter and the rules table",
        both(has_metric("Rules shown"), has_mark("circle"), has_dataframe),
        select_first("f_categories"),
    ),
    "models": PageExpectation(
        "each model's figures (metrics) and the models table",
        both(has_metric("Chosen K"), has_metric("Rules found"), has_dataframe),
        SERVED,
        # Models are trained on every call: only the "In the filters" backtest lines follow.
        lambda at: [t.value for t in [*at.markdown, *at.caption] if "In the filters" in t.value],
    ),
    "planner": PageExpectation(
        "the Expected calls metric and the hourly chart",
        both(has_metric("Expected calls"), has_mark("line")),
        choose("plan_hours", (0, 24)),
    ),
    "reports": PageExpectation(
        "the Status metric and the parts table",
        both(has_metric("Status"), has_dataframe),
        another_option("report_date"),
    ),
    "data": PageExpectation(
        "the matching-rows metric and the rows table",
        both(has_metric("Rows matching the filters"), has_dataframe),
        select_first("f_categories"),
    ),
}
DEFAULT = PageExpectation(
    "a metric, a chart or a table",
    lambda at: bool(at.metric or chart_marks(at) or at.dataframe),
    select_first("f_categories"),
)


def expectation(module: str) -> PageExpectation:
    return EXPECTATIONS.get(module, DEFAULT)
