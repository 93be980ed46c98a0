"""SafeBeat dashboard: `streamlit run safebeat_assets/dashboard/app.py` (see `make dashboard`).

Each page is one module under `pages/` and draws the shared sidebar itself (`context.page`):
Streamlit's AppTest runs a page without this script, and the page must still be whole.
"""

from __future__ import annotations

import streamlit as st

PAGES = (
    # (module under pages/, title, icon)
    ("overview", "Overview", ":material/dashboard:"),
    ("map", "Map", ":material/map:"),
    ("hot_spots", "Hot spots", ":material/local_fire_department:"),
    ("time_patterns", "Time patterns", ":material/schedule:"),
    ("events", "Events", ":material/festival:"),
    ("event_impact", "Event impact", ":material/compare_arrows:"),
    ("forecast", "Forecast", ":material/trending_up:"),
    ("rules", "Association rules", ":material/account_tree:"),
    ("models", "Models", ":material/model_training:"),
    ("planner", "Event planner", ":material/event_available:"),
    ("reports", "Reports", ":material/description:"),
    ("data", "Data", ":material/table:"),
)

st.set_page_config(page_title="SafeBeat", page_icon=":material/emergency:", layout="wide")
navigation = st.navigation(
    [
        st.Page(f"pages/{module}.py", title=title, icon=icon, url_path=module, default=i == 0)
        for i, (module, title, icon) in enumerate(PAGES)
    ]
)
navigation.run()
