import json
import time

import numpy as np
import pandas as pd
import pytest

from safebeat_assets.analytics import rules as rules_module
from safebeat_assets.analytics.rules import (
    RULE_COLUMNS,
    build_transactions,
    incident_item,
    mine_association_rules,
    row_keys,
)

CATEGORIES = ["Theft", "Disturbance", "Alarm", "Welfare Check", "Traffic Stop"]


def make_calls(n: int, seed: int = 0, structured: bool = True) -> pd.DataFrame:
    """Independent random calls; with `structured`, 20 % are morning P3 auto thefts.

    The planted pattern gives Incident_Auto ⇒ Priority_3 / Time_Morning a lift far above 1.2,
    while every other item is drawn independently (lift ≈ 1).
    """
    rng = np.random.default_rng(seed)
    hour = rng.integers(0, 24, n)
    dow = rng.integers(0, 7, n)
    priority = rng.choice([0, 1, 2, 3], n).astype(object)
    priority[rng.random(n) < 0.05] = None
    category = rng.choice(CATEGORIES, n).astype(object)
    if structured:
        auto = rng.random(n) < 0.2
        category[auto] = "Auto Theft"
        priority[auto] = 3
        hour[auto] = rng.integers(6, 12, auto.sum())
    start = pd.Timestamp("2024-01-01", tz="America/Chicago")
    return pd.DataFrame(
        {
            "incident_number": np.arange(n, dtype="int64") + 100_000_000,
            "response_datetime": start + pd.to_timedelta(np.arange(n), unit="min"),
            "response_hour": hour.astype("int64"),
            "day_of_week_index": dow.astype("int64"),
            "is_weekend": dow >= 5,
            "priority_numeric": pd.array(priority, dtype="Int64"),
            "final_problem_category": category,
        }
    )


def test_output_matches_contract_and_is_ranked_by_lift():
    result = mine_association_rules(make_calls(5_000))
    rules = result.rules
    assert list(rules.columns) == RULE_COLUMNS
    assert len(rules) > 0
    assert rules["rank"].tolist() == list(range(1, len(rules) + 1))
    assert rules["lift"].is_monotonic_decreasing
    assert (rules["lift"] >= 1.2).all() and (rules["confidence"] >= 0.3).all()
    assert not np.isinf(rules["conviction"]).any()
    assert rules["antecedent_len"].dtype == "int64"
    # items inside a rule side are sorted and comma-joined
    for side in rules["antecedents"]:
        items = side.split(", ")
        assert items == sorted(items)


def test_planted_rule_is_found_with_high_lift():
    result = mine_association_rules(make_calls(5_000))
    rules = result.rules.set_index(["antecedents", "consequents"])
    lift = rules.loc[("Incident_Auto", "Priority_3"), "lift"]
    assert lift > 2.0  # P(P3 | auto) = 1 vs P(P3) ≈ 0.4
    reverse = rules.loc[("Priority_3, Time_Morning", "Incident_Auto")]
    assert reverse["is_incident_rule"]
    assert result.stats["incident_rules"] >= 1
    json.dumps(result.stats)  # stats go straight into Dagster metadata
    top = result.stats["top_rules"]
    assert len(top) == 5 and top[0]["lift"] == result.rules["lift"].iloc[0]


def test_no_rules_when_items_are_independent():
    result = mine_association_rules(make_calls(20_000, structured=False))
    assert result.rules.empty
    assert list(result.rules.columns) == RULE_COLUMNS
    assert result.stats["rules"] == 0
    assert result.stats["frequent_itemsets"] > 0  # items are frequent, just not associated


@pytest.mark.parametrize("min_support", [0.01, 0.05, 0.2])
def test_weighted_apriori_equals_mlxtend_apriori_on_every_row(min_support):
    from mlxtend.frequent_patterns import apriori

    onehot = build_transactions(make_calls(20_000, seed=5))
    expected = apriori(onehot, min_support=min_support, use_colnames=True)
    rows, weights = rules_module.distinct_transactions(onehot)
    assert weights.sum() == len(onehot) and len(rows) < len(onehot) / 10
    got = rules_module.weighted_apriori(rows, weights, list(onehot.columns), min_support)
    assert dict(zip(got["itemsets"], got["support"], strict=True)) == pytest.approx(
        dict(zip(expected["itemsets"], expected["support"], strict=True))
    )


def test_all_calls_are_mined_quickly():
    calls = make_calls(200_000, seed=3)
    started = time.perf_counter()
    result = mine_association_rules(calls)
    elapsed = time.perf_counter() - started
    assert result.stats["transactions"] == 200_000  # every call, no LIMIT sample
    assert result.stats["distinct_transactions"] < 5_000
    assert elapsed < 15


def test_retries_at_half_percent_when_nothing_is_frequent():
    result = mine_association_rules(make_calls(2_000), min_support=0.99)
    assert result.stats["min_support_used"] == 0.005
    assert result.stats["frequent_itemsets"] > 0


def test_items_and_short_transactions():
    calls = make_calls(4, structured=False)
    calls["response_hour"] = pd.array([0, 5, 12, 23], dtype="Int64")
    calls["is_weekend"] = pd.array([True, False, None, False], dtype="boolean")
    calls["priority_numeric"] = pd.array([None, 0, None, None], dtype="Int64")
    calls["final_problem_category"] = [None, "Theft", None, "Supercalifragilisticexpialidocious X"]
    onehot = build_transactions(calls)
    # row 2 has only Time_Afternoon (weekend unknown, no priority, no category): dropped
    assert len(onehot) == 3
    assert onehot.loc[0, "Time_Night"] and onehot.loc[0, "Weekend"]
    assert onehot.loc[1, "Priority_0"] and onehot.loc[1, "Incident_Theft"]
    assert onehot.loc[3, "Time_Evening"]
    assert onehot.loc[3, "Incident_Supercalifragilistic"]  # first word cut to 20 chars
    assert not any(c.startswith("Priority_<") or c == "Priority_" for c in onehot.columns)
    assert onehot.dtypes.eq(bool).all()


def test_incident_item_uses_first_word():
    s = pd.Series(["Auto Theft", "  Burglary  Residence", None, "Unknown"])
    assert incident_item(s).tolist()[:2] == ["Incident_Auto", "Incident_Burglary"]
    assert pd.isna(incident_item(s).iloc[2])


def test_festival_and_alcohol_items_come_from_links():
    calls = make_calls(6, structured=False)
    links = pd.DataFrame(
        {
            "incident_number": calls["incident_number"].iloc[[0, 0, 1]].to_numpy(),
            # stored in UTC: the match must still hit the America/Chicago call timestamps
            "response_datetime": calls["response_datetime"]
            .iloc[[0, 0, 1]]
            .dt.tz_convert("UTC")
            .to_numpy(),
            "event_id": [1, 2, 1],
            "event_has_alcohol": [False, True, False],
        }
    )
    onehot = build_transactions(calls, links)
    assert onehot["Festival_Related"].tolist() == [True, True, False, False, False, False]
    assert onehot["Alcohol_Event"].tolist() == [True, False, False, False, False, False]


@pytest.mark.parametrize("links", [None, pd.DataFrame(columns=["incident_number", "event_id"])])
def test_no_links_means_no_festival_items(links):
    onehot = build_transactions(make_calls(50), links)
    assert "Festival_Related" not in onehot.columns


@pytest.mark.parametrize("items", [1, 8, 51, 64, 65, 130])
def test_row_keys_are_equal_exactly_for_equal_rows(items):
    rng = np.random.default_rng(items)
    distinct = rng.random((40, items)) < 0.3
    matrix = distinct[rng.integers(0, len(distinct), 2_000)]
    keys = row_keys(matrix)
    assert keys.shape == (len(matrix),)
    # Grouping by key is grouping by row: the same partition as numpy's row-wise unique.
    _, by_key = np.unique(keys, return_inverse=True)
    rows, by_row = np.unique(matrix, axis=0, return_inverse=True)
    pairs = set(zip(by_key.ravel().tolist(), by_row.ravel().tolist(), strict=True))
    assert len(pairs) == len(rows) == len(np.unique(by_key))
