"""Event impact: do calls at events (and at alcohol-serving events) differ from the rest in
incident mix, priority and response time — and by how much?

The statistics live in `analytics.comparisons` (pure, unit-tested); the warehouse returns counts
per group (`queries.event_impact_counts`), so the tests use every call in the filters.
"""

import altair as alt
import pandas as pd
import streamlit as st

from safebeat_assets.analytics import comparisons as cmp
from safebeat_assets.dashboard import queries
from safebeat_assets.dashboard.cache import cached
from safebeat_assets.dashboard.context import page

NONE, NO_ALCOHOL, ALCOHOL = queries.IMPACT_NONE, queries.IMPACT_NO_ALCOHOL, queries.IMPACT_ALCOHOL
# (tab title, label A, groups in A, label B, groups in B)
COMPARISONS = (
    ("Festival vs non-festival", "festival", (NO_ALCOHOL, ALCOHOL), "non-festival", (NONE,)),
    (
        "Alcohol vs no-alcohol events",
        "alcohol-event",
        (ALCOHOL,),
        "no-alcohol-event",
        (NO_ALCOHOL,),
    ),
)
PRIORITY_LABELS = {0: "P0 (most urgent)", 1: "P1", 2: "P2", 3: "P3"}

f = page(
    "Event impact",
    "Do calls linked to events (festival calls), and calls at alcohol-serving events, differ "
    "from the rest in incident mix, priority and response time — and is the difference large "
    "(effect size) and real (significance)?",
)
st.caption(
    "A festival call is a call linked to an event that passes the event filters (tier, "
    "alcohol, dates); the alcohol comparison is among festival calls: events serving alcohol vs "
    "events that do not. Tests use every call in the filters (exact counts from the warehouse, "
    "no sampling). With this many calls even tiny differences are significant: read the effect "
    "size first."
)

no_events = cached(queries.events_source_note)()
if no_events:
    st.info(f"{no_events}: no call is linked to an event, so there is nothing to compare.")
    st.stop()

counts = cached(queries.event_impact_counts)(f)
mix, response = counts["mix"], counts["response"]
if mix.empty:
    st.info("No calls match the filters.")
    st.stop()

top_n = st.slider("Categories shown", 3, 20, 10, key="impact_top_n")


def minutes(seconds: float | None) -> str:
    return "–" if seconds is None else f"{seconds / 60:.1f} min"


def group_counts(frame: pd.DataFrame, groups: tuple[str, ...], by: str) -> pd.Series:
    rows = frame[frame["grp"].isin(groups)]
    return rows.groupby(by)["n"].sum()


def mix_chart(shares: pd.DataFrame) -> alt.Chart:
    order = (
        shares[shares["category"] != "Other"]
        .groupby("category")["calls"]
        .sum()
        .sort_values(ascending=False)
        .index.tolist()
    ) + ["Other"]
    return (
        alt.Chart(shares)
        .mark_bar()
        .encode(
            y=alt.Y("category:N", sort=order, title=None),
            x=alt.X("share:Q", axis=alt.Axis(format="%"), title="share of the group's calls"),
            yOffset="group:N",
            color=alt.Color("group:N", title=None, legend=alt.Legend(orient="bottom")),
            tooltip=["group:N", "category:N", "calls:Q", alt.Tooltip("share:Q", format=".1%")],
        )
    )


def priority_chart(frame: pd.DataFrame) -> alt.Chart:
    return (
        alt.Chart(frame)
        .mark_bar()
        .encode(
            x=alt.X("priority:N", title=None),
            xOffset="group:N",
            y=alt.Y("share:Q", axis=alt.Axis(format="%"), title="share of the group's calls"),
            color=alt.Color("group:N", title=None, legend=alt.Legend(orient="bottom")),
            tooltip=["group:N", "priority:N", "calls:Q", alt.Tooltip("share:Q", format=".1%")],
        )
    )


def spread_chart(frame: pd.DataFrame) -> alt.LayerChart:
    base = alt.Chart(frame).encode(
        y=alt.Y("group:N", title=None),
        color=alt.Color("group:N", legend=None),
        tooltip=[
            "group:N",
            "n:Q",
            alt.Tooltip("q1:Q", format=".1f", title="Q1 (min)"),
            alt.Tooltip("median:Q", format=".1f", title="median (min)"),
            alt.Tooltip("q3:Q", format=".1f", title="Q3 (min)"),
        ],
    )
    iqr = base.mark_rule(strokeWidth=10, opacity=0.5).encode(
        x=alt.X("q1:Q", title="response time (minutes): median and interquartile range"),
        x2="q3:Q",
    )
    return iqr + base.mark_tick(thickness=3, size=24, color="black").encode(x="median:Q")


def tests_row(comparison: str, measure: str, test: str, n_a, n_b, effect: str, value, result):
    return {
        "comparison": comparison,
        "measure": measure,
        "test": test,
        "n (A)": n_a,
        "n (B)": n_b,
        "effect size": effect,
        "value": round(value, 3),
        "magnitude": result.magnitude,
        "p-value": cmp.format_p(result.p_value),
    }


summary: list[dict] = []
tabs = st.tabs([c[0] for c in COMPARISONS])
for tab, (title, a, a_groups, b, b_groups) in zip(tabs, COMPARISONS, strict=True):
    with tab:
        n_a = int(group_counts(mix, a_groups, "grp").sum())
        n_b = int(group_counts(mix, b_groups, "grp").sum())
        cols = st.columns(2)
        cols[0].metric(f"{a.capitalize()} calls (A)", f"{n_a:,}")
        cols[1].metric(f"{b.capitalize()} calls (B)", f"{n_b:,}")
        if not n_a or not n_b:
            missing = a if not n_a else b
            st.info(
                f"No {missing} calls in the filters, so there is nothing to compare: widen the "
                "dates, tiers or alcohol filter."
            )
            continue

        # Incident mix: chi-square over every category, chart of the top N.
        table = pd.DataFrame(
            {a: group_counts(mix, a_groups, "category"), b: group_counts(mix, b_groups, "category")}
        ).T.fillna(0)
        st.subheader("Incident mix")
        chi = cmp.chi_square(table)
        if chi is None:
            st.info(
                "No chi-square test: fewer than two categories remain once the categories "
                "expected to have under 5 calls in a group are pooled (one category in the "
                "filters, or too few calls)."
            )
        else:
            st.markdown(cmp.mix_sentence(chi, a, b, cmp.largest_share_gap(table, a, b)))
            note = f" {len(chi.pooled)} rare categories pooled." if chi.pooled else ""
            st.caption(
                f"Chi-square test of independence: χ² = {chi.chi2:,.1f}, dof = {chi.dof}, "
                f"{cmp.format_p(chi.p_value)}; Cramér's V = {chi.cramers_v:.3f} "
                f"(n = {chi.n:,}).{note}"
            )
            summary.append(
                tests_row(
                    title, "incident mix", "chi-square", n_a, n_b, "Cramér's V", chi.cramers_v, chi
                )
            )
        st.altair_chart(mix_chart(cmp.category_shares(table, top_n)), width="stretch")

        left, right = st.columns(2)
        with left:
            st.subheader("Priority")
            pa, pb = (
                group_counts(mix, a_groups, "priority"),
                group_counts(mix, b_groups, "priority"),
            )
            test = cmp.mann_whitney_counts(pa, pb)
            if test is not None:
                spread_a, spread_b = cmp.spread_counts(pa), cmp.spread_counts(pb)
                st.markdown(
                    cmp.shift_sentence(
                        test,
                        a,
                        b,
                        spread_a,
                        spread_b,
                        "priority",
                        "less urgent priorities",
                        "more urgent priorities",
                        lambda p: "–" if p is None else f"P{p:g}",
                    )
                )
                st.caption(
                    f"Mann–Whitney U = {test.u_a:,.0f}, {cmp.format_p(test.p_value)}; "
                    f"rank-biserial r = {test.rank_biserial:+.3f} (positive: A less urgent)."
                )
                summary.append(
                    tests_row(
                        title,
                        "priority",
                        "Mann–Whitney U",
                        n_a,
                        n_b,
                        "rank-biserial r",
                        test.rank_biserial,
                        test,
                    )
                )
            shares = pd.concat(
                [
                    pd.DataFrame({"group": a, "priority": pa.index, "calls": pa.to_numpy()}),
                    pd.DataFrame({"group": b, "priority": pb.index, "calls": pb.to_numpy()}),
                ]
            )
            shares["share"] = shares["calls"] / shares.groupby("group")["calls"].transform("sum")
            shares["priority"] = shares["priority"].astype(int).map(PRIORITY_LABELS)
            st.altair_chart(priority_chart(shares), width="stretch")
        with right:
            st.subheader("Response time")
            ra = group_counts(response, a_groups, "response_time")
            rb = group_counts(response, b_groups, "response_time")
            test = cmp.mann_whitney_counts(ra, rb)
            if test is None:
                st.info("No response times recorded for one of the groups.")
                continue
            spread_a, spread_b = cmp.spread_counts(ra), cmp.spread_counts(rb)
            st.markdown(
                cmp.shift_sentence(
                    test,
                    a,
                    b,
                    spread_a,
                    spread_b,
                    "response",
                    "slower responses",
                    "faster responses",
                    minutes,
                )
            )
            st.caption(
                f"Mann–Whitney U = {test.u_a:,.0f}, {cmp.format_p(test.p_value)}; rank-biserial "
                f"r = {test.rank_biserial:+.3f} (positive: A slower). IQR: {a} "
                f"{minutes(spread_a.iqr)}, {b} {minutes(spread_b.iqr)}."
            )
            summary.append(
                tests_row(
                    title,
                    "response time",
                    "Mann–Whitney U",
                    n_a,
                    n_b,
                    "rank-biserial r",
                    test.rank_biserial,
                    test,
                )
            )
            spreads = pd.DataFrame(
                [
                    {
                        "group": label,
                        "n": s.n,
                        "q1": s.q1 / 60,
                        "median": s.median / 60,
                        "q3": s.q3 / 60,
                    }
                    for label, s in ((a, spread_a), (b, spread_b))
                ]
            )
            st.altair_chart(spread_chart(spreads), width="stretch")

st.subheader("All tests")
if summary:
    st.dataframe(pd.DataFrame(summary), hide_index=True, width="stretch", key="impact_tests")
else:
    st.info("No comparison had both groups in the filters.")
