"""Dagster wiring only: one module per stage (raw, cleaned, enriched, warehouse, ml, risk,
reporting), the checks and sensors packages, automation and schedules. Asset bodies load their
inputs, call the Dagster-free packages, and return data plus metadata."""
