"""Event planner: what a planned event is likely to bring in 911 calls, and what to staff.

Everything is computed by `analytics.planner.plan_event` from the pipeline's outputs: the
`event_impact_model` (lake), `call_baseline_rates`, `dim_geo` and `event_risk_scores`
(warehouse). The page only gathers the inputs and shows the plan.
"""

import datetime as dt

import altair as alt
import pandas as pd
import streamlit as st

from safebeat_assets import asset_names as names
from safebeat_assets.analytics.event_impact import model_from_output
from safebeat_assets.analytics.planner import (
    PlanInputError,
    PlanRequest,
    plan_event,
    supported_dates,
)
from safebeat_assets.dashboard import queries
from safebeat_assets.dashboard.cache import cached, rate_table
from safebeat_assets.dashboard.context import page

BY_BLOCK_GROUP = "Block group"
BY_COORDINATES = "Latitude / longitude"

page(
    "Event planner",
    "What happens if we permit this event? Expected 911 calls near it, against the same "
    "place's ordinary day, its risk score and the units to staff.",
)

no_events = cached(queries.events_source_note)()
if no_events:
    st.info(f"{no_events}: the planner has no past events to learn an event's effect from.")
    st.stop()

output = cached(queries.model_output)(names.EVENT_IMPACT_MODEL)
rates_frame = cached(queries.baseline_rates)()
if output is None or rates_frame.empty:
    st.info(
        "The planner needs the `event_impact_model` and `call_baseline_rates` outputs, which "
        "the pipeline has not built yet."
    )
    st.stop()


model = model_from_output(output)
geo = cached(queries.block_groups)()
reference = cached(queries.risk_reference)()
first, last = supported_dates(model)
busiest = rates_frame.groupby("geo_id")["calls_per_day"].sum().idxmax()
geo_names = dict(zip(geo["geo_id"], geo["name"].fillna(""), strict=True))

with st.container(border=True):
    left, middle, right = st.columns(3)
    with left:
        name = st.text_input("Event name", "Planned event", key="plan_name")
        day = st.date_input(
            "Date",
            value=min(model.history_end + dt.timedelta(days=7), last),
            key="plan_date",
            help=f"From {first} to {last} (a year after the last call).",
        )
        start_hour, end_hour = st.slider("Hours (end exclusive)", 0, 24, (12, 22), key="plan_hours")
    with middle:
        mode = st.radio(
            "Location", (BY_BLOCK_GROUP, BY_COORDINATES), horizontal=True, key="plan_location"
        )
        if mode == BY_BLOCK_GROUP:
            geo_ids = geo["geo_id"].tolist()
            geo_id = st.selectbox(
                "Block group",
                geo_ids,
                index=geo_ids.index(busiest) if busiest in geo_ids else 0,
                format_func=lambda g: f"{g} {geo_names.get(g, '')}",
                key="plan_geo",
            )
            latitude = longitude = None
        else:
            geo_id = None
            centre = geo[geo["geo_id"] == busiest].iloc[0]
            latitude = st.number_input(
                "Latitude",
                value=float(centre["latitude_centroid"]),
                format="%.5f",
                key="plan_lat",
            )
            longitude = st.number_input(
                "Longitude",
                value=float(centre["longitude_centroid"]),
                format="%.5f",
                key="plan_lon",
            )
    with right:
        tier = st.selectbox("Tier", list(model.known_tiers), key="plan_tier")
        alcohol = st.checkbox("Alcohol served", key="plan_alcohol")
        sound = st.checkbox("Amplified sound", key="plan_sound")
        closure = st.checkbox("Road closure", key="plan_closure")
        attendance = st.number_input(
            "Expected attendance (0 = not known)",
            min_value=0,
            value=0,
            step=500,
            key="plan_attendance",
        )

try:
    request = PlanRequest(
        date=day,
        start_hour=int(start_hour),
        end_hour=int(end_hour),
        tier=int(tier),
        geo_id=geo_id,
        latitude=latitude,
        longitude=longitude,
        has_alcohol=alcohol,
        has_amplified_sound=sound,
        has_road_closure=closure,
        expected_attendance=int(attendance) or None,
        name=name.strip() or "Planned event",
    )
    plan = plan_event(request, model, rate_table(), geo, reference)
except PlanInputError as exc:
    st.error(f"Cannot plan this event: {exc}")
    st.stop()

if plan.is_fallback:
    st.warning(
        f"Served model: {plan.model} (the fitted model was not available: "
        f"{model.fallback_reason or 'see the Models page'})."
    )
cols = st.columns(5)
cols[0].metric("Expected calls", f"{plan.expected_calls:.1f}")
cols[1].metric("Baseline (no event)", f"{plan.baseline_calls:.1f}")
cols[2].metric(
    "Uplift",
    f"{plan.uplift_calls:+.1f}",
    None if plan.uplift_pct is None else f"{plan.uplift_pct:+.0f} %",
    delta_color="inverse",
)
cols[3].metric("Risk score", f"{plan.risk_score:.0f} / 100", plan.risk_category, delta_color="off")
cols[4].metric(
    "Units to staff",
    "n/a" if plan.units_suggested is None else str(plan.units_suggested),
    None if plan.units_at_peak_hour is None else f"{plan.units_at_peak_hour} at the peak hour",
    delta_color="off",
)
st.caption(
    f"{plan.weekday} {request.date}, {request.start_hour:02d}:00–{request.end_hour:02d}:00, "
    f"{len(plan.block_groups)} block group(s) within {plan.link_radius_km:g} km of "
    f"{plan.latitude:.4f}, {plan.longitude:.4f}."
)

hourly = pd.DataFrame(
    {
        "hour": list(plan.hourly_expected),
        "with the event": list(plan.hourly_expected.values()),
        "baseline": [plan.hourly_baseline[h] for h in plan.hourly_expected],
    }
).melt("hour", var_name="series", value_name="calls")
st.subheader("Calls per hour")
st.altair_chart(
    alt.Chart(hourly)
    .mark_line(point=True)
    .encode(
        x=alt.X("hour:O", title="hour"),
        y=alt.Y("calls:Q", title="expected calls"),
        color=alt.Color("series:N", title=None),
        tooltip=["hour:O", "series:N", alt.Tooltip("calls:Q", format=".2f")],
    ),
    width="stretch",
)

left, right = st.columns(2)
for column, title, mix in (
    (left, "Likely priority mix", plan.priority_mix),
    (right, "Likely call categories", plan.category_mix),
):
    with column:
        st.subheader(title)
        frame = pd.DataFrame({"item": list(mix), "expected calls": list(mix.values())})
        st.altair_chart(
            alt.Chart(frame)
            .mark_bar()
            .encode(
                y=alt.Y("item:N", sort="-x", title=None),
                x=alt.X("expected calls:Q"),
                tooltip=["item:N", alt.Tooltip("expected calls:Q", format=".1f")],
            ),
            width="stretch",
        )

with st.expander("Assumptions and sources", expanded=False):
    for line in plan.assumptions:
        st.markdown(f"- {line}")

slug = "".join(c if c.isalnum() else "-" for c in request.name.lower()).strip("-") or "event"
stem = f"safebeat-plan-{slug}-{request.date.isoformat()}"
left, right = st.columns(2)
left.download_button(
    "Download plan (Markdown)",
    plan.to_markdown(),
    f"{stem}.md",
    "text/markdown",
    key="plan_download_md",
)
right.download_button(
    "Download plan (JSON)",
    plan.to_json(),
    f"{stem}.json",
    "application/json",
    key="plan_download_json",
)
