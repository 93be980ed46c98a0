"""Forecast: how many calls per day are coming, and is the model better than simply repeating
last week (the seasonal-naive baseline)?"""

import altair as alt
import pandas as pd
import streamlit as st

from safebeat_assets import asset_names as names
from safebeat_assets.dashboard import queries
from safebeat_assets.dashboard.cache import cached
from safebeat_assets.dashboard.context import page
from safebeat_assets.dashboard.filters import Filters

SERIES = ["actual", "backtest", "forecast", "seasonal-naive baseline"]
COLOURS = ["#34495e", "#2980b9", "#e67e22", "#95a5a6"]
DASHES = [[1, 0], [1, 0], [1, 0], [4, 3]]

f = page(
    "Forecast",
    "How many calls per day are coming in the next days, and does the model beat simply "
    "repeating last week (the seasonal-naive baseline)? Lower error than the baseline = skill.",
)
st.caption(
    "The model forecasts the daily volume of all calls, so only the date range applies here: "
    "it limits the span shown (and the span's error figures). The forecast days follow the "
    "last call and show when the range reaches it."
)

output = cached(queries.model_output)(names.CALL_FORECAST)
if output is None or output.empty:
    st.info(
        "No forecast yet: the model `call_forecast` has not produced an output (first run, or "
        "its pre-check failed on too short a history)."
    )
    st.stop()

summary = output.attrs.get("model_summary") or {}
metrics = summary.get("test_metrics") or {}
frame = output.assign(date=pd.to_datetime(output["date"]).dt.normalize())
last_call = queries.as_date(cached(queries.filter_options)()["last"])
start, end = pd.Timestamp(f.start), pd.Timestamp(f.end)
in_span = frame["date"].between(start, end)
shows_forecast = f.end >= last_call
shown = frame[in_span | ((frame["kind"] == "forecast") & shows_forecast)]

model = str(summary.get("model") or frame["model"].iloc[0])
if bool(summary.get("is_fallback", frame["is_fallback"].any())):
    st.warning(
        f"Fallback forecast (`{model}`): too little history to fit a model, so the forecast is "
        "the flat historical mean and there is no backtest."
    )


def fmt(value, pattern: str = "{:.1f}") -> str:
    return "–" if value is None or pd.isna(value) else pattern.format(value)


st.subheader(f"Backtest error — model `{model}` vs seasonal naive")
cols = st.columns(5)
cols[0].metric("Model MAE (calls/day)", fmt(metrics.get("mae")))
cols[1].metric("Baseline MAE (calls/day)", fmt(metrics.get("baseline_mae")))
skill = metrics.get("skill_vs_baseline")
cols[2].metric(
    "Skill vs baseline",
    fmt(skill, "{:+.0%}"),
    None if skill is None else ("better than the baseline" if skill > 0 else "no better"),
    delta_color="normal" if skill is None or skill > 0 else "inverse",
)
cols[3].metric("RMSE", fmt(metrics.get("rmse")))
cols[4].metric("MAPE", fmt(metrics.get("mape"), "{:.1f} %"))
st.caption(
    "Test window: the last 20 % of days, each 7-day block forecast recursively from the "
    "history before it (as the forecast is used); the baseline repeats the value 7 days "
    f"earlier. Skill = 1 − model MAE / baseline MAE. R² = {fmt(metrics.get('r2'), '{:.2f}')}."
)

backtest = shown[shown["kind"] == "backtest"]
if len(backtest):
    model_mae = (backtest["actual_calls"] - backtest["predicted_calls"]).abs().mean()
    naive_mae = (backtest["actual_calls"] - backtest["baseline_calls"]).abs().mean()
    st.markdown(
        f"In the selected dates ({len(backtest)} backtest days): model MAE **{model_mae:.1f}** "
        f"vs baseline MAE **{naive_mae:.1f}** calls/day."
    )

# Actual daily volume from the warehouse (all calls, the model's target) for the whole span.
history = cached(queries.daily_calls)(Filters(start=f.start, end=f.end))
parts = [
    pd.DataFrame(
        {"date": pd.to_datetime(history["day"]), "series": "actual", "calls": history["calls"]}
    )
]
for kind in ("backtest", "forecast"):
    rows = shown[shown["kind"] == kind]
    parts.append(
        pd.DataFrame({"date": rows["date"], "series": kind, "calls": rows["predicted_calls"]})
    )
baseline_rows = shown[shown["kind"].isin(["backtest", "forecast"])]
parts.append(
    pd.DataFrame(
        {
            "date": baseline_rows["date"],
            "series": "seasonal-naive baseline",
            "calls": baseline_rows["baseline_calls"],
        }
    )
)
series = pd.concat(parts, ignore_index=True).dropna(subset=["calls"])
if series.empty:
    st.info("Nothing to show in the selected dates.")
    st.stop()

st.subheader("Calls per day")
forecast_days = shown.loc[shown["kind"] == "forecast", "date"]
chart = (
    alt.Chart(series)
    .mark_line(point=alt.OverlayMarkDef(size=12))
    .encode(
        x=alt.X("date:T", title=None),
        y=alt.Y("calls:Q", title="calls per day"),
        color=alt.Color(
            "series:N",
            title=None,
            scale=alt.Scale(domain=SERIES, range=COLOURS),
            legend=alt.Legend(orient="bottom"),
        ),
        strokeDash=alt.StrokeDash(
            "series:N", scale=alt.Scale(domain=SERIES, range=DASHES), legend=None
        ),
        tooltip=["date:T", "series:N", alt.Tooltip("calls:Q", format=".1f")],
    )
)
if len(forecast_days):
    band = pd.DataFrame({"start": [forecast_days.min()], "end": [forecast_days.max()]})
    chart = (
        alt.Chart(band).mark_rect(opacity=0.08, color="#e67e22").encode(x="start:T", x2="end:T")
        + chart
    )
st.altair_chart(chart.interactive(bind_y=False), width="stretch")
if not shows_forecast:
    st.caption(f"The forecast starts after {last_call:%d %b %Y}: extend the range to see it.")

st.subheader("Backtest residuals (actual − predicted)")
if backtest.empty:
    st.info("No backtest days in the selected dates.")
else:
    residuals = pd.concat(
        [
            pd.DataFrame(
                {
                    "date": backtest["date"],
                    "series": "model",
                    "residual": backtest["actual_calls"] - backtest["predicted_calls"],
                }
            ),
            pd.DataFrame(
                {
                    "date": backtest["date"],
                    "series": "seasonal-naive baseline",
                    "residual": backtest["actual_calls"] - backtest["baseline_calls"],
                }
            ),
        ]
    )
    st.altair_chart(
        alt.Chart(residuals)
        .mark_bar(opacity=0.7)
        .encode(
            x=alt.X("date:T", title=None),
            y=alt.Y("residual:Q", title="calls (actual − predicted)"),
            color=alt.Color(
                "series:N",
                title=None,
                scale=alt.Scale(
                    domain=["model", "seasonal-naive baseline"], range=[COLOURS[1], COLOURS[3]]
                ),
                legend=alt.Legend(orient="bottom"),
            ),
            xOffset="series:N",
            tooltip=["date:T", "series:N", alt.Tooltip("residual:Q", format=".1f")],
        ),
        width="stretch",
    )

forecast_rows = frame[frame["kind"] == "forecast"]
if len(forecast_rows):
    st.subheader("Next days")
    st.dataframe(
        forecast_rows[["date", "predicted_calls", "baseline_calls"]].rename(
            columns={
                "predicted_calls": "forecast (calls)",
                "baseline_calls": "seasonal naive (calls)",
            }
        ),
        column_config={"date": st.column_config.DateColumn("date", format="ddd DD MMM YYYY")},
        hide_index=True,
        width="stretch",
        key="forecast_table",
    )
