"""SafeBeat dashboard: `streamlit run safebeat_assets/dashboard/app.py` (see `make dashboard`).

Each page is one module under `views/` (not `pages/`: beside the main script, a folder of
that name switches Streamlit to its older file-based navigation on a deep link) and draws the shared sidebar itself (`context.page`):
Streamlit's AppTest runs a page without this script, and the page must still be whole.
"""

from __future__ import annotations

import streamlit as st

from safebeat_assets.settings import load_settings

PAGES = (
    # (module under views/, title, icon: an emoji, drawn by the browser's own fonts)
    ("overview", "Overview", "📊"),
    ("map", "Map", "🗺️"),
    ("hot_spots", "Hot spots", "🔥"),
    ("time_patterns", "Time patterns", "🕒"),
    ("events", "Events", "🎪"),
    ("event_impact", "Event impact", "⚖️"),
    ("forecast", "Forecast", "📈"),
    ("rules", "Association rules", "🔗"),
    ("models", "Models", "🧠"),
    ("planner", "Event planner", "📅"),
    ("reports", "Reports", "📄"),
    ("data", "Data", "🗃️"),
)

# Emoji, not Material icons: Streamlit fetches those from fonts.gstatic.com, and the dashboard
# must work offline. No page_icon for the same reason (Streamlit's own favicon is bundled).
st.set_page_config(page_title=f"SafeBeat · {load_settings().city.title}", layout="wide")
navigation = st.navigation(
    [
        st.Page(f"views/{module}.py", title=title, icon=icon, url_path=module, default=i == 0)
        for i, (module, title, icon) in enumerate(PAGES)
    ]
)
navigation.run()
