"""Association rules over 911 calls.

One transaction per call, built from a handful of categorical items (time of day, weekend,
priority, incident family, festival/alcohol context). Frequent itemsets are mined on ALL calls.
With ~55 items and at most six per call, 835K transactions hold only a few thousand distinct
ones: apriori runs on those, each weighted by how often it occurs (same itemsets and supports
as mlxtend's apriori on every row, which is several times slower and whose dense mode tried to
allocate 23 GiB at Austin scale); mlxtend then derives the rules.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

RULE_COLUMNS = [
    "antecedents",
    "consequents",
    "antecedent_len",
    "consequent_len",
    "support",
    "confidence",
    "lift",
    "leverage",
    "conviction",
    "zhangs_metric",
    "jaccard",
    "certainty",
    "kulczynski",
    "is_incident_rule",
    "rank",
]
METRIC_COLUMNS = RULE_COLUMNS[4:13]

# A rule is kept when its itemset occurs in at least MIN_SUPPORT of the calls, its consequent
# follows its antecedent in at least MIN_CONFIDENCE of them, and it beats chance by MIN_LIFT.
MIN_SUPPORT = 0.01
MIN_CONFIDENCE = 0.3
MIN_LIFT = 1.2
# The pipeline we replace retried once at this support when nothing was frequent at 1 %.
RETRY_MIN_SUPPORT = 0.005
# A transaction needs an antecedent and a consequent to say anything.
MIN_ITEMS_PER_TRANSACTION = 2
TOP_RULES_IN_STATS = 5
# A call's items by kind (the item, or None when unknown) and its event flags.
ITEM_COLUMNS = ("time", "week", "priority", "incident")
FLAG_COLUMNS = ("festival", "alcohol")
TRANSACTION_COLUMNS = (*ITEM_COLUMNS, *FLAG_COLUMNS, "calls")


@dataclass
class RulesResult:
    rules: pd.DataFrame
    stats: dict = field(default_factory=dict)


def time_of_day_item(hour: pd.Series) -> pd.Series:
    """The old offline script's bins (the old DAG's dropped hour 0): Night <6, Morning <12,
    Afternoon <18."""
    h = pd.to_numeric(hour, errors="coerce")
    labels = np.select(
        [h < 6, h < 12, h < 18, h < 24],
        ["Time_Night", "Time_Morning", "Time_Afternoon", "Time_Evening"],
        default="",
    )
    return pd.Series(labels, index=hour.index, dtype="object").where((h >= 0) & (h < 24))


def incident_item(final_category: pd.Series) -> pd.Series:
    """`Incident_<first word, ≤ 20 chars>`, computed once per distinct category (~40 of them)."""
    cat = final_category.astype("object").where(final_category.notna())
    uniques = pd.Series(cat.dropna().unique(), dtype="object")
    first_words = uniques.astype(str).str.strip().str.split().str[0].str[:20]
    mapping = {
        u: f"Incident_{w}" for u, w in zip(uniques, first_words, strict=True) if isinstance(w, str)
    }
    return cat.map(mapping)


def _utc_naive(ts: pd.Series) -> pd.Series:
    """Comparable instants, whatever tz the frame came back from storage with."""
    ts = pd.to_datetime(ts)
    if getattr(ts.dt, "tz", None) is not None:
        return ts.dt.tz_convert("UTC").dt.tz_localize(None)
    return ts


def festival_flags(calls: pd.DataFrame, links: pd.DataFrame | None) -> pd.DataFrame:
    """Per call: linked to any event, and linked to an event that serves alcohol."""
    out = pd.DataFrame(
        {"festival": False, "alcohol": False}, index=calls.index, columns=["festival", "alcohol"]
    )
    if links is None or links.empty:
        return out
    keys = ["incident_number"]
    if "response_datetime" in links.columns and "response_datetime" in calls.columns:
        keys.append("response_datetime")
    link_keys = links[keys].copy()
    call_keys = calls[keys].copy()
    if "response_datetime" in keys:
        link_keys["response_datetime"] = _utc_naive(link_keys["response_datetime"])
        call_keys["response_datetime"] = _utc_naive(call_keys["response_datetime"])
    alcohol = links.get("event_has_alcohol", pd.Series(False, index=links.index))
    link_keys["alcohol"] = alcohol.astype("boolean").fillna(False).astype(bool).to_numpy()
    per_call = link_keys.groupby(keys, sort=False)["alcohol"].any().rename("alcohol").reset_index()
    per_call["festival"] = True
    merged = call_keys.merge(per_call, on=keys, how="left")
    out["festival"] = merged["festival"].notna().to_numpy()
    out["alcohol"] = merged["alcohol"].astype("boolean").fillna(False).astype(bool).to_numpy()
    return out


def call_items(calls: pd.DataFrame, links: pd.DataFrame | None = None) -> pd.DataFrame:
    """Each call's items: one column per item kind (`ITEM_COLUMNS`, the item or None) and the
    festival / alcohol-event flags (`FLAG_COLUMNS`)."""
    weekend = calls["is_weekend"].astype("boolean")
    priority = pd.to_numeric(calls["priority_numeric"], errors="coerce").astype("Int64")
    items = pd.DataFrame(
        {
            "time": time_of_day_item(calls["response_hour"]),
            "week": pd.Series(
                np.where(weekend.fillna(False), "Weekend", "Weekday"), index=calls.index
            ).where(weekend.notna()),
            "priority": ("Priority_" + priority.astype("string")).astype("object"),
            "incident": incident_item(calls["final_problem_category"]),
        },
        index=calls.index,
    )
    flags = festival_flags(calls, links)
    items["festival"] = flags["festival"].to_numpy()
    items["alcohol"] = flags["alcohol"].to_numpy()
    return items


def _onehot(items: pd.DataFrame) -> pd.DataFrame:
    """One-hot boolean frame of `call_items` rows (all of them), columns unsorted."""
    categorical_items = items[list(ITEM_COLUMNS)].astype(object)
    categorical_items = categorical_items.where(categorical_items.notna(), None)
    # get_dummies ignores missing values, so unknown priority simply contributes no item.
    onehot = pd.get_dummies(categorical_items, prefix="", prefix_sep="", dtype=bool)
    festival, alcohol = (items[c].astype(bool) for c in FLAG_COLUMNS)
    if festival.any():
        onehot["Festival_Related"] = festival.to_numpy()
    if alcohol.any():
        onehot["Alcohol_Event"] = alcohol.to_numpy()
    return onehot


def build_transactions(calls: pd.DataFrame, links: pd.DataFrame | None = None) -> pd.DataFrame:
    """One-hot boolean frame (rows = calls with ≥ 2 items, columns = items), built vectorised."""
    onehot = _onehot(call_items(calls, links))
    keep = onehot.sum(axis=1) >= MIN_ITEMS_PER_TRANSACTION
    onehot = onehot.loc[keep]
    return onehot.reindex(sorted(onehot.columns), axis=1).astype(bool)


def _join_items(itemsets: pd.Series) -> pd.Series:
    return itemsets.map(lambda s: ", ".join(sorted(s)))


def empty_rules_frame() -> pd.DataFrame:
    frame = pd.DataFrame({c: pd.Series(dtype="float64") for c in RULE_COLUMNS})
    frame["antecedents"] = frame["antecedents"].astype("object")
    frame["consequents"] = frame["consequents"].astype("object")
    for c in ("antecedent_len", "consequent_len", "rank"):
        frame[c] = frame[c].astype("int64")
    frame["is_incident_rule"] = frame["is_incident_rule"].astype(bool)
    return frame


def _format_rules(raw: pd.DataFrame, min_lift: float) -> pd.DataFrame:
    raw = raw.loc[raw["lift"] >= min_lift]
    if raw.empty:
        return empty_rules_frame()
    out = pd.DataFrame(
        {
            "antecedents": _join_items(raw["antecedents"]),
            "consequents": _join_items(raw["consequents"]),
            "antecedent_len": raw["antecedents"].map(len).astype("int64"),
            "consequent_len": raw["consequents"].map(len).astype("int64"),
        }
    )
    for metric in METRIC_COLUMNS:
        out[metric] = raw[metric].astype("float64")
    # Conviction is inf for confidence == 1; inf does not survive Parquet/JSON/Postgres nicely.
    out["conviction"] = out["conviction"].replace([np.inf, -np.inf], np.nan)
    out["is_incident_rule"] = raw["consequents"].map(
        lambda s: any(item.startswith("Incident_") for item in s)
    )
    # Ties broken on the rule text so the ranking is deterministic run to run.
    out = out.sort_values(
        ["lift", "confidence", "support", "antecedents", "consequents"],
        ascending=[False, False, False, True, True],
        kind="mergesort",
    ).reset_index(drop=True)
    out["rank"] = np.arange(1, len(out) + 1, dtype="int64")
    return out[RULE_COLUMNS]


def row_keys(matrix: np.ndarray) -> np.ndarray:
    """One key per row of a boolean matrix (with at least one row and column), equal for equal
    rows: its bits packed into whole 64-bit words, so up to 64 items a row is one integer,
    which sorts fast (`np.unique(matrix, axis=0)` sorts rows as byte strings, one byte per item:
    5 s for 387,529 rows of 51 items, where the integers take 0.05 s)."""
    packed = np.packbits(matrix, axis=1)
    width = -(-packed.shape[1] // 8) * 8
    words = np.zeros((len(packed), width), dtype=np.uint8)
    words[:, : packed.shape[1]] = packed
    keys = words.view(np.uint64) if width == 8 else words.view(np.dtype((np.void, width)))
    return keys.ravel()


def distinct_rows(matrix: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(the distinct rows of a boolean matrix, in key order; which of them each row is)."""
    if not len(matrix):
        return matrix, np.zeros(0, dtype=np.int64)
    _, first, inverse = np.unique(row_keys(matrix), return_index=True, return_inverse=True)
    return matrix[first], inverse.ravel()


def distinct_transactions(onehot: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """(distinct rows of the boolean matrix, how many times each occurs)."""
    rows, inverse = distinct_rows(onehot.to_numpy(dtype=bool))
    return rows, np.bincount(inverse, minlength=len(rows)).astype(np.int64)


def _next_level(frequent: list[tuple[int, ...]]) -> list[tuple[int, ...]]:
    """Apriori candidates: join itemsets sharing all but their last item, keep a candidate
    only when every one of its subsets one item smaller is frequent."""
    known = set(frequent)
    candidates = []
    for n, first in enumerate(frequent):
        for second in frequent[n + 1 :]:
            if first[:-1] != second[:-1]:
                continue
            joined = first + second[-1:]
            if all(joined[:k] + joined[k + 1 :] in known for k in range(len(joined))):
                candidates.append(joined)
    return candidates


def weighted_apriori(
    rows: np.ndarray, weights: np.ndarray, items: list[str], min_support: float
) -> pd.DataFrame:
    """Apriori over weighted transactions: every itemset whose weighted share of transactions
    is at least `min_support`, as mlxtend's `apriori(..., use_colnames=True)` frame
    (`support`, `itemsets`)."""
    total = weights.sum()
    supports: list[float] = []
    itemsets: list[frozenset] = []
    level = [(i,) for i in range(rows.shape[1])] if total else []
    while level:
        present = rows[:, np.array(level, dtype=np.int64)].all(axis=2)  # rows x candidates
        support = weights @ present / total
        frequent = [c for c, s in zip(level, support, strict=True) if s >= min_support]
        supports += [float(s) for s in support if s >= min_support]
        itemsets += [frozenset(items[i] for i in c) for c in frequent]
        level = _next_level(frequent)
    return pd.DataFrame(
        {"support": pd.Series(supports, dtype=float), "itemsets": pd.Series(itemsets, dtype=object)}
    )


def _top_rules(rules: pd.DataFrame) -> list[dict]:
    top = rules.head(TOP_RULES_IN_STATS)
    return [
        {
            "antecedents": r.antecedents,
            "consequents": r.consequents,
            "support": float(r.support),
            "confidence": float(r.confidence),
            "lift": float(r.lift),
        }
        for r in top.itertuples(index=False)
    ]


def mine_association_rules(
    calls: pd.DataFrame,
    links: pd.DataFrame | None = None,
    min_support: float = MIN_SUPPORT,
    min_confidence: float = MIN_CONFIDENCE,
    min_lift: float = MIN_LIFT,
) -> RulesResult:
    """Mine rules on every call; returns the contract `association_rules` frame plus stats.

    The all-calls reference of `mine_rules_from_transactions` (the asset's path), which gives
    the same rules from the per-month `rule_transactions` aggregates."""
    onehot = build_transactions(calls, links)
    rows, weights = distinct_transactions(onehot)
    return _mine(rows, weights, list(onehot.columns), min_support, min_confidence, min_lift)


def _mine(
    rows: np.ndarray,
    weights: np.ndarray,
    items: list[str],
    min_support: float,
    min_confidence: float,
    min_lift: float,
) -> RulesResult:
    """Rules from the distinct transactions (`rows`, boolean, columns = sorted `items`) and how
    many calls each stands for."""
    # imported here: mlxtend (with joblib) costs ~35 ms whenever the Dagster definitions load.
    with warnings.catch_warnings():
        # mlxtend's frequent_patterns runs `simplefilter("always", DeprecationWarning)` when
        # imported, which would override every warning filter of the process (ours and Python's).
        from mlxtend.frequent_patterns import association_rules

    transactions = int(weights.sum())
    support_used = min_support
    itemsets = weighted_apriori(rows, weights, items, support_used)
    if itemsets.empty and min_support > RETRY_MIN_SUPPORT:
        support_used = RETRY_MIN_SUPPORT
        itemsets = weighted_apriori(rows, weights, items, support_used)

    rules = empty_rules_frame()
    if not itemsets.empty and (itemsets["itemsets"].map(len) >= 2).any():
        with np.errstate(divide="ignore", invalid="ignore"):
            raw = association_rules(
                itemsets,
                num_itemsets=transactions,
                metric="confidence",
                min_threshold=min_confidence,
            )
        rules = _format_rules(raw, min_lift)

    stats = {
        "transactions": transactions,
        "items": int(len(items)),
        "distinct_transactions": int(len(rows)),
        "min_support_used": float(support_used),
        "min_confidence": float(min_confidence),
        "min_lift": float(min_lift),
        "frequent_itemsets": int(len(itemsets)),
        "rules": int(len(rules)),
        "incident_rules": int(rules["is_incident_rule"].sum()),
        "top_rules": _top_rules(rules),
    }
    return RulesResult(rules=rules, stats=stats)


# --- per-month aggregate: the weighted transaction table ----------------------------------------


def rule_transactions(
    calls: pd.DataFrame, links: pd.DataFrame | None = None, by: pd.Series | None = None
) -> pd.DataFrame:
    """The weighted transaction table (asset `rule_transactions`): one row per distinct item
    combination of `call_items` (per value of `by`, e.g. the month, when given: column `by`)
    with how many calls have it. Every call is counted, those with fewer than 2 items too
    (the pre-check counts all calls; mining leaves them out)."""
    from .counting import count_rows

    items = call_items(calls, links)
    for column in ITEM_COLUMNS:
        items[column] = items[column].astype(object).where(items[column].notna(), None)
    if by is not None:
        items.insert(0, "by", by.to_numpy())
    return count_rows(items)


def mine_rules_from_transactions(
    transactions: pd.DataFrame,
    min_support: float = MIN_SUPPORT,
    min_confidence: float = MIN_CONFIDENCE,
    min_lift: float = MIN_LIFT,
) -> RulesResult:
    """`mine_association_rules` from weighted transaction tables (any number of months
    concatenated): the same itemsets, supports (exact integer counts over the same total) and
    rules, without reading a single call."""
    table = transactions[list(TRANSACTION_COLUMNS)]
    onehot = _onehot(table)
    onehot = onehot.reindex(sorted(onehot.columns), axis=1).astype(bool)
    weights = table["calls"].to_numpy(dtype=np.int64)
    keep = (onehot.sum(axis=1) >= MIN_ITEMS_PER_TRANSACTION).to_numpy() & (weights > 0)
    onehot, weights = onehot.loc[keep], weights[keep]
    # The same combination from different months is one distinct transaction.
    rows, inverse = distinct_rows(onehot.to_numpy(dtype=bool))
    summed = np.bincount(inverse, weights=weights, minlength=len(rows))
    return _mine(
        rows,
        np.rint(summed).astype(np.int64),
        list(onehot.columns),
        min_support,
        min_confidence,
        min_lift,
    )
