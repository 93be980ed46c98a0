import numpy as np
import pandas as pd
import pytest
from scipy import stats

from safebeat_assets.analytics.comparisons import (
    POOLED_LABEL,
    ChiSquare,
    MannWhitney,
    Spread,
    category_shares,
    chi_square,
    format_p,
    largest_share_gap,
    mann_whitney,
    mann_whitney_counts,
    mix_sentence,
    rank_biserial,
    shift_sentence,
    spread,
    spread_counts,
)


def counts_of(values) -> pd.Series:
    return pd.Series(values).value_counts()


# --- Mann–Whitney ----------------------------------------------------------------------------
def test_identical_groups_have_no_effect():
    rng = np.random.default_rng(1)
    values = rng.normal(600, 120, 2_000)
    result = mann_whitney(values, values.copy())
    assert result.rank_biserial == pytest.approx(0.0, abs=1e-12)
    assert result.p_value > 0.9
    assert not result.significant
    assert result.magnitude == "negligible"


def test_same_distribution_is_not_significant():
    rng = np.random.default_rng(2)
    result = mann_whitney(rng.exponential(500, 3_000), rng.exponential(500, 3_000))
    assert abs(result.rank_biserial) < 0.05
    assert result.p_value > 0.01


def test_shifted_groups_are_significant_with_the_sign_of_the_shift():
    rng = np.random.default_rng(3)
    a = rng.normal(1.0, 1.0, 1_000)
    b = rng.normal(0.0, 1.0, 1_000)
    result = mann_whitney(a, b)
    assert result.significant and result.p_value < 1e-50
    # For two unit normals one SD apart, P(A > B) = Φ(1/√2) ≈ 0.760, so r ≈ 0.52.
    assert result.rank_biserial == pytest.approx(2 * stats.norm.cdf(1 / np.sqrt(2)) - 1, abs=0.04)
    assert result.magnitude == "large"
    assert mann_whitney(b, a).rank_biserial == pytest.approx(-result.rank_biserial)


def test_complete_separation_gives_rank_biserial_one():
    result = mann_whitney([10, 11, 12, 13], [1, 2, 3])
    assert result.rank_biserial == pytest.approx(1.0)
    assert result.u_a == 12


def test_rank_biserial_bounds():
    assert rank_biserial(0, 4, 5) == -1.0
    assert rank_biserial(20, 4, 5) == 1.0
    assert rank_biserial(10, 4, 5) == 0.0


def test_empty_group_gives_none():
    assert mann_whitney([], [1, 2]) is None
    assert mann_whitney_counts(pd.Series(dtype=float), counts_of([1, 2])) is None


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_counts_version_equals_scipy_asymptotic_with_ties(seed):
    rng = np.random.default_rng(seed)
    # Priorities 0-3 (heavy ties) and integer response times (some ties).
    for a, b in [
        (rng.integers(0, 4, 700), rng.integers(0, 4, 5_000)),
        (rng.poisson(600, 400), rng.poisson(620, 3_000)),
    ]:
        expected = stats.mannwhitneyu(a, b, alternative="two-sided", method="asymptotic")
        got = mann_whitney_counts(counts_of(a), counts_of(b))
        assert got.n_a == len(a) and got.n_b == len(b)
        assert got.u_a == pytest.approx(expected.statistic)
        assert got.p_value == pytest.approx(expected.pvalue, rel=1e-9, abs=1e-300)


def test_counts_version_all_values_equal():
    result = mann_whitney_counts(pd.Series({2: 10}), pd.Series({2: 30}))
    assert result.p_value == 1.0
    assert result.rank_biserial == 0.0


def test_counts_ignore_zero_counts_and_missing_values():
    a = pd.Series({1: 3, 2: 0, np.nan: 5})
    b = pd.Series({1: 1, 3: 2})
    result = mann_whitney_counts(a, b)
    assert (result.n_a, result.n_b) == (3, 3)


# --- spread ----------------------------------------------------------------------------------
def test_spread_counts_matches_numpy_quantiles():
    rng = np.random.default_rng(4)
    values = rng.integers(5, 5_000, 1_001)
    expected = np.quantile(values, [0.25, 0.5, 0.75])
    got = spread_counts(counts_of(values))
    assert got.n == len(values)
    assert (got.q1, got.median, got.q3) == pytest.approx(tuple(expected))
    assert got == spread(values)


def test_spread_even_count_interpolates():
    got = spread_counts(pd.Series({1: 1, 2: 1, 3: 1, 4: 1}))
    assert got.median == 2.5
    assert got.iqr == pytest.approx(1.5)


def test_spread_of_nothing():
    assert spread_counts(pd.Series(dtype=float)) == Spread(0, None, None, None)
    assert spread([]).iqr is None


# --- chi-square ------------------------------------------------------------------------------
def test_same_mix_has_cramers_v_near_zero():
    table = pd.DataFrame(
        {"Theft": [300, 3_000], "Disturbance": [200, 2_000], "Alarms": [100, 1_000]},
        index=["event", "other"],
    )
    result = chi_square(table)
    assert result.chi2 == pytest.approx(0.0, abs=1e-9)
    assert result.cramers_v == pytest.approx(0.0, abs=1e-6)
    assert result.p_value == pytest.approx(1.0)
    assert result.magnitude == "negligible"
    assert result.n == 6_600 and result.dof == 2


def test_different_mix_is_significant_with_known_cramers_v():
    # 2x2 with every group entirely in its own category: V = 1.
    table = pd.DataFrame({"A": [100, 0], "B": [0, 100]}, index=["x", "y"])
    result = chi_square(table)
    assert result.cramers_v == pytest.approx(1.0)
    assert result.significant
    assert result.magnitude == "large"


def test_cramers_v_matches_scipy_association():
    table = pd.DataFrame({"A": [60, 40], "B": [30, 70], "C": [50, 50]}, index=["x", "y"])
    result = chi_square(table)
    expected = stats.contingency.association(table.to_numpy(), method="cramer")
    assert result.cramers_v == pytest.approx(expected)
    assert isinstance(result, ChiSquare)


@pytest.mark.parametrize("seed", [0, 1])
def test_chi_square_equals_scipy(seed):
    rng = np.random.default_rng(seed)
    table = pd.DataFrame(
        rng.integers(5, 400, (2, 6)), index=["a", "b"], columns=[f"c{i}" for i in range(6)]
    )
    chi2, p_value, dof, _ = stats.chi2_contingency(table.to_numpy(), correction=False)
    result = chi_square(table)
    assert result.chi2 == pytest.approx(chi2)
    assert result.p_value == pytest.approx(p_value)
    assert result.dof == dof and result.pooled == ()


def test_rare_categories_are_pooled():
    table = pd.DataFrame(
        {"Big": [50, 5_000], "Also big": [40, 4_000], "Rare1": [1, 30], "Rare2": [0, 20]},
        index=["event", "other"],
    )
    result = chi_square(table)
    assert set(result.pooled) == {"Rare1", "Rare2"}
    assert result.categories == 3
    assert POOLED_LABEL not in table.columns  # the input is not modified


def test_chi_square_needs_two_groups_and_two_categories():
    assert chi_square(pd.DataFrame({"A": [5, 0], "B": [3, 0]}, index=["x", "y"])) is None
    assert chi_square(pd.DataFrame({"A": [5, 7]}, index=["x", "y"])) is None


def test_category_shares_top_n_and_other():
    table = pd.DataFrame({"A": [10, 50], "B": [5, 30], "C": [5, 20]}, index=["event", "other"])
    long = category_shares(table, top_n=1)
    assert set(long["category"]) == {"A", "Other"}
    event = long[long["group"] == "event"].set_index("category")["share"]
    assert event["A"] == pytest.approx(0.5) and event["Other"] == pytest.approx(0.5)


def test_largest_share_gap():
    table = pd.DataFrame({"A": [10, 50], "B": [30, 10]}, index=["event", "other"])
    category, share_a, share_b = largest_share_gap(table, "event", "other")
    assert category == "B"
    assert share_a == pytest.approx(0.75) and share_b == pytest.approx(1 / 6)


# --- words -----------------------------------------------------------------------------------
def test_format_p():
    assert format_p(0.0000001) == "p < 0.001"
    assert format_p(0.0234) == "p = 0.023"
    assert format_p(None) == "p = –"


def test_sentences_lead_with_the_effect():
    result = MannWhitney(100, 1_000, 0.0, 1e-6, 0.35)
    text = shift_sentence(
        result,
        "festival",
        "other",
        Spread(100, 600, 400, 900),
        Spread(1_000, 480, 300, 700),
        "response",
        "slower responses",
        "faster responses",
        lambda s: f"{s / 60:.1f} min",
    )
    assert text.startswith("Festival calls: median response 10.0 min vs 8.0 min")
    assert "slower responses, a medium effect (r = +0.35)" in text
    assert "statistically significant (p < 0.001)" in text

    flat = MannWhitney(100, 1_000, 0.0, 0.4, 0.01)
    text = shift_sentence(
        flat, "a", "b", Spread(1, 1, 1, 1), Spread(1, 1, 1, 1), "priority", "x", "y", str
    )
    assert "practically no difference" in text and "not statistically significant" in text

    mix = ChiSquare(1_000, 50.0, 3, 1e-9, 0.22, 2, 4, ())
    text = mix_sentence(mix, "festival", "other", ("Theft", 0.18, 0.09))
    assert "small effect (Cramér's V = 0.22)" in text
    assert "Theft (18% vs 9%)" in text
