"""One module per dashboard page; each is a Streamlit script run by `app.py`'s navigation."""
