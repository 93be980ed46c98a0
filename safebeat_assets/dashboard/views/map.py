"""Map: where the calls are, which block groups the models rank risky, and where the events are."""

import altair as alt
import streamlit as st

from safebeat_assets.analytics.hot_spots import ALL_CALLS, ALL_DAY
from safebeat_assets.dashboard import geo_chart, queries
from safebeat_assets.dashboard.cache import cached
from safebeat_assets.dashboard.context import page

DENSITY = "Call density (calls per km²)"
ZONES = "Zone risk (k-means zones)"
HOT = "Hot spots (Gi*, all calls, all day)"
ZONE_ORDER = ["HIGH_RISK", "MEDIUM_RISK", "LOW_RISK"]
ZONE_COLOURS = ["#c0392b", "#e67e22", "#27ae60"]
EVENT_RISK_ORDER = ["HIGH", "MEDIUM", "LOW", "Not scored"]

f = page(
    "Map",
    "Where are the calls densest, which block groups do the zone model and the Gi* statistic "
    "flag, and where do the events take place? Call density follows every filter; zone risk "
    "and hot spots are computed over the whole history; event markers follow the event filters.",
)

tables = cached(queries.existing_tables)()
if queries.GEO not in tables:
    st.info("No block groups yet: the pipeline has not built `dim_geo`.")
    st.stop()

shapes = cached(queries.block_groups)()
geo = shapes[["geo_id", "name", "county_name", "area_sq_km"]]
measure = st.radio(
    "Colour block groups by", (DENSITY, ZONES, HOT), horizontal=True, key="map_measure"
)
show_events = st.toggle("Show events", value=True, key="map_events")

# Per measure: the values joined to the polygons, the colour, the tooltip and the top-10 table.
values, top, color, tooltip = None, None, None, None
if measure == DENSITY:
    calls = cached(queries.calls_by_block_group)(f)
    # Block groups without a call in the filters stay grey (no row), not the palest class.
    values = calls[["geo_id", "calls"]].merge(geo[["geo_id", "area_sq_km"]], on="geo_id")
    values = values.astype({"calls": "int64", "area_sq_km": "float64"})  # typed even when empty
    values["density"] = values["calls"] / values["area_sq_km"].where(values["area_sq_km"] > 0)
    values = values[["geo_id", "calls", "density"]]
    color = geo_chart.quantile_color("density", "calls / km²", values["density"])
    tooltip = [
        alt.Tooltip("properties.name:N", title="name"),
        alt.Tooltip("properties.geo_id:N", title="geo_id"),
        alt.Tooltip("calls:Q", title="calls", format=","),
        alt.Tooltip("density:Q", title="calls / km²", format=",.1f"),
        alt.Tooltip("properties.area_sq_km:Q", title="area km²", format=".2f"),
    ]
    top = values.nlargest(10, "density").merge(geo, on="geo_id")[
        ["geo_id", "name", "county_name", "calls", "area_sq_km", "density"]
    ]
    located = int(values["calls"].sum())
    cols = st.columns(3)
    cols[0].metric("Located calls", f"{located:,}")
    cols[1].metric("Block groups with calls", f"{len(values):,} / {len(geo):,}")
    area = geo["area_sq_km"].sum()
    cols[2].metric("Calls per km² overall", f"{located / area:,.1f}" if area else "–")
    if values.empty:
        st.info("No located calls match the filters: every block group is grey.")
elif measure == ZONES:
    if queries.ZONE_RISK not in tables:
        st.info("No zone risk yet: the pipeline has not built `zone_risk_scores` (k-means zones).")
    else:
        values = cached(queries.zone_risk)()
        color = alt.Color(
            "risk_zone:N",
            title="zone",
            scale=alt.Scale(domain=ZONE_ORDER, range=ZONE_COLOURS),
        )
        tooltip = [
            alt.Tooltip("properties.name:N", title="name"),
            alt.Tooltip("properties.geo_id:N", title="geo_id"),
            alt.Tooltip("risk_zone:N", title="zone"),
            alt.Tooltip("location_risk:Q", title="location risk", format=".2f"),
            alt.Tooltip("incident_count:Q", title="calls", format=","),
        ]
        top = values.nlargest(10, "location_risk").merge(geo, on="geo_id")[
            ["geo_id", "name", "risk_zone", "location_risk", "incident_count"]
        ]
        counts = values["risk_zone"].value_counts()
        cols = st.columns(3)
        for col, zone in zip(cols, ZONE_ORDER, strict=True):
            col.metric(f"{zone.replace('_', ' ').title()} block groups", f"{counts.get(zone, 0):,}")
else:
    overall = cached(queries.hot_spots)(ALL_DAY, ALL_CALLS) if queries.HOT_SPOTS in tables else None
    if overall is None or overall.empty:
        st.info(
            "No hot spots yet: the pipeline has not built `call_hot_spots` (Getis-Ord Gi*). "
            "The Hot spots page explains them."
        )
    else:
        values = overall[["geo_id", "calls", "gi_z", "p_value", "hot_spot"]]
        color = geo_chart.hot_spot_color(values["hot_spot"])
        tooltip = [
            alt.Tooltip("properties.name:N", title="name"),
            alt.Tooltip("properties.geo_id:N", title="geo_id"),
            alt.Tooltip("hot_spot:N", title="class"),
            alt.Tooltip("gi_z:Q", title="Gi* z", format=".2f"),
            alt.Tooltip("calls:Q", title="calls", format=","),
        ]
        top = values.nlargest(10, "gi_z").merge(geo, on="geo_id")[
            ["geo_id", "name", "calls", "gi_z", "p_value", "hot_spot"]
        ]
        cols = st.columns(3)
        cols[0].metric(
            "Hot spots (any confidence)", f"{values['hot_spot'].str.startswith('Hot').sum():,}"
        )
        cols[1].metric(
            "Cold spots (any confidence)", f"{values['hot_spot'].str.startswith('Cold').sum():,}"
        )
        cols[2].metric("Block groups", f"{len(values):,}")

overlays = ()
event_note = (
    "No events yet: the pipeline has not built `dim_event` and `event_risk_scores`."
    if show_events
    else "Events hidden."
)
if show_events and queries.EVENTS in tables and queries.EVENT_RISK in tables:
    events = cached(queries.events)(f).dropna(subset=["event_lat", "event_lon"])
    # Only events among the block groups: one far away would shrink the fitted map to a dot.
    lat, lon = shapes["latitude_centroid"], shapes["longitude_centroid"]
    events = events[
        events["event_lat"].between(lat.min() - 0.05, lat.max() + 0.05)
        & events["event_lon"].between(lon.min() - 0.05, lon.max() + 0.05)
    ]
    event_note = (
        f"{len(events):,} events on the map (dates, tier and alcohol filters), purple circles "
        "sized by risk score."
        if len(events)
        else "No events match the event filters."
    )
    if not events.empty:
        events = events.assign(
            risk=events["risk_category"].fillna("Not scored"),
            score=events["risk_score"].fillna(0.0),
            dates=events["start_date"].astype(str) + " – " + events["end_date"].astype(str),
        )[["event_name", "dates", "risk", "score", "tier", "event_lat", "event_lon"]]
        overlays = (
            alt.Chart(events)
            .mark_circle(stroke="white", strokeWidth=0.8, opacity=0.85)
            .encode(
                longitude="event_lon:Q",
                latitude="event_lat:Q",
                size=alt.Size(
                    "score:Q", title="event risk score", scale=alt.Scale(range=[12, 220])
                ),
                color=alt.Color(
                    "risk:N",
                    title="event risk",
                    # Purples, so event markers never read as part of the block-group colours.
                    scale=alt.Scale(
                        domain=EVENT_RISK_ORDER, range=["#2d004b", "#542788", "#8073ac", "#b2abd2"]
                    ),
                ),
                tooltip=[
                    alt.Tooltip("event_name:N", title="event"),
                    alt.Tooltip("dates:N", title="dates"),
                    alt.Tooltip("risk:N", title="risk"),
                    alt.Tooltip("score:Q", title="risk score", format=".1f"),
                    alt.Tooltip("tier:Q", title="tier"),
                ],
            ),
        )

if values is not None:
    geo_chart.show(geo_chart.choropleth(values, color, tooltip, overlays))
    st.caption(event_note)
    if not top.empty:
        st.subheader("Top 10 block groups")
        st.dataframe(
            top,
            hide_index=True,
            width="stretch",
            column_config={
                "county_name": "county",
                "area_sq_km": st.column_config.NumberColumn("area km²", format="%.2f"),
                "density": st.column_config.NumberColumn("calls / km²", format="%.1f"),
                "risk_zone": "zone",
                "location_risk": st.column_config.NumberColumn("location risk", format="%.2f"),
                "incident_count": "calls",
                "gi_z": st.column_config.NumberColumn("Gi* z", format="%.2f"),
                "p_value": st.column_config.NumberColumn("p", format="%.2e"),
                "hot_spot": "class",
            },
        )
