"""Pure analytics over warehouse frames: rules, zones, forecast, risk and alerts (no Dagster).

Import the submodule you need. Heavy libraries (scikit-learn, mlxtend, scipy, shapely) are
imported inside the functions that use them, so the Dagster definitions, which import these
modules for their constants, load without them."""
