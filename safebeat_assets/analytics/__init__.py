"""Pure analytics over warehouse frames: rules, zones, forecast, risk and alerts (no Dagster).

Import the submodule you need (`analytics.alerts` is light; `rules`, `zones` and `forecast`
bring in mlxtend or scikit-learn)."""
