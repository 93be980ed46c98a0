"""Two-group comparisons for the event-impact page: effect sizes, significance tests and a plain
sentence for each (no Streamlit, no Dagster).

Ordinal or continuous outcomes (response time, priority) use the Mann–Whitney U test with the
rank-biserial correlation as effect size; the incident mix uses a chi-square test of
independence with Cramér's V. At Austin scale (835K calls) almost any difference is
"significant", so the sentences lead with the size of the effect, not the p-value.

The dashboard aggregates in SQL, so the tests also take value counts: `mann_whitney_counts` is
exactly SciPy's asymptotic `mannwhitneyu` (tie-corrected variance, continuity correction)
computed from (value, count) pairs, so 835K response times never travel to pandas, and
`chi_square` is `scipy.stats.chi2_contingency(correction=False)`. Both need only
`scipy.special` (~0.1 s to import; `scipy.stats` takes ~0.6 s on a cold dashboard server, so
only `mann_whitney` on raw values imports it, when called).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import special

ALPHA = 0.05
# A chi-square cell expected below this is unreliable: such categories are pooled.
MIN_EXPECTED = 5.0
POOLED_LABEL = "Other (pooled rare)"
# |rank-biserial| thresholds (negligible < small < medium < large), the usual ones for r.
RANK_BISERIAL_STEPS = (0.1, 0.3, 0.5)
# Cohen's w thresholds; Cramér's V is scaled by sqrt(min(rows, columns) - 1).
COHEN_W_STEPS = (0.1, 0.3, 0.5)


@dataclass(frozen=True)
class Spread:
    """Median and interquartile range of one group."""

    n: int
    median: float | None
    q1: float | None
    q3: float | None

    @property
    def iqr(self) -> float | None:
        return None if self.q1 is None or self.q3 is None else self.q3 - self.q1


@dataclass(frozen=True)
class MannWhitney:
    """Mann–Whitney U of group A vs group B (two-sided). `rank_biserial` is in [-1, 1]:
    positive when A's values tend to be larger than B's (P(A > B) - P(A < B))."""

    n_a: int
    n_b: int
    u_a: float
    p_value: float
    rank_biserial: float

    @property
    def magnitude(self) -> str:
        return magnitude(abs(self.rank_biserial), RANK_BISERIAL_STEPS)

    @property
    def significant(self) -> bool:
        return self.p_value < ALPHA


@dataclass(frozen=True)
class ChiSquare:
    """Chi-square test of independence of group x category, with Cramér's V."""

    n: int
    chi2: float
    dof: int
    p_value: float
    cramers_v: float
    groups: int
    categories: int  # columns tested, after pooling
    pooled: tuple[str, ...]  # categories merged into POOLED_LABEL

    @property
    def magnitude(self) -> str:
        """Cohen's w = V·sqrt(min(groups, categories) − 1) against w's usual steps."""
        k = max(min(self.groups, self.categories) - 1, 1)
        return magnitude(self.cramers_v * math.sqrt(k), COHEN_W_STEPS)

    @property
    def significant(self) -> bool:
        return self.p_value < ALPHA


def magnitude(value: float, steps: Sequence[float]) -> str:
    small, medium, large = steps
    if value < small:
        return "negligible"
    if value < medium:
        return "small"
    if value < large:
        return "medium"
    return "large"


# --- Mann–Whitney ----------------------------------------------------------------------------
def rank_biserial(u_a: float, n_a: int, n_b: int) -> float:
    """2·U_A/(n_A·n_B) − 1: 0 for identical distributions, ±1 when every A is above/below B."""
    return 2.0 * u_a / (n_a * n_b) - 1.0


def mann_whitney(a: Sequence[float], b: Sequence[float]) -> MannWhitney | None:
    """SciPy's two-sided Mann–Whitney U on raw values; None when a group is empty."""
    from scipy import stats

    a = np.asarray(a, dtype="float64")
    b = np.asarray(b, dtype="float64")
    a, b = a[~np.isnan(a)], b[~np.isnan(b)]
    if not len(a) or not len(b):
        return None
    result = stats.mannwhitneyu(a, b, alternative="two-sided")
    u_a = float(result.statistic)
    return MannWhitney(
        len(a), len(b), u_a, float(result.pvalue), rank_biserial(u_a, len(a), len(b))
    )


def _counts(counts: pd.Series) -> pd.Series:
    """value -> count, without missing values or empty counts, summed per value."""
    counts = pd.Series(counts, dtype="float64")
    counts = counts[counts.index.notna() & (counts > 0)]
    return counts.groupby(level=0).sum().sort_index()


def mann_whitney_counts(a: pd.Series, b: pd.Series) -> MannWhitney | None:
    """Mann–Whitney U from value counts (index = value, values = how many): identical to
    `scipy.stats.mannwhitneyu(..., method="asymptotic")` on the expanded values."""
    a, b = _counts(a), _counts(b)
    n_a, n_b = float(a.sum()), float(b.sum())
    if not n_a or not n_b:
        return None
    table = pd.concat([a.rename("a"), b.rename("b")], axis=1).fillna(0.0).sort_index()
    ties = table["a"].to_numpy() + table["b"].to_numpy()
    below = np.cumsum(ties) - ties
    midranks = below + (ties + 1.0) / 2.0
    u_a = float(table["a"].to_numpy() @ midranks) - n_a * (n_a + 1.0) / 2.0
    n = n_a + n_b
    tie_term = float(((ties**3) - ties).sum())
    variance = n_a * n_b / 12.0 * ((n + 1.0) - tie_term / (n * (n - 1.0))) if n > 1 else 0.0
    if variance <= 0:  # every value equal: no evidence of a difference
        p_value = 1.0
    else:
        u_big = max(u_a, n_a * n_b - u_a)
        z = (u_big - n_a * n_b / 2.0 - 0.5) / math.sqrt(variance)
        p_value = float(min(1.0, 2.0 * special.ndtr(-z)))
    return MannWhitney(int(n_a), int(n_b), u_a, p_value, rank_biserial(u_a, n_a, n_b))


# --- spread ----------------------------------------------------------------------------------
def spread(values: Sequence[float]) -> Spread:
    values = np.asarray(values, dtype="float64")
    values = values[~np.isnan(values)]
    if not len(values):
        return Spread(0, None, None, None)
    q1, median, q3 = np.quantile(values, [0.25, 0.5, 0.75])
    return Spread(len(values), float(median), float(q1), float(q3))


def spread_counts(counts: pd.Series) -> Spread:
    """Median and quartiles from value counts, interpolated like `numpy.quantile` (and
    PostgreSQL's percentile_cont) on the expanded values."""
    counts = _counts(counts)
    n = int(counts.sum())
    if not n:
        return Spread(0, None, None, None)
    values = counts.index.to_numpy(dtype="float64")
    upto = np.cumsum(counts.to_numpy())

    def at(position: int) -> float:  # the value at 0-based sorted position
        return float(values[np.searchsorted(upto, position, side="right")])

    def quantile(q: float) -> float:
        h = (n - 1) * q
        low, high = math.floor(h), math.ceil(h)
        return at(low) + (h - low) * (at(high) - at(low))

    return Spread(n, quantile(0.5), quantile(0.25), quantile(0.75))


# --- category mix ----------------------------------------------------------------------------
def chi_square(table: pd.DataFrame) -> ChiSquare | None:
    """Independence of rows (groups) and columns (categories) in a count table. Categories whose
    expected count falls below MIN_EXPECTED in some group are pooled into one column. None when
    fewer than two groups or two categories have calls."""
    table = table.fillna(0).astype("float64")
    table = table.loc[table.sum(axis=1) > 0, table.sum(axis=0) > 0]
    if table.shape[0] < 2 or table.shape[1] < 2:
        return None
    n = table.to_numpy().sum()
    expected = np.outer(table.sum(axis=1), table.sum(axis=0)) / n
    rare = table.columns[(expected < MIN_EXPECTED).any(axis=0)]
    if len(rare) > 1:
        pooled = table[rare].sum(axis=1).rename(POOLED_LABEL)
        table = pd.concat([table.drop(columns=rare), pooled], axis=1)
    else:
        rare = rare[:0]
    if table.shape[1] < 2:
        return None
    observed = table.to_numpy()
    expected = np.outer(observed.sum(axis=1), observed.sum(axis=0)) / n
    chi2 = float(((observed - expected) ** 2 / expected).sum())
    dof = (observed.shape[0] - 1) * (observed.shape[1] - 1)
    p_value = float(special.chdtrc(dof, chi2))
    k = min(table.shape) - 1
    v = math.sqrt(chi2 / (n * k)) if k else 0.0
    return ChiSquare(
        n=int(n),
        chi2=float(chi2),
        dof=int(dof),
        p_value=float(p_value),
        cramers_v=float(v),
        groups=table.shape[0],
        categories=table.shape[1],
        pooled=tuple(str(c) for c in rare),
    )


def category_shares(table: pd.DataFrame, top_n: int) -> pd.DataFrame:
    """Long frame (group, category, calls, share) of each group's share of the top_n categories
    (by total calls), the rest as "Other"; shares are of the group's calls."""
    table = table.fillna(0)
    totals = table.sum(axis=0).sort_values(ascending=False, kind="mergesort")
    top = list(totals.index[:top_n])
    rest = [c for c in table.columns if c not in top]
    shown = table[top].copy()
    if rest:
        shown["Other"] = table[rest].sum(axis=1)
    group_totals = table.sum(axis=1).replace(0, np.nan)
    long = shown.stack().rename("calls").reset_index()
    long.columns = ["group", "category", "calls"]
    long["share"] = long["calls"] / long["group"].map(group_totals)
    return long


def largest_share_gap(table: pd.DataFrame, a: str, b: str) -> tuple[str, float, float] | None:
    """The category whose share is most over-represented in group a relative to b."""
    if a not in table.index or b not in table.index:
        return None
    shares = table.div(table.sum(axis=1).replace(0, np.nan), axis=0).fillna(0)
    gap = shares.loc[a] - shares.loc[b]
    if gap.empty or gap.max() <= 0:
        return None
    category = gap.idxmax()
    return str(category), float(shares.loc[a, category]), float(shares.loc[b, category])


# --- words -----------------------------------------------------------------------------------
def format_p(p: float | None) -> str:
    if p is None or np.isnan(p):
        return "p = –"
    if p < 0.001:
        return "p < 0.001"
    return f"p = {p:.3f}"


def _verdict(significant: bool, p: float) -> str:
    if significant:
        return f"statistically significant ({format_p(p)})"
    return f"not statistically significant ({format_p(p)})"


def shift_sentence(
    result: MannWhitney,
    a: str,
    b: str,
    a_spread: Spread,
    b_spread: Spread,
    measure: str,
    larger_means: str,
    smaller_means: str,
    fmt: Callable[[float | None], str],
) -> str:
    """E.g. "Festival calls: median response 9.1 min vs 8.3 min for other calls — festival
    calls tend to get slower responses, a small effect (r = 0.14), statistically significant
    (p < 0.001)."""
    head = f"{a.capitalize()} calls: median {measure} {fmt(a_spread.median)} vs "
    head += f"{fmt(b_spread.median)} for {b} calls"
    r = result.rank_biserial
    if result.magnitude == "negligible":
        body = f"practically no difference (r = {r:+.2f})"
    else:
        tendency = larger_means if r > 0 else smaller_means
        body = f"{a} calls tend to get {tendency}, a {result.magnitude} effect (r = {r:+.2f})"
    return f"{head} — {body}, {_verdict(result.significant, result.p_value)}."


def mix_sentence(result: ChiSquare, a: str, b: str, gap: tuple[str, float, float] | None) -> str:
    """E.g. "The incident mix of festival calls differs from other calls: a small effect
    (Cramér's V = 0.12), statistically significant (p < 0.001); most over-represented: Theft
    (18% vs 9%)."""
    if result.magnitude == "negligible":
        head = f"The incident mix of {a} calls is practically the same as of {b} calls"
    else:
        head = f"The incident mix of {a} calls differs from {b} calls: a {result.magnitude} effect"
    text = f"{head} (Cramér's V = {result.cramers_v:.2f}), {_verdict(result.significant, result.p_value)}"
    if gap is not None:
        category, share_a, share_b = gap
        text += (
            f"; most over-represented among {a} calls: {category} ({share_a:.0%} vs {share_b:.0%})"
        )
    return text + "."
