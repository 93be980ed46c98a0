"""Reports: the pipeline's daily reports by date: status, parts, the full HTML report, downloads."""

import pandas as pd
import streamlit as st

from safebeat_assets.dashboard import queries
from safebeat_assets.dashboard.cache import cached
from safebeat_assets.dashboard.context import page

SHOWN = {"SUCCESS": st.success, "PARTIAL": st.warning}  # anything else (FAILED) is an error
REPORT_HEIGHT = 900


def _flag(frame: pd.DataFrame, column: str) -> pd.Series:
    """A boolean column of the report, True where missing (older reports lack some)."""
    if column not in frame:
        return pd.Series(True, index=frame.index)
    return frame[column].fillna(True).astype(bool)


page(
    "Reports",
    "How did each daily pipeline run go: its status, which parts were built or skipped and "
    "why, and the full report to read here or download? Reports are per run, so the sidebar "
    "filters do not apply on this page.",
)

reports = cached(queries.report_dates)()
if reports.empty:
    st.info(
        "No daily reports yet: the pipeline writes `daily/<date>_report.html` and `.json` to "
        "the reports bucket at the end of each run."
    )
    st.stop()

day = st.selectbox("Report date", reports["date"], key="report_date")
row = reports.loc[reports["date"] == day].iloc[0]
html_name = row["html"] if pd.notna(row["html"]) else None
json_name = row["json"] if pd.notna(row["json"]) else None

if json_name is None:
    st.warning(f"The report of {day} has no JSON part: status and parts are unknown.")
else:
    report = cached(queries.report_json)(json_name)
    meta = report.get("report_metadata", {})
    status = meta.get("status", "UNKNOWN")
    SHOWN.get(status, st.error)(
        f"{status} — report of {meta.get('report_date', day)}, generated "
        f"{str(meta.get('generated_at', ''))[:19].replace('T', ' ')} UTC"
        + (f": {meta['message']}" if meta.get("message") else "")
    )
    parts = pd.DataFrame(report.get("parts", []))
    checks = pd.DataFrame(report.get("checks", []))
    evaluated = checks[_flag(checks, "evaluated")]
    failed = evaluated[~_flag(evaluated, "passed")]
    built = int((parts["state"] == "built").sum()) if "state" in parts else 0
    cols = st.columns(4)
    cols[0].metric("Status", status)
    cols[1].metric("Parts built", f"{built} / {len(parts)}")
    cols[2].metric("Checks passed", f"{len(evaluated) - len(failed)} / {len(evaluated)}")
    cols[3].metric("Alerts", f"{len(report.get('alerts', [])):,}")

    st.subheader("Parts")
    if parts.empty:
        st.info("This report lists no parts.")
    else:
        shown = [c for c in ("part", "state", "summary", "reason", "last_built") if c in parts]
        st.dataframe(parts[shown], hide_index=True, width="stretch")
    if not failed.empty:
        st.subheader(f"{len(failed)} failed check(s)")
        shown = [c for c in ("asset", "name", "severity", "description") if c in failed]
        st.dataframe(failed[shown], hide_index=True, width="stretch")

cols = st.columns(2)
if html_name is not None:
    html = cached(queries.report_file)(html_name)
    cols[0].download_button(
        "Download HTML report",
        html,
        file_name=html_name,
        mime="text/html",
        key="report_download_html",
        icon=":material/download:",
    )
if json_name is not None:
    cols[1].download_button(
        "Download JSON report",
        cached(queries.report_file)(json_name),
        file_name=json_name,
        mime="application/json",
        key="report_download_json",
        icon=":material/download:",
    )

st.subheader("Full report")
if html_name is None:
    st.info(f"The report of {day} has no HTML part.")
else:
    # An iframe keeps the report's own styles from leaking into the dashboard; the report is
    # self-contained (inline CSS, charts as data-URI images), so it shows offline.
    st.iframe(html.decode("utf-8", errors="replace"), height=REPORT_HEIGHT)
