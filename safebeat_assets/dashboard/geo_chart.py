"""Block-group maps drawn from `dim_geo`'s own polygons, shared by the Map and Hot spots pages.

No basemap and no tiles: the polygons are the map, so it works offline. The polygons are
converted to GeoJSON once per data version (cached) and simplified, so a chart of every block
group stays light enough to send on each rerun; the measures are joined to them in the chart
(Vega-Lite lookup), so the polygons never change between measures.
"""

from __future__ import annotations

import json
from decimal import Decimal

import altair as alt
import numpy as np
import pandas as pd
import shapely
import streamlit as st

from ..analytics.hot_spots import HOT_SPOT_CLASSES
from . import queries
from .cache import cached, data_version

# ≈ 20 m at Austin's latitude: invisible at city scale, drops most vertices of census outlines.
SIMPLIFY_DEGREES = 0.0002
COORD_DECIMALS = 5  # ≈ 1 m; shortens the JSON sent to the browser
MAP_HEIGHT = 600
NO_DATA = "#e5e7eb"
FEATURES = "block_groups"  # the polygons' dataset name in the chart specs

# Light to dark (ColorBrewer OrRd) for counts per area.
SEQUENTIAL = ("#fef0d9", "#fdd49e", "#fdbb84", "#fc8d59", "#ef6548", "#d7301f", "#990000")
# Diverging colours of the Gi* classes (hottest to coldest; grey = not significant).
HOT_SPOT_COLOURS = ("#b2182b", "#ef8a62", "#fddbc7", "#d9d9d9", "#d1e5f0", "#67a9cf", "#2166ac")


# cache_resource, not cache_data: the features are shared read-only (never mutated here), so
# every rerun gets them without unpickling ~1,200 polygons.
@st.cache_resource(show_spinner=False, max_entries=2)
def _features(version: str) -> list[dict]:
    """Every block group as a GeoJSON feature (properties geo_id, name, county, area)."""
    geo = cached(queries.block_groups)()
    geo = geo[geo["boundary_wkt"].notna()]
    shapes = shapely.from_wkt(geo["boundary_wkt"].to_numpy(), on_invalid="ignore")
    shapes = shapely.simplify(shapes, SIMPLIFY_DEGREES, preserve_topology=True)
    shapes = shapely.transform(shapes, lambda xy: np.round(xy, COORD_DECIMALS))
    # d3-geo (Vega's projections) is spherical: exterior rings must run clockwise, or a polygon
    # is drawn as the whole globe minus itself.
    shapes = shapely.orient_polygons(shapes, exterior_cw=True)
    features = []
    for row, shape in zip(geo.itertuples(index=False), shapes, strict=True):
        if shape is None or shape.is_empty:
            continue
        features.append(
            {
                "type": "Feature",
                "geometry": json.loads(shapely.to_geojson(shape)),
                "properties": {
                    "geo_id": row.geo_id,
                    "name": row.name,
                    "county": row.county_name,
                    "area_sq_km": _plain(row.area_sq_km),
                },
            }
        )
    return features


def block_group_features() -> list[dict]:
    return _features(data_version())


def choropleth(
    values: pd.DataFrame,
    color: alt.Color,
    tooltip: list[alt.Tooltip],
    overlays: tuple[alt.Chart, ...] = (),
) -> dict:
    """A Vega-Lite spec of every block group, coloured by `values` (one row per `geo_id`; its
    other columns are looked up onto the polygons, so encode them by their plain names, and the
    polygons' own fields as `properties.name`, `properties.geo_id`, ...). Block groups missing
    from `values` stay light grey. `overlays` (e.g. event markers at longitude/latitude) share
    the projection, with their own colour and size scales. Show it with `show`."""
    polygons = alt.NamedData(name=FEATURES)
    base = (
        alt.Chart(polygons)
        .mark_geoshape(fill=NO_DATA, stroke="white", strokeWidth=0.3)
        .encode(
            tooltip=[
                alt.Tooltip("properties.name:N", title="name"),
                alt.Tooltip("properties.geo_id:N", title="geo_id"),
            ]
        )
    )
    shaded = (
        alt.Chart(polygons)
        .mark_geoshape(stroke="white", strokeWidth=0.3)
        .transform_lookup(
            lookup="properties.geo_id",
            from_=alt.LookupData(
                data=values, key="geo_id", fields=[c for c in values.columns if c != "geo_id"]
            ),
        )
        .encode(color=color, tooltip=tooltip)
    )
    chart = (
        alt.layer(base, shaded, *overlays)
        .project(type="mercator")
        .resolve_scale(color="independent", size="independent")
        .properties(height=MAP_HEIGHT)
    )
    # Altair walks inline data value by value (~1 s for the polygons), so the chart refers to
    # them by name and the features join the finished spec as a named GeoJSON dataset, which
    # Streamlit passes to Vega-Lite unchanged.
    spec = chart.to_dict()
    spec.setdefault("datasets", {})[FEATURES] = block_group_features()
    return spec


def show(spec: dict) -> None:
    st.vega_lite_chart(spec, width="stretch")


def quantile_color(field: str, title: str, measure: pd.Series, classes: int = 6) -> alt.Color:
    """Sequential classes at the measure's quantiles (rounded to 2 significant digits): counts
    per area are heavily skewed, and a linear scale would paint all but the centre pale."""
    positive = measure[measure > 0].dropna()
    cuts = positive.quantile([i / classes for i in range(1, classes)]) if len(positive) else []
    breaks = sorted({float(f"{c:.2g}") for c in cuts})
    return alt.Color(
        f"{field}:Q",
        title=title,
        scale=alt.Scale(type="threshold", domain=breaks, range=SEQUENTIAL[-(len(breaks) + 1) :]),
        legend=alt.Legend(format=",.3~r"),
    )


def hot_spot_color(labels) -> alt.Color:
    """Diverging colours for the Gi* classes; an unforeseen label keeps a neutral colour."""
    extra = sorted(set(labels) - set(HOT_SPOT_CLASSES))
    return alt.Color(
        "hot_spot:N",
        title="Gi* class",
        scale=alt.Scale(
            domain=[*HOT_SPOT_CLASSES, *extra],
            range=[*HOT_SPOT_COLOURS, *(["#9ca3af"] * len(extra))],
        ),
        legend=alt.Legend(orient="right"),
    )


def _plain(value):
    """JSON-safe scalar: NaN/NA become null, numpy numbers and SQL decimals plain Python."""
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    if isinstance(value, Decimal):
        return float(value)
    return value.item() if isinstance(value, np.generic) else value
