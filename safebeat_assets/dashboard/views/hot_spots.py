"""Hot spots: Getis-Ord Gi* hot and cold spots of calls per block group, by time window and
call category (the warehouse table `call_hot_spots`)."""

import altair as alt
import streamlit as st

from safebeat_assets.analytics.hot_spots import (
    ALL_CALLS,
    ALL_DAY,
    HOT_SPOT_CLASSES,
    NOT_SIGNIFICANT,
    TIME_WINDOWS,
)
from safebeat_assets.dashboard import geo_chart, queries
from safebeat_assets.dashboard.cache import cached
from safebeat_assets.dashboard.context import page

SIDEBAR_SEEN = "hs_sidebar_category"  # the sidebar's single category the page last followed

f = page(
    "Hot spots",
    "Which block groups, together with their neighbours, have significantly more calls than "
    "the city as a whole (hot spots), or fewer (cold spots), per time of day and call category? "
    "The maps are precomputed over the whole history: the date and priority filters do not "
    "apply here; a single call category chosen in the sidebar preselects that category's map.",
)

tables = cached(queries.existing_tables)()
choices = cached(queries.hot_spot_choices)() if queries.HOT_SPOTS in tables else None
if choices is None or choices.empty:
    st.info(
        "No hot spots yet: the pipeline has not built `call_hot_spots` (Getis-Ord Gi* per time "
        "window and call category). They appear here after the next run."
    )
    st.stop()

known = [w for w in TIME_WINDOWS if w in set(choices["time_window"])]
windows = known + sorted(set(choices["time_window"]) - set(known))
if st.session_state.get("hs_window") not in windows:
    st.session_state["hs_window"] = ALL_DAY if ALL_DAY in windows else windows[0]

left, right = st.columns(2)
window = left.selectbox("Time window", windows, key="hs_window")
in_window = set(choices.loc[choices["time_window"] == window, "category"])
categories = [ALL_CALLS] * (ALL_CALLS in in_window) + sorted(in_window - {ALL_CALLS})

# Follow the sidebar when it changes to (or away from) exactly one category; in between, the
# analyst may pick any map here.
wanted = f.categories[0] if len(f.categories) == 1 else None
fallback = ALL_CALLS if ALL_CALLS in categories else categories[0]
if st.session_state.get(SIDEBAR_SEEN, None) != wanted:
    st.session_state[SIDEBAR_SEEN] = wanted
    st.session_state["hs_category"] = wanted if wanted in categories else fallback
if st.session_state.get("hs_category") not in categories:
    st.session_state["hs_category"] = fallback
category = right.selectbox("Call category", categories, key="hs_category")
if wanted is not None and wanted not in categories:
    st.caption(
        f"No {window.lower()} map for **{wanted}**: too few located calls for Gi* "
        "(see the pipeline's `call_hot_spots` metadata); showing another category."
    )

spots = cached(queries.hot_spots)(window, category)
names = cached(queries.block_groups)()[["geo_id", "name", "county_name"]]
spots = spots.merge(names, on="geo_id", how="left")

counts = spots["hot_spot"].value_counts()
cols = st.columns(6)
significant = [c for c in HOT_SPOT_CLASSES if c != NOT_SIGNIFICANT]
for col, label in zip(cols, significant, strict=True):
    kind, level = label.rsplit(" ", 1)
    col.metric(f"{kind}s {level}", f"{counts.get(label, 0):,}")
st.caption(
    f"{counts.get(NOT_SIGNIFICANT, 0):,} of {len(spots):,} block groups are not significant; "
    f"{int(spots['calls'].sum()):,} located calls in this map ({window}, {category})."
)

geo_chart.show(
    geo_chart.choropleth(
        spots[["geo_id", "calls", "gi_z", "p_value", "hot_spot"]],
        geo_chart.hot_spot_color(spots["hot_spot"]),
        [
            alt.Tooltip("properties.name:N", title="name"),
            alt.Tooltip("properties.geo_id:N", title="geo_id"),
            alt.Tooltip("hot_spot:N", title="class"),
            alt.Tooltip("gi_z:Q", title="Gi* z", format=".2f"),
            alt.Tooltip("p_value:Q", title="p", format=".2g"),
            alt.Tooltip("calls:Q", title="calls", format=","),
        ],
    )
)

st.subheader("Significant hot spots")
hot = spots[spots["hot_spot"].str.startswith("Hot spot")].sort_values("gi_z", ascending=False)
if hot.empty:
    st.info(f"No significant hot spots in this map ({window}, {category}).")
else:
    st.dataframe(
        hot[["geo_id", "name", "county_name", "calls", "gi_z", "p_value", "hot_spot"]],
        hide_index=True,
        width="stretch",
        column_config={
            "county_name": "county",
            "gi_z": st.column_config.NumberColumn("Gi* z", format="%.2f"),
            "p_value": st.column_config.NumberColumn("p", format="%.2e"),
            "hot_spot": "class",
        },
    )

with st.expander("What Gi* z and the 90 / 95 / 99 % levels mean", expanded=False):
    st.markdown(
        """
**Getis-Ord Gi\\*** adds up the calls of a block group *and its neighbours* (block groups
that touch it) and compares that local sum with what the city-wide mean would give for the same
number of block groups. The **z-score** is that difference in standard deviations: z = +3
means the neighbourhood has far more calls than chance would put there, z = −2 far fewer.

The **confidence levels** are two-sided tests of that z against a normal distribution:
**90 %** needs |z| ≥ 1.645 (p < 0.10), **95 %** |z| ≥ 1.96 (p < 0.05), **99 %** |z| ≥ 2.576
(p < 0.01). Each block group is counted once, in its strictest class (a 99 % hot spot is not
also counted at 95 %). Positive z are **hot spots** (reds), negative z **cold spots** (blues),
the rest **not significant** (grey). There is no correction for testing ~1,000 block groups at
once: about one in ten land in a 90 % class by chance alone, so trust clusters of 99 % spots
more than an isolated 90 % one.

**How this differs from the k-means zones** (Map page, *Zone risk*): the zones group block
groups with similar location and risk score (call volume, priority, response time) and label
each group HIGH / MEDIUM / LOW relative to the others, so every block group with calls gets
a zone and none is "not significant". Gi\\* asks a different question: is this *cluster of
neighbours* hotter than the city as a whole, beyond what chance explains? A busy block group
surrounded by quiet ones can be a HIGH_RISK zone yet not a hot spot. Gi\\* is also computed
per time window and call category, over the whole history (the sidebar's dates and priorities
do not change it).
"""
    )
