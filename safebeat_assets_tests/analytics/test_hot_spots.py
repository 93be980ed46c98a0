"""Getis-Ord Gi* hot spots: planted clusters are found, the numbers are esda's, islands and
empty block groups are handled, small maps are skipped and counted; then the asset against the
real warehouse."""

from __future__ import annotations

import re

import dagster as dg
import numpy as np
import pandas as pd
import pytest

from safebeat_assets.analytics.hot_spots import (
    ALL_CALLS,
    ALL_DAY,
    HOT_SPOT_CLASSES,
    HOT_SPOT_COLUMNS,
    MIN_CALLS,
    NOT_SIGNIFICANT,
    TIME_WINDOWS,
    WINDOW_DEFINITIONS,
    build_contiguity_weights,
    gi_star,
    hot_spots,
    significance,
    top_hot_spots,
    two_sided_p,
)
from safebeat_assets.contracts import column_descriptions
from safebeat_assets.storage.tables import TABLES
from safebeat_assets.storage.warehouse import Warehouse
from safebeat_assets_tests.helpers import check_results, lake_frame, materialize_subset

SIDE = 15  # a SIDE x SIDE grid of square block groups
CELL_DEG = 0.01
ORIGIN = (-97.90, 30.20)  # lon, lat of the grid's south-west corner (Austin)


def cell_id(row: int, col: int) -> str:
    return f"48453000{row:02d}{col:02d}"


def square(lon: float, lat: float, size: float = CELL_DEG) -> str:
    x0, y0, x1, y1 = lon, lat, lon + size, lat + size
    return f"POLYGON (({x0:.7f} {y0:.7f}, {x1:.7f} {y0:.7f}, {x1:.7f} {y1:.7f}, {x0:.7f} {y1:.7f}, {x0:.7f} {y0:.7f}))"


def block_group(geo_id: str, lon: float, lat: float, wkt: str | None = "square") -> dict:
    return {
        "geo_id": geo_id,
        "boundary_wkt": square(lon, lat) if wkt == "square" else wkt,
        "latitude_centroid": lat + CELL_DEG / 2,
        "longitude_centroid": lon + CELL_DEG / 2,
    }


def grid(side: int = SIDE) -> pd.DataFrame:
    rows = [
        block_group(cell_id(r, c), ORIGIN[0] + c * CELL_DEG, ORIGIN[1] + r * CELL_DEG)
        for r in range(side)
        for c in range(side)
    ]
    return pd.DataFrame(rows)


def calls_from_counts(
    counts: dict[str, int], category: str = "Theft", hour: int = 14, weekend: bool = False
) -> pd.DataFrame:
    """One call row per count: geo_id, category, hour and weekend flag as given."""
    geo_ids = [g for g, n in counts.items() for _ in range(n)]
    return pd.DataFrame(
        {
            "geo_id": pd.Series(geo_ids, dtype=object),
            "final_problem_category": category,
            "response_hour": hour,
            "is_weekend": weekend,
        }
    )


def planted_counts(side: int = SIDE) -> dict[str, int]:
    """A flat background of 20 calls, a 3x3 cluster of 60 around (3, 3) and a 5x5 block of 0
    around (11, 11)."""
    counts = {}
    for r in range(side):
        for c in range(side):
            value = 20
            if abs(r - 3) <= 1 and abs(c - 3) <= 1:
                value = 60
            if abs(r - 11) <= 2 and abs(c - 11) <= 2:
                value = 0
            counts[cell_id(r, c)] = value
    return counts


def one_map(table: pd.DataFrame, window: str = ALL_DAY, category: str = ALL_CALLS):
    frame = table[(table["time_window"] == window) & (table["category"] == category)]
    return frame.set_index("geo_id")


def esda_map(weights, values: np.ndarray):
    """The reference: esda's Gi* with the same neighbours, binary, self included."""
    from esda.getisord import G_Local
    from libpysal.graph import Graph

    graph = Graph.from_sparse(weights.matrix, ids=list(weights.geo_ids))
    return G_Local(values.astype(float), graph, transform="B", star=True, permutations=0, seed=0)


# --- weights ----------------------------------------------------------------------------------


def test_grid_weights_are_queen_contiguity():
    from libpysal.weights import Queen

    geo = grid()
    weights = build_contiguity_weights(geo)
    neighbours = dict(zip(weights.geo_ids, weights.neighbours, strict=True))
    assert neighbours[cell_id(7, 7)] == 8  # edges and corners
    assert neighbours[cell_id(0, 7)] == 5
    assert neighbours[cell_id(0, 0)] == 3
    assert weights.islands == () and weights.components == 1
    assert (weights.matrix != weights.matrix.T).nnz == 0
    assert weights.matrix.diagonal().sum() == 0
    assert set(np.unique(weights.matrix.data)) == {1.0}
    # On a clean coverage the result is libpysal's own (vertex-based) Queen contiguity.
    import geopandas as gpd

    frame = gpd.GeoDataFrame(geometry=gpd.GeoSeries.from_wkt(geo["boundary_wkt"]), crs=4326)
    queen = Queen.from_dataframe(frame, use_index=False, silence_warnings=True)
    assert (queen.sparse != weights.matrix).nnz == 0


def test_a_vertex_on_a_neighbours_edge_still_makes_neighbours():
    """A polygon whose corner lies on the middle of another's edge (no shared vertex)."""
    left = "POLYGON ((0 0, 2 0, 2 2, 0 2, 0 0))"
    right_top = "POLYGON ((2 1, 4 1, 4 3, 2 3, 2 1))"
    geo = pd.DataFrame(
        {
            "geo_id": ["484530000011", "484530000012"],
            "boundary_wkt": [left, right_top],
            "latitude_centroid": [1.0, 2.0],
            "longitude_centroid": [1.0, 3.0],
        }
    )
    weights = build_contiguity_weights(geo)
    assert weights.islands == ()
    assert weights.matrix[0, 1] == weights.matrix[1, 0] == 1.0


def test_contiguity_edges_are_libpysals_fuzzy_contiguity():
    """The spatial-index query gives exactly libpysal's `Graph.build_fuzzy_contiguity` pairs,
    on a grid, a vertex on an edge, an overlapping sliver, a far island, a missing and an empty
    polygon."""
    import shapely
    from libpysal.graph import Graph

    from safebeat_assets.analytics.hot_spots import _contiguity_edges

    extra = [
        "POLYGON ((20 0, 22 0, 22 2, 20 2, 20 0))",
        "POLYGON ((22 1, 24 1, 24 3, 22 3, 22 1))",  # a corner on the first one's edge
        "POLYGON ((23.9999999 0, 26 0, 26 2, 23.9999999 2, 23.9999999 0))",  # sliver overlap
        "POLYGON ((90 90, 91 90, 91 91, 90 91, 90 90))",  # an island
        None,
        "POLYGON EMPTY",
    ]
    wkt = list(grid(6)["boundary_wkt"]) + extra
    geometries = shapely.from_wkt(np.array(wkt, dtype=object), on_invalid="ignore")
    heads, tails = _contiguity_edges(geometries)

    usable = np.flatnonzero(~(shapely.is_missing(geometries) | shapely.is_empty(geometries)))
    graph = Graph.build_fuzzy_contiguity(
        pd.Series(geometries[usable], index=usable), predicate="intersects"
    )
    adjacency = graph.adjacency
    focal = adjacency.index.get_level_values("focal").to_numpy("int64")
    neighbor = adjacency.index.get_level_values("neighbor").to_numpy("int64")
    real = (adjacency.to_numpy() > 0) & (focal != neighbor)
    expected = set(zip(focal[real].tolist(), neighbor[real].tolist(), strict=True))
    found = list(zip(heads.tolist(), tails.tolist(), strict=True))
    assert len(found) == len(set(found)) and set(found) == expected
    assert (36, 37) in expected and (37, 38) in expected  # the vertex-on-edge and the sliver
    assert not any(39 in pair for pair in expected)  # the island


def test_islands_are_linked_to_their_nearest_block_group_both_ways():
    geo = grid(5)
    far_east = ORIGIN[0] + 5 * CELL_DEG + 0.05
    extra = pd.DataFrame(
        [
            # An island 5 km east of the grid, level with row 2.
            block_group("484539900001", far_east, ORIGIN[1] + 2 * CELL_DEG),
            # No polygon at all: placed by its internal point next to cell (0, 0).
            block_group("484539900002", ORIGIN[0] - 0.004, ORIGIN[1], wkt=None),
            # Two islands far away, nearest to each other.
            block_group("484539900003", -97.0, 31.0),
            block_group("484539900004", -97.0, 31.03),
        ]
    )
    # Shuffled input: the weights follow geo_id, not the row order.
    frame = pd.concat([extra, geo], ignore_index=True).sample(frac=1, random_state=3)
    weights = build_contiguity_weights(frame)
    assert weights.geo_ids == tuple(sorted(frame["geo_id"]))
    assert weights.islands == ("484539900001", "484539900002", "484539900003", "484539900004")
    assert weights.without_boundary == ("484539900002",)
    index = {g: i for i, g in enumerate(weights.geo_ids)}
    m = weights.matrix

    def linked(a: str, b: str) -> bool:
        return m[index[a], index[b]] == 1.0 and m[index[b], index[a]] == 1.0

    assert linked("484539900001", cell_id(2, 4))
    assert linked("484539900002", cell_id(0, 0))
    assert linked("484539900003", "484539900004")
    assert m.sum() == m.nnz  # the pair's link, found twice, is still one binary link
    assert weights.neighbours[index["484539900001"]] == 1
    assert weights.neighbours[index[cell_id(2, 4)]] == 5 + 1  # its 5 plus the island
    assert weights.components == 2  # the grid with its attachments, and the far pair
    # Deterministic: the same weights from the same block groups in another order.
    again = build_contiguity_weights(frame.sample(frac=1, random_state=4))
    assert (again.matrix != weights.matrix).nnz == 0 and again.islands == weights.islands


def test_an_island_equidistant_from_two_block_groups_joins_the_lower_geo_id():
    geo = grid(5)
    # North of the grid, its internal point exactly between the centres of (4, 1) and (4, 2).
    island = block_group("484539900001", ORIGIN[0] + 1.5 * CELL_DEG, ORIGIN[1] + 0.1)
    weights = build_contiguity_weights(pd.concat([geo, pd.DataFrame([island])]))
    index = {g: i for i, g in enumerate(weights.geo_ids)}
    row = weights.matrix[[index["484539900001"]], :].toarray().ravel()
    assert [weights.geo_ids[j] for j in np.flatnonzero(row)] == [cell_id(4, 1)]


def test_islands_get_a_z_score_from_their_attachment():
    geo = pd.concat(
        [grid(5), pd.DataFrame([block_group("484539900001", -97.0, 31.0)])], ignore_index=True
    )
    counts = {g: 10 + i % 7 for i, g in enumerate(sorted(geo["geo_id"]))}
    result = hot_spots(calls_from_counts(counts), geo)
    assert result.stats["islands"] == ["484539900001"]
    overall = one_map(result.table)
    assert len(overall) == 26 and np.isfinite(overall["gi_z"]).all()
    assert overall.loc["484539900001", "calls"] == counts["484539900001"]


# --- the statistic ----------------------------------------------------------------------------


def test_planted_cluster_is_a_99_hot_spot_and_far_away_is_not_significant():
    geo = grid()
    result = hot_spots(calls_from_counts(planted_counts()), geo)
    overall = one_map(result.table)
    assert overall.loc[cell_id(3, 3), "hot_spot"] == "Hot spot 99%"
    assert overall.loc[cell_id(3, 3), "confidence"] == 99
    assert overall.loc[cell_id(3, 3), "p_value"] < 0.01
    for far in (cell_id(0, 14), cell_id(14, 0), cell_id(7, 0)):
        assert overall.loc[far, "hot_spot"] == NOT_SIGNIFICANT, far
        assert overall.loc[far, "confidence"] == 0
    # The planted empty block is cold at its centre; its hottest cell is the cluster's centre.
    assert overall.loc[cell_id(11, 11), "hot_spot"] == "Cold spot 99%"
    assert overall.loc[cell_id(11, 11), "gi_z"] < -2.576
    assert overall["gi_z"].idxmax() == cell_id(3, 3)
    assert top_hot_spots(result.table)["geo_id"].iloc[0] == cell_id(3, 3)
    assert result.stats["overall_classes"]["Hot spot 99%"] >= 1
    assert result.stats["overall_classes"]["Cold spot 99%"] >= 1


def test_z_scores_and_p_values_equal_esda():
    rng = np.random.default_rng(11)
    geo = pd.concat(
        [grid(12), pd.DataFrame([block_group("484539900001", -97.5, 30.5)])], ignore_index=True
    )
    weights = build_contiguity_weights(geo)
    counts = {g: int(n) for g, n in zip(weights.geo_ids, rng.poisson(6, weights.n), strict=True)}
    calls = calls_from_counts(counts)
    # A second category in the evening on weekends: another map with other counts.
    extra = {g: int(n) for g, n in zip(weights.geo_ids, rng.poisson(2, weights.n), strict=True)}
    calls = pd.concat(
        [calls, calls_from_counts(extra, category="Noise", hour=20, weekend=True)],
        ignore_index=True,
    )
    result = hot_spots(calls, geo, weights=weights)
    compared = 0
    for key, frame in result.table.groupby(["time_window", "category"]):
        frame = frame.set_index("geo_id").loc[list(weights.geo_ids)]
        reference = esda_map(weights, frame["calls"].to_numpy())
        np.testing.assert_allclose(
            frame["gi_z"], reference.Zs, rtol=1e-10, atol=1e-10, err_msg=str(key)
        )
        # esda's p_norm is one-sided.
        np.testing.assert_allclose(
            frame["p_value"], np.minimum(2 * reference.p_norm, 1.0), err_msg=str(key)
        )
        compared += 1
    assert compared == result.stats["maps_computed"] >= 6


def test_gi_star_is_the_textbook_formula():
    weights = build_contiguity_weights(grid(4))
    values = np.arange(16, dtype=float) ** 1.5
    z = gi_star(weights, values)[:, 0]
    w = weights.matrix.toarray() + np.eye(16)
    n, mean, s = 16, values.mean(), values.std()
    w_sum = w.sum(axis=1)
    expected = (w @ values - mean * w_sum) / (
        s * np.sqrt((n * (w**2).sum(axis=1) - w_sum**2) / (n - 1))
    )
    np.testing.assert_allclose(z, expected, rtol=1e-12)


def test_a_map_without_variation_has_no_hot_spots():
    geo = grid(4)
    result = hot_spots(calls_from_counts(dict.fromkeys(geo["geo_id"], 3)), geo)
    overall = one_map(result.table)
    assert (overall["gi_z"] == 0).all() and (overall["p_value"] == 1).all()
    assert (overall["hot_spot"] == NOT_SIGNIFICANT).all()


def test_significance_classes_use_the_two_sided_thresholds():
    z = np.array([3.0, 2.576, 2.5, 1.96, 1.95, 1.645, 1.64, 0.0, -1.7, -2.0, -2.6])
    confidence, labels = significance(z)
    assert confidence.tolist() == [99, 99, 95, 95, 90, 90, 0, 0, 90, 95, 99]
    assert labels.tolist() == [
        "Hot spot 99%",
        "Hot spot 99%",
        "Hot spot 95%",
        "Hot spot 95%",
        "Hot spot 90%",
        "Hot spot 90%",
        NOT_SIGNIFICANT,
        NOT_SIGNIFICANT,
        "Cold spot 90%",
        "Cold spot 95%",
        "Cold spot 99%",
    ]
    assert set(labels) <= set(HOT_SPOT_CLASSES)
    p = two_sided_p(z)
    # Each class's p-value is below 1 - its confidence.
    assert all(p[confidence == c].max() < 1 - c / 100 for c in (99, 95, 90))
    assert two_sided_p(np.array([0.0]))[0] == 1.0


# --- maps, windows, categories ----------------------------------------------------------------


def test_every_block_group_is_in_every_map_with_zero_counts():
    geo = grid(6)
    busy = {cell_id(0, 0): 40, cell_id(0, 1): 25}  # two block groups have calls, 34 have none
    result = hot_spots(calls_from_counts(busy), geo)
    table = result.table
    assert list(table.columns) == HOT_SPOT_COLUMNS == TABLES["call_hot_spots"].column_names
    sizes = table.groupby(["time_window", "category"]).size()
    assert (sizes == 36).all()
    assert not table.duplicated(["time_window", "category", "geo_id"]).any()
    overall = one_map(table)
    assert set(overall.index) == set(geo["geo_id"])
    assert (overall["calls"] == 0).sum() == 34
    assert overall["calls"].sum() == 65
    assert table["calls"].dtype == "int64" and table["confidence"].dtype == "int64"


def test_windows_split_by_local_hour_and_weekday():
    geo = grid(4)
    base = {g: 10 for g in geo["geo_id"]}  # 160 calls per hour picked
    calls = pd.concat(
        [
            calls_from_counts(base, hour=5),  # night, weekday
            calls_from_counts(base, hour=6),  # morning, weekday
            calls_from_counts(base, hour=23, weekend=True),  # evening, weekend
        ],
        ignore_index=True,
    )
    result = hot_spots(calls, geo)
    per_window = result.table[result.table["category"] == ALL_CALLS].groupby("time_window")
    assert per_window["calls"].sum().to_dict() == {
        ALL_DAY: 480,
        "Night 00-06": 160,
        "Morning 06-12": 160,
        "Evening 18-24": 160,
        "Weekdays": 320,
        "Weekends": 160,
    }
    assert {s["time_window"] for s in result.stats["skipped"]} == {"Afternoon 12-18"}
    assert tuple(w.name for w in WINDOW_DEFINITIONS) == TIME_WINDOWS
    assert TIME_WINDOWS[0] == ALL_DAY and len(set(TIME_WINDOWS)) == len(TIME_WINDOWS)


def test_small_maps_are_skipped_and_counted():
    geo = grid(5)
    common = calls_from_counts(dict.fromkeys(geo["geo_id"], 2), category="Theft")  # 50 calls
    rare = calls_from_counts({cell_id(0, 0): MIN_CALLS - 1}, category="Arson")
    unlocated = calls_from_counts({"484530999999": 5}, category="Theft")  # not in dim_geo
    unmatched = pd.DataFrame(
        {
            "geo_id": [None] * 3,
            "final_problem_category": "Theft",
            "response_hour": 14,
            "is_weekend": False,
        }
    )
    calls = pd.concat([common, rare, unlocated, unmatched], ignore_index=True)
    result = hot_spots(calls, geo)
    stats = result.stats
    assert stats["calls_without_block_group"] == 8
    assert stats["calls_mapped"] == 50 + MIN_CALLS - 1
    assert stats["categories"] == 2
    # Every window x (All calls, Arson, Theft) is either mapped or listed as skipped.
    assert stats["maps_computed"] + stats["maps_skipped"] == len(TIME_WINDOWS) * 3
    skipped = {(s["time_window"], s["category"]): s["calls"] for s in stats["skipped"]}
    assert skipped[(ALL_DAY, "Arson")] == MIN_CALLS - 1
    assert skipped[("Night 00-06", ALL_CALLS)] == 0
    assert "Arson" not in set(result.table["category"])
    computed = set(map(tuple, result.table[["time_window", "category"]].drop_duplicates().values))
    assert computed == {
        (w, c) for w in (ALL_DAY, "Afternoon 12-18", "Weekdays") for c in (ALL_CALLS, "Theft")
    }
    assert len(result.table) == stats["maps_computed"] * 25
    # At exactly the threshold a map is computed.
    at_threshold = hot_spots(calls, geo, min_calls=MIN_CALLS - 1)
    assert (ALL_DAY, "Arson") in set(
        map(tuple, at_threshold.table[["time_window", "category"]].values)
    )


def test_no_map_at_all_gives_an_empty_table_with_the_contract_columns():
    geo = grid(3)
    result = hot_spots(calls_from_counts({cell_id(0, 0): 3}), geo)
    assert result.table.empty and list(result.table.columns) == HOT_SPOT_COLUMNS
    assert result.stats["maps_computed"] == 0
    assert result.stats["maps_skipped"] == len(TIME_WINDOWS) * 2


def test_result_does_not_depend_on_row_order():
    geo = grid()
    calls = calls_from_counts(planted_counts())
    first = hot_spots(calls, geo).table
    second = hot_spots(
        calls.sample(frac=1, random_state=1), geo.sample(frac=1, random_state=2)
    ).table
    pd.testing.assert_frame_equal(first, second)


def test_descriptions_name_every_window_and_class():
    texts = column_descriptions("call_hot_spots")
    assert all(f"`{window}`" in texts["time_window"] for window in TIME_WINDOWS)
    assert all(f"`{label}`" in texts["hot_spot"] for label in HOT_SPOT_CLASSES)
    assert f"`{ALL_CALLS}`" in texts["category"]


# --- the asset against the real warehouse -----------------------------------------------------


def test_asset_reads_the_calls_and_polygons_and_is_gated_by_the_facts(tmp_path):
    from safebeat_assets.definitions import build_definitions
    from safebeat_assets.defs.jobs import DAILY_JOB_NAME
    from safebeat_assets.settings import load_settings

    defs = build_definitions(load_settings({"SAFEBEAT_DATA_DIR": str(tmp_path)}))
    graph = defs.resolve_asset_graph()
    key = dg.AssetKey("call_hot_spots")
    node = graph.get(key)
    # The calls through their per-month counts (`hot_spot_call_counts`), never one by one.
    assert {k.to_user_string() for k in node.parent_keys} == {
        "hot_spot_call_counts",
        "dim_geo",
        "fact_911_calls",
    }
    assert node.group_name == "risk" and "pysal" in node.kinds
    assert not node.is_partitioned and node.automation_condition is not None
    checks = {k.name: graph.get_check_spec(k) for k in graph.asset_check_keys if k.asset_key == key}
    assert checks["every_hot_spot_map_covers_every_block_group"].blocking
    assert not checks["overall_hot_spot_map_computed"].blocking
    job = defs.resolve_job_def(DAILY_JOB_NAME)
    assert key in job.asset_layer.selected_asset_keys


def test_warehouse_audits_refuse_inconsistent_maps(warehouse):
    from safebeat_assets.storage.warehouse import WarehouseAuditError

    geo = grid(5)
    dim_geo = geo.assign(
        state_fp="48",
        county_fp="453",
        county_name="Travis",
        tract_ce=geo["geo_id"].str.slice(5, 11),
        block_group_ce=geo["geo_id"].str.slice(11, 12),
        name="Block Group",
        area_sq_km=1.0,
        water_sq_km=0.0,
    )[TABLES["dim_geo"].column_names]
    warehouse.replace_table(TABLES["dim_geo"], dim_geo)
    spec = TABLES["call_hot_spots"]
    good = hot_spots(calls_from_counts(planted_counts(5)), geo).table
    assert warehouse.replace_table(spec, good).inserted == len(good)
    hot = good.index[good["hot_spot"].str.startswith("Hot")][0]
    for column, value, audit in (
        ("hot_spot", "Cold spot 99%", "class matches confidence and the sign of the z-score"),
        ("gi_z", np.inf, "z-score is finite"),
        ("p_value", 1.5, "p-value lies in [0, 1]"),
        ("confidence", 80, "confidence is 0, 90, 95 or 99"),
    ):
        bad = good.copy()
        bad.loc[hot, column] = value
        with pytest.raises(WarehouseAuditError, match=f"audit '{re.escape(audit)}' failed for 1"):
            warehouse.replace_table(spec, bad)
    assert len(warehouse.read_table(spec)) == len(good)


def test_asset_writes_every_map_to_the_warehouse(local_settings, warehouse_url):
    result = materialize_subset(local_settings, "*call_hot_spots")
    assert result.success, [e.message for e in result.all_events if e.is_failure]
    meta = result.asset_materializations_for_node("call_hot_spots")[0].metadata
    warehouse = Warehouse(warehouse_url, local_settings.warehouse_schema)
    table = warehouse.read_table(TABLES["call_hot_spots"])
    block_groups = warehouse.fetch_one("SELECT count(*) FROM {g}", g="dim_geo")[0]
    maps = meta["maps_computed"].value
    assert maps > 0 and len(table) == maps * block_groups == meta["dagster/row_count"].value
    assert isinstance(meta["dagster/column_schema"].value, dg.TableSchema)
    categories = table.loc[table["category"] != ALL_CALLS, "category"].nunique()
    skipped = meta["maps_skipped"].value
    assert maps + skipped >= len(TIME_WINDOWS) * (categories + 1)
    assert len(meta["skipped_maps"].value) == skipped
    assert set(table["hot_spot"]) <= set(HOT_SPOT_CLASSES)
    assert np.isfinite(table["gi_z"]).all() and table["p_value"].between(0, 1).all()
    # The overall map holds every located call of the lake's enriched calls.
    enriched = lake_frame(local_settings, "cleaned-data", "enriched_911_calls")
    overall = table[(table["time_window"] == ALL_DAY) & (table["category"] == ALL_CALLS)]
    assert (
        overall["calls"].sum() == enriched["dim_geo_id"].notna().sum() == meta["calls_mapped"].value
    )
    hot = meta["overall_hot_spots"].value
    assert hot == overall["hot_spot"].str.startswith("Hot").sum() > 0
    assert "| geo_id" in meta["top_hot_spots"].value
    checks = check_results(result)
    assert checks["every_hot_spot_map_covers_every_block_group"] is True
    assert checks["overall_hot_spot_map_computed"] is True

    # The same inputs again: the same rows. The table is replaced wholesale (every run
    # recomputes every score), so it is rewritten whole rather than diffed.
    before = warehouse.read_table(TABLES["call_hot_spots"])
    again = materialize_subset(local_settings, "call_hot_spots")
    assert again.success
    meta = again.asset_materializations_for_node("call_hot_spots")[0].metadata
    assert meta["rows_inserted"].value == meta["rows_deleted"].value == len(before)
    assert meta["rows_updated"].value == 0
    key = ["time_window", "category", "geo_id"]
    after = warehouse.read_table(TABLES["call_hot_spots"])
    pd.testing.assert_frame_equal(
        after.sort_values(key).reset_index(drop=True),
        before.sort_values(key).reset_index(drop=True),
    )

    # A block group missing from one map fails the blocking coverage check.
    with warehouse.connect() as conn, conn.cursor() as cur:
        hot = warehouse.table("call_hot_spots").as_string(cur)
        cur.execute(
            f"DELETE FROM {hot} WHERE (time_window, category, geo_id) = "
            f"(SELECT time_window, category, geo_id FROM {hot} LIMIT 1)"
        )
        conn.commit()
    key = dg.AssetCheckKey(
        dg.AssetKey("call_hot_spots"), "every_hot_spot_map_covers_every_block_group"
    )
    checked = materialize_subset(local_settings, dg.AssetSelection.checks(key))
    (evaluation,) = checked.get_asset_check_evaluations()
    assert not evaluation.passed
    assert evaluation.metadata["maps_not_covering_dim_geo_once"].value == 1
