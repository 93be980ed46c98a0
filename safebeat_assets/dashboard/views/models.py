"""Models: what each model reads, how it is set up, how good it is and when it was last trained.

Parameters come from the analytics modules themselves where importing them is cheap (rules,
hot spots, event impact); zones and the forecast would pull in scikit-learn (~1.5 s on a cold
server) for a few constants, so their set-up is described in words and their numbers come from
the stored summaries.
"""

import pandas as pd
import streamlit as st

from safebeat_assets import asset_names as names
from safebeat_assets.analytics import event_impact as impact
from safebeat_assets.analytics import hot_spots as spots
from safebeat_assets.analytics import rules as rules_module
from safebeat_assets.dashboard import queries
from safebeat_assets.dashboard.cache import cached
from safebeat_assets.dashboard.context import page
from safebeat_assets.dashboard.filters import ALCOHOL_NONE, ALCOHOL_SERVED

SUMMARY = "model_summary"

f = page(
    "Models",
    "What does each model read, how is it set up, how good is it against its simple baseline, "
    "and when was it last trained?",
)
st.caption(
    "Models are trained on every call; the filters only narrow the backtest figures marked "
    "“in the filters” (dates for the forecast; dates, tiers and alcohol for the event impact "
    "model)."
)

modified = cached(queries.model_modified)()
report = cached(queries.latest_report)()
outputs = {
    name: cached(queries.model_output)(name)
    for name in (
        names.ASSOCIATION_RULES,
        names.ZONE_CLUSTERS,
        names.CALL_FORECAST,
        names.EVENT_IMPACT_MODEL,
    )
}
hot = cached(queries.hot_spots_overview)(spots.ALL_DAY, spots.ALL_CALLS)


def summary_of(name: str) -> dict:
    frame = outputs.get(name)
    return {} if frame is None else dict(frame.attrs.get(SUMMARY) or {})


def report_built(asset: str) -> str | None:
    """When the last daily report saw the asset's part built (warehouse tables have no mtime)."""
    for part in (report or {}).get("parts", []):
        if asset in part.get("assets", []) and part.get("last_built"):
            return part["last_built"]
    return None


def trained(name: str) -> str:
    """The summary's trained_at, else when the lake object was written, else the report's."""
    stamp = summary_of(name).get("trained_at")
    if stamp:
        return f"{pd.Timestamp(stamp):%Y-%m-%d %H:%M} UTC"
    if modified.get(name) is not None:
        return f"{modified[name]:%Y-%m-%d %H:%M} UTC (file written)"
    built = report_built(name)
    return f"{pd.Timestamp(built):%Y-%m-%d %H:%M} UTC (last report)" if built else "–"


def num(value, pattern: str = "{:.2f}") -> str:
    return "–" if value is None or pd.isna(value) else pattern.format(value)


def missing(name: str, where: str) -> None:
    st.info(
        f"`{name}` has no output yet ({where}): the pipeline has not built it, or its "
        "pre-check failed and it was skipped."
    )


def params_table(rows: dict) -> None:
    table = pd.DataFrame({"parameter": list(rows), "value": [str(v) for v in rows.values()]})
    st.dataframe(table, hide_index=True, width="stretch")


# --- overview --------------------------------------------------------------------------------
forecast_metrics = summary_of(names.CALL_FORECAST).get("test_metrics") or {}
impact_backtest = summary_of(names.EVENT_IMPACT_MODEL).get("backtest") or {}
zones_summary = summary_of(names.ZONE_CLUSTERS)
rules = outputs[names.ASSOCIATION_RULES]
overview = [
    (
        names.ASSOCIATION_RULES,
        "lake models/",
        rules is not None,
        f"{len(rules)} rules" if rules is not None else "",
    ),
    (
        names.ZONE_CLUSTERS,
        "lake models/",
        outputs[names.ZONE_CLUSTERS] is not None,
        f"K = {zones_summary.get('chosen_k')}, silhouette {num(zones_summary.get('silhouette'))}"
        if zones_summary
        else "",
    ),
    (
        names.CALL_FORECAST,
        "lake models/",
        outputs[names.CALL_FORECAST] is not None,
        f"skill vs seasonal naive {num(forecast_metrics.get('skill_vs_baseline'), '{:+.0%}')}",
    ),
    (
        names.CALL_HOT_SPOTS,
        "warehouse table",
        hot is not None,
        f"{hot['maps']} maps, {hot['hot']} hot spots (all day, all calls)" if hot else "",
    ),
    (
        names.EVENT_IMPACT_MODEL,
        "lake models/",
        outputs[names.EVENT_IMPACT_MODEL] is not None,
        f"skill vs naive {num(impact_backtest.get('skill_vs_naive'), '{:+.0%}')}",
    ),
]
st.dataframe(
    pd.DataFrame(
        [
            {
                "model": name,
                "stored in": where,
                "status": "built" if built else "missing",
                "last trained": trained(name) if built else "–",
                "headline": headline if built else "no output yet",
            }
            for name, where, built, headline in overview
        ]
    ),
    hide_index=True,
    width="stretch",
    key="models_overview",
)

# --- event impact model (the planner's) ------------------------------------------------------
st.subheader("Event impact model")
st.caption(
    "Reads event-days (dim_event, fact_event_incidents, dim_geo) and `call_baseline_rates`. "
    "Calls within the link radius on an event-day = baseline × exp(b0 + b·x), Poisson "
    f"log-linear with offset log(baseline), ridge α = {impact.ALPHA:g}, on tier, alcohol, "
    "amplified sound, road closure and attendance. Backtest: chronological, the last "
    f"{impact.BACKTEST_FRACTION:.0%} of event-days, against the naive model (baseline + the "
    f"tier's mean uplift); fewer than {impact.MIN_EVENT_DAYS} event-days serve the naive model."
)
frame = outputs[names.EVENT_IMPACT_MODEL]
summary = summary_of(names.EVENT_IMPACT_MODEL)
no_events = cached(queries.events_source_note)()
if no_events:
    st.info(f"{no_events}: no event-days to fit the event impact model on.")
elif frame is None or not summary:
    missing(names.EVENT_IMPACT_MODEL, "lake `models/event_impact_model.parquet`")
else:
    if summary.get("is_fallback"):
        st.warning(f"Naive model served: {summary.get('fallback_reason') or 'no reason given'}")
    cols = st.columns(4)
    skill = impact_backtest.get("skill_vs_naive")
    cols[0].metric("Backtest MAE (calls/event-day)", num(impact_backtest.get("mae")))
    cols[1].metric("Naive MAE (tier mean uplift)", num(impact_backtest.get("naive_mae")))
    cols[2].metric(
        "Skill vs naive",
        num(skill, "{:+.0%}"),
        None if skill is None else ("better than naive" if skill > 0 else "not better"),
        delta_color="normal" if skill is None or skill > 0 else "inverse",
    )
    cols[3].metric("Backtest event-days", num(impact_backtest.get("rows"), "{:,.0f}"))
    st.caption(
        f"RMSE {num(impact_backtest.get('rmse'))} vs naive {num(impact_backtest.get('naive_rmse'))}"
        f"; trained on {summary.get('training_rows', '–')} event-days of "
        f"{summary.get('events', '–')} events ({summary.get('history_start', '?')} – "
        f"{summary.get('history_end', '?')}); backtest from "
        f"{impact_backtest.get('backtest_start') or '–'}. Last trained "
        f"{trained(names.EVENT_IMPACT_MODEL)}."
    )
    held_out = frame[frame["split"] == "backtest"].copy()
    held_out["date"] = pd.to_datetime(held_out["date"]).dt.date
    held_out = held_out[held_out["date"].between(f.start, f.end)]
    if f.tiers:
        held_out = held_out[held_out["tier"].isin(f.tiers)]
    if f.alcohol == ALCOHOL_SERVED:
        held_out = held_out[held_out["has_alcohol"].astype(bool)]
    elif f.alcohol == ALCOHOL_NONE:
        held_out = held_out[~held_out["has_alcohol"].astype(bool)]
    if held_out.empty:
        st.caption("In the filters: no backtest event-day.")
    else:
        mae = (held_out["linked_calls"] - held_out["backtest_predicted_calls"]).abs().mean()
        naive = (held_out["linked_calls"] - held_out["naive_predicted_calls"]).abs().mean()
        st.markdown(
            f"In the filters: **{len(held_out)}** backtest event-days, model MAE **{mae:.2f}** vs "
            f"naive MAE **{naive:.2f}** calls per event-day."
        )
    left, right = st.columns(2)
    with left:
        st.markdown("**Coefficients** (rate ratio = ×calls for the feature)")
        coefficients = impact.coefficient_table(summary)
        if coefficients.empty:
            st.caption("The naive model has no coefficients.")
        else:
            st.dataframe(coefficients.round(4), hide_index=True, width="stretch")
        dropped = summary.get("dropped_features") or {}
        if dropped:
            st.caption("Dropped: " + "; ".join(f"{k} ({v})" for k, v in dropped.items()))
    with right:
        st.markdown("**Naive uplift per tier** (calls per event-day over the baseline)")
        uplift = summary.get("naive_uplift_by_tier") or {}
        st.dataframe(
            pd.DataFrame({"tier": list(uplift), "mean uplift": list(uplift.values())}).round(3),
            hide_index=True,
            width="stretch",
        )

# --- forecast --------------------------------------------------------------------------------
st.subheader("Call forecast")
st.caption(
    "Reads daily call counts (calls_by_day). Ridge vs gradient boosting on calendar, lag "
    "(1, 7, 14 days) and rolling-mean features, chronological 80/20 split, scaler fit on the "
    "training part; the better R² on a recursive 7-day-block backtest is kept and forecasts "
    "the next days recursively. Baseline: seasonal naive (the value 7 days earlier)."
)
forecast = outputs[names.CALL_FORECAST]
if forecast is None:
    missing(names.CALL_FORECAST, "lake `models/call_forecast.parquet`")
else:
    model_summary = summary_of(names.CALL_FORECAST)
    cols = st.columns(4)
    cols[0].metric("Model", str(model_summary.get("model", "–")))
    cols[1].metric("MAE (calls/day)", num(forecast_metrics.get("mae"), "{:.1f}"))
    cols[2].metric("Seasonal-naive MAE", num(forecast_metrics.get("baseline_mae"), "{:.1f}"))
    cols[3].metric("Skill vs baseline", num(forecast_metrics.get("skill_vs_baseline"), "{:+.0%}"))
    backtest = forecast[forecast["kind"] == "backtest"]
    backtest = backtest[pd.to_datetime(backtest["date"]).dt.date.between(f.start, f.end)]
    in_filters = (
        f"In the filters: {len(backtest)} backtest days, model MAE "
        f"{(backtest['actual_calls'] - backtest['predicted_calls']).abs().mean():.1f} vs "
        f"baseline {(backtest['actual_calls'] - backtest['baseline_calls']).abs().mean():.1f}."
        if len(backtest)
        else "In the filters: no backtest day."
    )
    st.caption(
        f"RMSE {num(forecast_metrics.get('rmse'), '{:.1f}')}, R² "
        f"{num(forecast_metrics.get('r2'))}, MAPE {num(forecast_metrics.get('mape'), '{:.1f}')} "
        f"%; fallback: {'yes' if model_summary.get('is_fallback') else 'no'}. {in_filters} "
        f"Last trained {trained(names.CALL_FORECAST)}."
    )

# --- zones -----------------------------------------------------------------------------------
st.subheader("Risk zones (KMeans)")
st.caption(
    "Reads per block group: location, call volume (log), mean priority and response time "
    "(location risk). Standardised features, K in 3..9 chosen by silhouette, clusters labelled "
    "HIGH/MEDIUM/LOW_RISK by tertile of mean location risk."
)
zones = outputs[names.ZONE_CLUSTERS]
if zones is None:
    missing(names.ZONE_CLUSTERS, "lake `models/zone_clusters.parquet`")
else:
    counts = zones_summary.get("zone_counts") or zones["risk_zone"].value_counts().to_dict()
    cols = st.columns(5)
    cols[0].metric("Chosen K", str(zones_summary.get("chosen_k", "–")))
    cols[1].metric("Silhouette", num(zones_summary.get("silhouette"), "{:.3f}"))
    for col, label in zip(cols[2:], ("HIGH_RISK", "MEDIUM_RISK", "LOW_RISK"), strict=True):
        col.metric(label.replace("_", " ").title(), f"{counts.get(label, 0):,}")
    st.caption(
        f"{len(zones):,} block groups clustered. Last trained {trained(names.ZONE_CLUSTERS)}."
    )

# --- association rules -----------------------------------------------------------------------
st.subheader("Association rules")
st.caption(
    "Reads every call's items (time of day, weekday/weekend, priority, incident type) and its "
    "festival / alcohol-event link (fact_event_incidents); weighted apriori over the distinct "
    "transactions, rules by mlxtend, ranked by lift."
)
if rules is None:
    missing(names.ASSOCIATION_RULES, "lake `models/association_rules.parquet`")
else:
    rules_summary = summary_of(names.ASSOCIATION_RULES)
    cols = st.columns(4)
    cols[0].metric("Rules found", f"{len(rules):,}")
    cols[1].metric("Incident rules", f"{int(rules['is_incident_rule'].sum()):,}")
    cols[2].metric("Highest lift", "–" if rules.empty else f"{rules['lift'].max():.2f}")
    cols[3].metric(
        "Transactions",
        num(rules_summary.get("transactions"), "{:,.0f}"),
        help="Not stored with the output unless its summary carries it (see the asset's "
        "metadata in Dagster).",
    )
    params_table(
        {
            "min support": rules_module.MIN_SUPPORT,
            "retry min support (nothing frequent)": rules_module.RETRY_MIN_SUPPORT,
            "min confidence": rules_module.MIN_CONFIDENCE,
            "min lift": rules_module.MIN_LIFT,
            "min items per transaction": rules_module.MIN_ITEMS_PER_TRANSACTION,
        }
    )
    st.caption(f"Last trained {trained(names.ASSOCIATION_RULES)}.")

# --- hot spots -------------------------------------------------------------------------------
st.subheader("Hot spots (Getis-Ord Gi*)")
st.caption(
    "Reads located calls per block group (category, hour, weekday/weekend) and the block-group "
    "polygons (dim_geo). Binary Queen contiguity weights (shared border or corner), islands "
    "linked to their nearest block group; z-score with a two-sided normal p-value, no "
    "false-discovery correction."
)
if hot is None:
    missing(names.CALL_HOT_SPOTS, "warehouse table `call_hot_spots`")
else:
    cols = st.columns(4)
    cols[0].metric("Maps", f"{hot['maps']:,}")
    cols[1].metric("Block groups", f"{hot['block_groups']:,}")
    cols[2].metric("Hot spots (all day, all calls)", f"{hot['hot']:,}")
    cols[3].metric("Cold spots (all day, all calls)", f"{hot['cold']:,}")
    params_table(
        {
            "time windows": ", ".join(spots.TIME_WINDOWS),
            "min located calls per map": spots.MIN_CALLS,
            "confidence classes (|z| ≥)": ", ".join(f"{c} %: {z}" for c, z in spots.Z_THRESHOLDS),
            "categories mapped": hot["categories"],
        }
    )
    st.caption(f"Last trained {trained(names.CALL_HOT_SPOTS)}.")
