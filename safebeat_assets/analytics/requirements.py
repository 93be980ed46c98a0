"""How much input each model needs, and how far the forecast looks ahead.

The blocking pre-checks on `fact_911_calls` compare the warehouse against these minimums (their
defaults; `PipelineSettings` can raise or lower them), so a model is never fitted on too little.
"""

MIN_CALLS_FOR_RULES = 1_000
MIN_GEOLOCATED_CALLS_FOR_ZONES = 100
MIN_DAYS_FOR_FORECAST = 30
FORECAST_HORIZON_DAYS = 7
