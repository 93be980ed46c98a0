"""Association rules: which call characteristics go together (time of day, weekday/weekend,
priority, incident type, festival/alcohol-event context), and how much more often than chance?"""

import altair as alt
import pandas as pd
import streamlit as st

from safebeat_assets import asset_names as names
from safebeat_assets.analytics.rules import incident_item
from safebeat_assets.dashboard import queries
from safebeat_assets.dashboard.cache import cached
from safebeat_assets.dashboard.context import page

COLUMNS = {
    "rank": st.column_config.NumberColumn("Rank", format="%d"),
    "antecedents": st.column_config.TextColumn("If the call has…", width="medium"),
    "consequents": st.column_config.TextColumn("…it also has", width="medium"),
    "support": st.column_config.NumberColumn("Support", format="%.3f"),
    "confidence": st.column_config.NumberColumn("Confidence", format="%.2f"),
    "lift": st.column_config.NumberColumn("Lift", format="%.2f"),
    "leverage": st.column_config.NumberColumn("Leverage", format="%.4f"),
    "conviction": st.column_config.NumberColumn("Conviction", format="%.2f"),
    "is_incident_rule": st.column_config.CheckboxColumn("Predicts incident"),
}

f = page(
    "Association rules",
    "Which call characteristics go together — time of day, weekday or weekend, priority, "
    "incident type, festival or alcohol-event link — and how much more often than by chance "
    "(lift)?",
)
st.caption(
    "Rules are mined on every call by the pipeline (one transaction per call), so the date, "
    "priority, tier and alcohol filters do not apply; the category filter keeps the rules that "
    "mention one of the selected categories (incident items are `Incident_<first word>`). "
    "Support: share of calls with all the rule's items; confidence: share of calls with the "
    "left side that also have the right side; lift: how many times more often than chance."
)

rules = cached(queries.model_output)(names.ASSOCIATION_RULES)
if rules is None:
    st.info(
        "No association rules yet: the model `association_rules` has not produced an output "
        "(first run, or its pre-check failed)."
    )
    st.stop()
if rules.empty:
    st.info("The last run found no rule above the pipeline's thresholds.")
    st.stop()


def bounds(column: str) -> tuple[float, float]:
    low, high = float(rules[column].min()), float(rules[column].max())
    return low, high if high > low else low + 1e-6  # a slider needs a range


cols = st.columns(4)
low, high = bounds("support")
min_support = cols[0].slider(
    "Min support", low, high, low, step=(high - low) / 100, format="%.3f", key="rules_support"
)
low, high = bounds("confidence")
min_confidence = cols[1].slider(
    "Min confidence", low, high, low, step=(high - low) / 100, format="%.2f", key="rules_confidence"
)
low, high = bounds("lift")
min_lift = cols[2].slider(
    "Min lift", low, high, low, step=(high - low) / 100, format="%.2f", key="rules_lift"
)
incident_only = cols[3].toggle(
    "Incident rules only",
    key="rules_incident_only",
    help="Rules whose right side is an incident type",
)

shown = rules[
    (rules["support"] >= min_support)
    & (rules["confidence"] >= min_confidence)
    & (rules["lift"] >= min_lift)
]
if incident_only:
    shown = shown[shown["is_incident_rule"].astype(bool)]
if f.categories:
    items = set(incident_item(pd.Series(list(f.categories), dtype="object")).dropna())

    def mentions(rule) -> bool:
        sides = f"{rule.antecedents}, {rule.consequents}".split(", ")
        return bool(items.intersection(sides))

    shown = shown[
        pd.Series([mentions(r) for r in shown.itertuples()], index=shown.index, dtype=bool)
    ]

cols = st.columns(3)
cols[0].metric("Rules shown", f"{len(shown):,}", f"of {len(rules):,}", delta_color="off")
cols[1].metric("Incident rules shown", f"{int(shown['is_incident_rule'].sum()):,}")
cols[2].metric("Highest lift shown", "–" if shown.empty else f"{shown['lift'].max():.2f}")

if shown.empty:
    if incident_only and not rules["is_incident_rule"].any():
        st.info(
            "The last run found no incident rule (a rule whose right side is an incident type): "
            "turn off “Incident rules only”."
        )
    else:
        st.info(
            "No rule passes these thresholds and filters: lower the sliders or clear the "
            "category filter."
        )
    st.stop()

st.altair_chart(
    alt.Chart(shown)
    .mark_circle(opacity=0.75, stroke="white", strokeWidth=0.5)
    .encode(
        x=alt.X("support:Q", title="support (share of calls)", scale=alt.Scale(zero=False)),
        y=alt.Y("confidence:Q", title="confidence", scale=alt.Scale(zero=False)),
        size=alt.Size("lift:Q", title="lift", scale=alt.Scale(range=[40, 600])),
        color=alt.Color("lift:Q", title="lift", scale=alt.Scale(scheme="orangered")),
        tooltip=[
            alt.Tooltip("antecedents:N", title="if"),
            alt.Tooltip("consequents:N", title="consequent"),
            alt.Tooltip("support:Q", format=".3f"),
            alt.Tooltip("confidence:Q", format=".2f"),
            alt.Tooltip("lift:Q", format=".2f"),
        ],
    )
    .interactive(),
    width="stretch",
)
st.dataframe(
    shown[list(COLUMNS)],
    column_config=COLUMNS,
    hide_index=True,
    width="stretch",
    key="rules_table",
)
