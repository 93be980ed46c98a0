"""SafeBeat's analysts' dashboard and event planner: a Streamlit app over the warehouse and the
lake's model outputs.

It reads what the pipeline wrote and never writes: warehouse sessions are read-only (and in
production use the read-only role), the lake is only read. `source` opens the stores,
`queries` holds every query, `views/` one module per page, `app.py` is what `streamlit run`
starts, and `launcher` is `make dashboard`.
"""
