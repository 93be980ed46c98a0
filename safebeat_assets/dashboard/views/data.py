"""Data: the warehouse rows behind the numbers, under the shared filters, with a CSV download."""

import streamlit as st

from safebeat_assets.dashboard import queries
from safebeat_assets.dashboard.cache import cached, source
from safebeat_assets.dashboard.context import page

# Which shared filters each table honours (queries.table_rows applies exactly these).
APPLIED = {
    queries.FACT: "date range, call category and priority",
    queries.EVENTS: "date range (events overlapping it), event tier and alcohol",
    queries.LINKS: "date range, call category, priority, event tier and alcohol",
    queries.EVENT_RISK: "date range, event tier and alcohol (of the scored event)",
}

f = page(
    "Data",
    "Which rows are behind the numbers? Browse a warehouse table under the shared filters and "
    "download every matching row as CSV.",
)

label = st.selectbox("Table", list(queries.DATA_TABLES), key="data_table")
table = queries.DATA_TABLES[label]
if table not in cached(queries.existing_tables)():
    st.info(f"`{table}` is not in the warehouse yet: the pipeline has not built it.")
    st.stop()

rows, total = cached(queries.table_rows)(table, f)
st.caption(
    f"Filters applied: {APPLIED[table]}."
    if table in APPLIED
    else "This table is computed over the whole history: the sidebar filters do not apply."
)
cols = st.columns(3)
cols[0].metric("Rows matching the filters", f"{total:,}")
cols[1].metric("Rows shown", f"{len(rows):,}")
cols[2].metric("Columns", f"{len(rows.columns):,}")
if total == 0:
    st.info("No rows match the filters: widen the date range or clear some filters.")
    st.stop()

st.dataframe(rows, hide_index=True, width="stretch", height=480)
if total > len(rows):
    st.caption(
        f"The table shows the first {len(rows):,} of {total:,} matching rows; the download "
        "below holds all of them."
    )

src = source()
st.download_button(
    f"Download all {total:,} rows (CSV)",
    # Deferred: built only on click, by the server (COPY ... TO STDOUT), not on every rerun.
    # Called directly, not cached: a full export is large and rarely asked for twice.
    lambda: queries.table_csv(src, table, f),
    file_name=f"{table}_{f.start:%Y%m%d}-{f.end:%Y%m%d}.csv"
    if table in APPLIED
    else f"{table}.csv",
    mime="text/csv",
    key="data_download",
    icon=":material/download:",
)
