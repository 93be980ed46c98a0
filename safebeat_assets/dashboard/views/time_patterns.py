"""Time patterns: when the calls come, by hour and weekday, through the year, and on holidays
and event days."""

import altair as alt
import pandas as pd
import streamlit as st
from pandas.tseries.holiday import USFederalHolidayCalendar

from safebeat_assets.dashboard import queries
from safebeat_assets.dashboard.cache import cached
from safebeat_assets.dashboard.context import page

MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
HOLIDAY, EVENT_DAY, ORDINARY = "Federal holiday", "Event day (no holiday)", "Ordinary day"
ROLLING_DAYS = 28

f = page(
    "Time patterns",
    "When do the calls come: which hours of which weekdays are busiest, how the load moves "
    "through the year, and how holidays and event days compare with ordinary days? Calls "
    "follow the date, category and priority filters; event days follow the event filters.",
)

grid = cached(queries.hour_weekday)(f)
daily = cached(queries.daily_calls)(f)
if grid.empty or daily.empty:
    st.info("No calls match the filters: widen the date range or clear the category filter.")
    st.stop()

# Every day of the range, so days without a matching call count as zero, not as missing.
days = pd.DataFrame({"day": pd.date_range(f.start, f.end, freq="D")})
daily = days.merge(daily.assign(day=pd.to_datetime(daily["day"])), on="day", how="left")
daily = daily.fillna({"calls": 0, "events": 0}).astype({"calls": "int64", "events": "int64"})
holidays = USFederalHolidayCalendar().holidays(f.start, f.end, return_name=True)
daily["holiday"] = daily["day"].map(holidays)
daily["kind"] = ORDINARY
daily.loc[daily["events"] > 0, "kind"] = EVENT_DAY
daily.loc[daily["holiday"].notna(), "kind"] = HOLIDAY

grid = grid.assign(weekday=grid["weekday"].map(dict(enumerate(queries.WEEKDAYS))))
# Mean per hour slot: the calls divided by how many of that weekday the range holds.
weekday_days = daily["day"].dt.dayofweek.map(dict(enumerate(queries.WEEKDAYS))).value_counts()
grid["per_day"] = grid["calls"] / grid["weekday"].map(weekday_days)
busiest = grid.loc[grid["calls"].idxmax()]
by_weekday = daily.groupby(daily["day"].dt.dayofweek)["calls"].mean()

cols = st.columns(4)
cols[0].metric("Calls", f"{int(daily['calls'].sum()):,}")
cols[1].metric("Mean calls per day", f"{daily['calls'].mean():,.1f}")
cols[2].metric("Busiest hour", f"{busiest['weekday']} {int(busiest['hour']):02d}:00")
cols[3].metric("Busiest weekday", queries.WEEKDAYS[int(by_weekday.idxmax())])

st.subheader("Hour × weekday")
st.altair_chart(
    alt.Chart(grid)
    .mark_rect()
    .encode(
        x=alt.X("hour:O", title="hour of day (local)"),
        y=alt.Y("weekday:N", sort=list(queries.WEEKDAYS), title=None),
        color=alt.Color("calls:Q", title="calls", scale=alt.Scale(scheme="orangered")),
        tooltip=[
            alt.Tooltip("weekday:N"),
            alt.Tooltip("hour:O"),
            alt.Tooltip("calls:Q", format=","),
            alt.Tooltip("per_day:Q", title="mean per day", format=".1f"),
        ],
    )
    .properties(height=260),
    width="stretch",
)

st.subheader("Through the year and the week")
left, right = st.columns(2)
monthly = (
    daily.groupby(daily["day"].dt.month)["calls"]
    .agg(["mean", "size"])
    .rename(columns={"mean": "per_day", "size": "days"})
    .reset_index(names="month")
)
monthly["month"] = monthly["month"].map(lambda m: MONTHS[m - 1])
left.altair_chart(
    alt.Chart(monthly)
    .mark_bar()
    .encode(
        x=alt.X("month:N", sort=list(MONTHS), title=None),
        y=alt.Y("per_day:Q", title="mean calls per day"),
        tooltip=["month:N", alt.Tooltip("per_day:Q", format=".1f"), "days:Q"],
    )
    .properties(title="Mean calls per day, by month (all years)"),
    width="stretch",
)
weekly = by_weekday.rename_axis("weekday").reset_index(name="per_day")
weekly["weekday"] = weekly["weekday"].map(dict(enumerate(queries.WEEKDAYS)))
right.altair_chart(
    alt.Chart(weekly)
    .mark_bar()
    .encode(
        x=alt.X("weekday:N", sort=list(queries.WEEKDAYS), title=None),
        y=alt.Y("per_day:Q", title="mean calls per day"),
        tooltip=["weekday:N", alt.Tooltip("per_day:Q", format=".1f")],
    )
    .properties(title="Mean calls per day, by weekday"),
    width="stretch",
)

st.subheader("Calls per day, holidays and event days")
daily["rolling"] = daily["calls"].rolling(ROLLING_DAYS, center=True, min_periods=1).mean()
line = alt.Chart(daily).encode(x=alt.X("day:T", title=None))
chart = alt.layer(
    line.mark_line(color="#bdbdbd", strokeWidth=1).encode(
        y=alt.Y("calls:Q", title="calls per day"),
        tooltip=[alt.Tooltip("day:T"), alt.Tooltip("calls:Q"), alt.Tooltip("events:Q")],
    ),
    line.mark_line(color="#1f3a5f", strokeWidth=2).encode(y="rolling:Q"),
    line.transform_filter(alt.datum.events > 0)
    .mark_circle(color="#e67e22", opacity=0.7)
    .encode(
        y="calls:Q",
        size=alt.Size(
            "events:Q", title="events running", scale=alt.Scale(range=[10, 90], zero=False)
        ),
        tooltip=[alt.Tooltip("day:T"), alt.Tooltip("calls:Q"), alt.Tooltip("events:Q")],
    ),
    line.transform_filter(alt.datum.holiday != None)  # noqa: E711 (a Vega expression)
    .mark_rule(color="#c0392b", strokeDash=[4, 3])
    .encode(tooltip=[alt.Tooltip("day:T"), alt.Tooltip("holiday:N"), alt.Tooltip("calls:Q")]),
).interactive(bind_y=False)
st.altair_chart(chart.properties(height=320), width="stretch")
st.caption(
    f"Grey: calls per day; dark blue: {ROLLING_DAYS}-day mean; orange dots: days with events "
    "running (after the event filters, sized by how many); red dashed lines: US federal "
    "holidays (observed dates). Drag to pan, scroll to zoom."
)

summary = (
    daily.groupby("kind")["calls"]
    .agg(days="size", mean_calls="mean")
    .reindex([HOLIDAY, EVENT_DAY, ORDINARY])
    .dropna(subset=["days"])
    .reset_index(names="day type")
)
ordinary = summary.loc[summary["day type"] == ORDINARY, "mean_calls"]
if not ordinary.empty and ordinary.iloc[0] > 0:
    summary["vs ordinary days"] = summary["mean_calls"] / ordinary.iloc[0] - 1
st.dataframe(
    summary,
    hide_index=True,
    column_config={
        "days": st.column_config.NumberColumn("days", format="%d"),
        "mean_calls": st.column_config.NumberColumn("mean calls per day", format="%.1f"),
        "vs ordinary days": st.column_config.NumberColumn(format="percent"),
    },
)
st.caption(
    "A holiday with an event running counts as a holiday. Narrow the event filters (tier, "
    "alcohol) to compare only the days of bigger events."
)
