"""Overview: how many calls, how they trend, how risky the events are, and how the last run went."""

import altair as alt
import pandas as pd
import streamlit as st

from safebeat_assets.dashboard import queries
from safebeat_assets.dashboard.cache import cached
from safebeat_assets.dashboard.context import page

RISK_ORDER = ["HIGH", "MEDIUM", "LOW"]
RISK_COLOURS = ["#c0392b", "#e67e22", "#27ae60"]

f = page(
    "Overview", "How many calls, how they trend, how risky the events are, how the last run went."
)

figures = cached(queries.key_figures)(f)
no_events = cached(queries.events_source_note)()
cols = st.columns(5)
cols[0].metric("Calls", f"{figures['calls']:,}")
cols[1].metric(
    "Calls per day", "–" if figures["calls_per_day"] is None else f"{figures['calls_per_day']:,.1f}"
)
cols[2].metric(
    "Median response",
    "–" if figures["median_response_s"] is None else f"{figures['median_response_s'] / 60:.1f} min",
)
cols[3].metric("Events", "–" if no_events else f"{figures['events']:,}")
cols[4].metric("High-risk events", "–" if no_events else f"{figures['high_risk_events']:,}")

left, right = st.columns([2, 1])
with left:
    st.subheader("Calls per month")
    monthly = cached(queries.monthly_calls)(f)
    if monthly.empty:
        st.info("No calls match the filters.")
    else:
        monthly["month"] = pd.to_datetime(monthly["month"])
        st.altair_chart(
            alt.Chart(monthly)
            .mark_line(point=True)
            .encode(
                x=alt.X("month:T", title=None),
                y=alt.Y("calls:Q", title="calls"),
                tooltip=["month:T", "calls:Q"],
            ),
            width="stretch",
        )
with right:
    st.subheader("Event risk")
    risk = cached(queries.event_risk_distribution)(f)
    if no_events:
        st.info(f"{no_events}.")
    elif risk.empty:
        st.info("No scored events match the filters.")
    else:
        st.altair_chart(
            alt.Chart(risk)
            .mark_bar()
            .encode(
                x=alt.X("risk_category:N", sort=RISK_ORDER, title=None),
                y=alt.Y("events:Q"),
                color=alt.Color(
                    "risk_category:N",
                    scale=alt.Scale(domain=RISK_ORDER, range=RISK_COLOURS),
                    legend=None,
                ),
                tooltip=["risk_category:N", "events:Q"],
            ),
            width="stretch",
        )

st.subheader("Last pipeline run")
report = cached(queries.latest_report)()
if report is None:
    st.warning("No daily report yet: the pipeline has not finished a run.")
else:
    meta = report["report_metadata"]
    status = meta["status"]
    shown = {"SUCCESS": st.success, "PARTIAL": st.warning}.get(status, st.error)
    shown(f"{status} — report of {meta['report_date']}, generated {meta['generated_at'][:19]} UTC")
    failed = [c for c in report.get("checks", []) if c.get("evaluated") and not c.get("passed")]
    if failed:
        st.markdown(f"**{len(failed)} failed check(s)**")
        st.dataframe(
            pd.DataFrame(failed)[["asset", "name", "severity", "description"]],
            hide_index=True,
            width="stretch",
        )
    else:
        st.caption(f"All {len(report.get('checks', []))} checks passed.")
    skipped = [p for p in report.get("parts", []) if p.get("state") != "built"]
    for part in skipped:
        st.markdown(f"- **{part['part']}**: {part['summary']} {part.get('reason') or ''}")
