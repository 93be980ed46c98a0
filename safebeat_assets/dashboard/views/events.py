"""Events: which permitted events carry the most risk, and how many calls one event added over
the same place's usual level (baseline of comparable days: same weekday and hour, no event)."""

import altair as alt
import pandas as pd
import streamlit as st

from safebeat_assets.analytics.event_impact import place_baseline_by_hour
from safebeat_assets.dashboard import queries
from safebeat_assets.dashboard.cache import cached, rate_table
from safebeat_assets.dashboard.context import page
from safebeat_assets.settings import load_settings

PICK_KEY = "event_pick"
TABLE_KEY = "events_table"
APPLIED_KEY = "events_table_applied"  # the table row already copied into the selectbox
COLUMNS = {
    "event_name": st.column_config.TextColumn("Event", width="large"),
    "event_type": "Type",
    "tier": st.column_config.NumberColumn("Tier", format="%d"),
    "start_date": st.column_config.DateColumn("Start"),
    "end_date": st.column_config.DateColumn("End"),
    "has_alcohol": st.column_config.CheckboxColumn("Alcohol"),
    "has_amplified_sound": st.column_config.CheckboxColumn("Sound"),
    "has_road_closure": st.column_config.CheckboxColumn("Closure"),
    "expected_attendance": st.column_config.NumberColumn("Attendance", format="%d"),
    "linked_calls": st.column_config.NumberColumn("Linked calls", format="%d"),
    "risk_score": st.column_config.ProgressColumn(
        "Risk score", min_value=0.0, max_value=100.0, format="%.1f"
    ),
    "risk_category": "Risk",
    "event_id": st.column_config.NumberColumn("Event id", format="%d"),
}

f = page(
    "Events",
    "Which permitted events carry the most risk (linked calls, risk score), and how many calls "
    "did one event add over its place's usual level on comparable days?",
)
st.caption(
    "The list follows the date range, tier and alcohol filters (events overlapping the dates). "
    "Click a column header to sort; select a row (or pick below) to open the event. The "
    "event's view counts all its linked calls: calls from block groups within the link radius "
    "on the event's days."
)

no_events = cached(queries.events_source_note)()
if no_events:
    st.info(
        f"{no_events}: there are no permitted events to list, score or compare with their baseline."
    )
    st.stop()

events = cached(queries.events)(f)
if events.empty:
    st.info("No events match the filters: widen the dates, tiers or alcohol filter.")
    st.stop()

cols = st.columns(3)
cols[0].metric("Events", f"{len(events):,}")
cols[1].metric("High-risk events", f"{int((events['risk_category'] == 'HIGH').sum()):,}")
cols[2].metric("Linked calls (listed events)", f"{int(events['linked_calls'].fillna(0).sum()):,}")

table = st.dataframe(
    events[list(COLUMNS)],
    column_config=COLUMNS,
    hide_index=True,
    width="stretch",
    height=320,
    on_select="rerun",
    selection_mode="single-row",
    key=TABLE_KEY,
)

# One event at a time: a newly clicked table row (a position in `events`, whatever the sort)
# sets the selectbox once; afterwards the selectbox chooses freely. Keyed on the row clicked,
# not the event, so a filter change that shifts the rows under a kept selection changes nothing.
ids = events["event_id"].astype(int).tolist()
selected_rows = list(getattr(getattr(table, "selection", None), "rows", []) or [])
row = selected_rows[0] if selected_rows and selected_rows[0] < len(ids) else None
if row is not None and st.session_state.get(APPLIED_KEY) != row:
    st.session_state[PICK_KEY] = ids[row]
st.session_state[APPLIED_KEY] = row
if st.session_state.get(PICK_KEY) not in ids:
    st.session_state.pop(PICK_KEY, None)  # filtered out: fall back to the riskiest

labels = {
    int(r.event_id): f"{r.event_name} — {r.start_date:%d %b %Y}"
    + (f" ({r.risk_category})" if isinstance(r.risk_category, str) else "")
    for r in events.itertuples()
}
# (a label maps to itself, so AppTest's select_index, which passes the label, works too)
event_id = st.selectbox("Event", ids, format_func=lambda i: labels.get(i, str(i)), key=PICK_KEY)
event = events.loc[events["event_id"] == event_id].iloc[0]


def flag(value) -> str:
    return "unknown" if pd.isna(value) else ("yes" if value else "no")


st.subheader(str(event["event_name"]))
days = (pd.Timestamp(event["end_date"]) - pd.Timestamp(event["start_date"])).days + 1
st.caption(
    f"{event['event_type']} · tier {event['tier']} · {event['start_date']:%a %d %b %Y}"
    + (f" – {event['end_date']:%a %d %b %Y}" if days > 1 else "")
    + f" ({days} day{'s' if days > 1 else ''}) · alcohol {flag(event['has_alcohol'])} · "
    f"amplified sound {flag(event['has_amplified_sound'])} · road closure "
    f"{flag(event['has_road_closure'])}"
)
cols = st.columns(4)
cols[0].metric(
    "Linked calls (event)",
    "–" if pd.isna(event["linked_calls"]) else f"{int(event['linked_calls']):,}",
)
cols[1].metric(
    "Risk score",
    "–" if pd.isna(event["risk_score"]) else f"{event['risk_score']:.1f}",
    None if pd.isna(event["risk_category"]) else str(event["risk_category"]),
    delta_color="off",
)
cols[2].metric(
    "Expected attendance",
    "–" if pd.isna(event["expected_attendance"]) else f"{int(event['expected_attendance']):,}",
)
cols[3].metric(
    "Mean priority (linked)",
    "–" if pd.isna(event["avg_priority"]) else f"{event['avg_priority']:.2f}",
)

links = cached(queries.event_links)(event_id)
if links.empty:
    st.info("No call is linked to this event (none from block groups within the radius).")
else:
    left, right = st.columns(2)
    with left:
        st.markdown("**Linked calls by hour**")
        by_hour = links.groupby("hour").size().rename("calls").reset_index()
        st.altair_chart(
            alt.Chart(by_hour)
            .mark_bar()
            .encode(
                x=alt.X("hour:O", title="hour (local)", scale=alt.Scale(domain=list(range(24)))),
                y=alt.Y("calls:Q"),
                tooltip=["hour:O", "calls:Q"],
            ),
            width="stretch",
        )
    with right:
        st.markdown("**Linked calls by category**")
        by_category = links.groupby("final_problem_category").size().rename("calls").reset_index()
        st.altair_chart(
            alt.Chart(by_category)
            .mark_bar()
            .encode(
                y=alt.Y("final_problem_category:N", sort="-x", title=None),
                x=alt.X("calls:Q"),
                tooltip=["final_problem_category:N", "calls:Q"],
            ),
            width="stretch",
        )

st.subheader("Calls during the event vs the place's baseline")
radius = load_settings().link_radius_km
if cached(queries.baseline_rates)().empty:
    st.info(
        "The baseline rates (warehouse table `call_baseline_rates`) are not built yet: "
        "materialize the asset `call_baseline_rates` to compare this event with comparable days."
    )
    st.stop()
# Only the event days within the call history count (as in the event impact model): a day
# without calls yet has no linked calls to compare.
options = cached(queries.filter_options)()
event_days = pd.date_range(
    max(queries.as_date(event["start_date"]), queries.as_date(options["first"])),
    min(queries.as_date(event["end_date"]), queries.as_date(options["last"])),
)
baseline = (
    None
    if pd.isna(event["event_lat"]) or pd.isna(event["event_lon"]) or event_days.empty
    else place_baseline_by_hour(
        rate_table(),
        cached(queries.block_groups)(),
        event["event_lat"],
        event["event_lon"],
        event_days,
        radius,
    )
)
if baseline is None or not baseline.any():
    st.info(
        f"No baseline for this event: no block group with calls lies within {radius:g} km of "
        "its location (or it has no valid location, or no day within the call history)."
    )
    st.stop()

hourly = pd.DataFrame({"hour": range(24), "baseline": baseline})
hourly["actual"] = hourly["hour"].map(links.groupby("hour").size()).fillna(0)
actual, expected = float(hourly["actual"].sum()), float(hourly["baseline"].sum())
uplift = actual - expected
cols = st.columns(3)
cols[0].metric("Calls during the event", f"{actual:,.0f}")
cols[1].metric("Baseline (comparable days)", f"{expected:,.1f}")
cols[2].metric(
    "Uplift",
    f"{uplift:+,.1f}",
    f"{uplift / expected:+.0%}" if expected > 0 else None,
    delta_color="inverse",
)
long = hourly.melt("hour", var_name="series", value_name="calls")
st.altair_chart(
    alt.Chart(long)
    .mark_line(point=True)
    .encode(
        x=alt.X("hour:O", title="hour (local)"),
        y=alt.Y("calls:Q", title=f"calls, summed over the event's {days} day(s)"),
        color=alt.Color(
            "series:N",
            title=None,
            scale=alt.Scale(domain=["actual", "baseline"], range=["#c0392b", "#7f8c8d"]),
            legend=alt.Legend(orient="bottom"),
        ),
        strokeDash=alt.StrokeDash(
            "series:N", scale=alt.Scale(domain=["actual", "baseline"], range=[[1, 0], [4, 3]])
        ),
        tooltip=["hour:O", "series:N", alt.Tooltip("calls:Q", format=".2f")],
    ),
    width="stretch",
)
st.caption(
    f"Baseline: the mean calls per comparable day (same weekday and hour, no event there) of "
    f"the block groups within {radius:g} km of the event, summed over its days; actual: the "
    "calls linked to it (the same block groups and days)."
)
