"""Oracle tests of :mod:`veiligverder.stats` beyond ordinary input (issue 11): singular
Stuart-Maxwell covariances and the exact r x c test at realistic sizes.

Each expected value names its source, none of them written by the project:

- R values shipped with statsmodels' own tests (``statsmodels/stats/tests/results/
  contingency_table_r_results.csv``: Stuart-Maxwell statistic and df of two tables);
- ``coin::mh_test`` output as printed in D. Wollschlaeger's R examples (github.com/dwoll/RExRepos,
  ``npStuartMaxwell.md``): chi-squared = 12.1387 for the drug x placebo table;
- coin's documented rule for singular covariances (the quadratic form uses the Moore-Penrose
  inverse of the covariance, ``covariance(invert = TRUE)``, with df = its rank) and DescTools'
  ``StuartMaxwellTest`` documentation (a category nobody moves into or out of is left out);
- hand computations in the docstrings (McNemar's chi-square ``(b - c)^2 / (b + c)``);
- R's ``?fisher.test`` examples: Job satisfaction (Agresti 2002, p. 57), "fisher.test(Job) #
  0.7827", and MP6 (6th example of Mehta & Patel 1983, a 5 x 7 table);
- brute-force enumeration of all tables with the observed margins (``r_fisher_pvalue`` of
  ``tests/test_stats.py``, exact rational arithmetic, R's definition of the p value);
- scipy's independent Monte Carlo ``scipy.stats.fisher_exact(method=MonteCarloMethod)``.

No network; every random draw has a fixed seed.
"""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
import scipy.stats as sps
from statsmodels.stats.contingency_tables import SquareTable
from test_stats import paired_categories, r_fisher_pvalue

from veiligverder import stats as st
from veiligverder.stats import contingency

# R values from statsmodels' test data (contingency_table_r_results.csv, columns homog_stat, homog_df).
SM_R_TABLES = [
    (np.array([[144, 33, 84, 126], [2, 4, 14, 29], [0, 2, 6, 25], [0, 0, 1, 5]]), 271.922246968262, 3),
    (np.array([[20, 10, 5], [3, 30, 15], [0, 5, 40]]), 13.7647058823529, 2),
]
JOB = np.array([[1, 2, 1, 0], [3, 3, 6, 1], [10, 10, 14, 9], [6, 7, 12, 11]]).T  # R fills by column
MP6 = np.array([[1, 2, 2, 1, 1, 0, 1], [2, 0, 0, 2, 3, 0, 0], [0, 1, 1, 1, 2, 7, 3],
                [1, 1, 2, 0, 0, 0, 1], [0, 1, 1, 1, 1, 0, 0]])


def labels(k: int) -> tuple[str, ...]:
    return tuple(f"c{i}" for i in range(k))


def sm_table(table: np.ndarray) -> pd.Series:
    """stuart_maxwell on long data whose baseline x follow-up crosstab is ``table``."""
    cats = labels(len(table))
    out = st.stuart_maxwell(paired_categories(table, cats), dv="cat", within="time", subject="sid",
                            categories=cats)
    np.testing.assert_array_equal(out.attrs["table"].to_numpy(), table)
    return out.iloc[0]


def insert_stable(table: np.ndarray, position: int, stayers: int) -> np.ndarray:
    """``table`` with a category at ``position`` that ``stayers`` subjects are in at both times."""
    k = len(table)
    out = np.zeros((k + 1, k + 1), dtype=int)
    keep = [i for i in range(k + 1) if i != position]
    out[np.ix_(keep, keep)] = table
    out[position, position] = stayers
    return out


# ============================================================================================
# Stuart-Maxwell


@pytest.mark.parametrize("table,stat,df", SM_R_TABLES)
def test_stuart_maxwell_r_values_from_statsmodels_test_data(table, stat, df):
    """R's Stuart-Maxwell statistic and df (statsmodels' test data): full-rank tables agree to 1e-9."""
    row = sm_table(table)
    assert row["statistic"] == pytest.approx(stat, rel=1e-9)
    assert row["df"] == df
    assert row["p_unc"] == pytest.approx(sps.chi2.sf(stat, df), rel=1e-9)
    assert row["note"] == ""


def test_stuart_maxwell_coin_mh_test_printed_value():
    """coin::mh_test(cTab) printed chi-squared = 12.1387 for drug x placebo (RExRepos)."""
    row = sm_table(np.array([[14, 7, 9], [5, 26, 19], [1, 7, 12]]))
    assert row["statistic"] == pytest.approx(12.1387, abs=5e-5)
    assert row["df"] == 2


@pytest.mark.parametrize("position", [0, 1, 2, 3])
@pytest.mark.parametrize("stayers", [0, 12])
def test_stuart_maxwell_stable_category_anywhere_keeps_r_value_with_df_rank(position, stayers):
    """coin (Moore-Penrose inverse, df = rank) and DescTools (leave such a category out): adding a
    category nobody moves into or out of -- empty (0 stayers) or stable (12 stayers) -- at the
    first, a middle or the last position leaves R's statistic of the 3 x 3 table (13.7647, df 2)
    unchanged; df stays 2 = rank, not k - 1 = 3."""
    table, stat, df = SM_R_TABLES[1]
    row = sm_table(insert_stable(table, position, stayers))
    assert row["statistic"] == pytest.approx(stat, rel=1e-9)
    assert row["df"] == df
    assert row["p_unc"] == pytest.approx(sps.chi2.sf(stat, df), rel=1e-9)
    assert f"'c{position}'" in row["note"] and "rank" in row["note"]


@pytest.mark.parametrize("position", [0, 1, 2])
def test_stuart_maxwell_issue_example_stable_first_middle_last(position):
    """Issue 11: baseline x follow-up [[10,0,0],[0,7,3],[0,1,9]] has W = 1, df = 1. Hand: the
    stable category carries no information; the rest is McNemar's (3 - 1)^2 / (3 + 1) = 1 on 1 df.
    The stable category is put first, in the middle and last (rows and columns permuted alike)."""
    base = np.array([[10, 0, 0], [0, 7, 3], [0, 1, 9]])
    order = {0: [0, 1, 2], 1: [1, 0, 2], 2: [1, 2, 0]}[position]
    table = base[np.ix_(order, order)]
    assert table[position, position] == 10 and table[position].sum() == table[:, position].sum() == 10
    row = sm_table(table)
    assert row["statistic"] == pytest.approx(1.0, rel=1e-12)
    assert row["df"] == 1
    assert row["p_unc"] == pytest.approx(sps.chi2.sf(1.0, 1), rel=1e-12)


def test_stuart_maxwell_issue_example_with_default_categories():
    """The same table through the default categories none / mild / severe, stable 'severe' last
    (the position where the old code kept df = 2)."""
    table = np.array([[7, 3, 0], [1, 9, 0], [0, 0, 10]])
    out = st.stuart_maxwell(paired_categories(table, contingency.CATEGORIES), dv="cat", within="time", subject="sid")
    row = out.iloc[0]
    assert (row["statistic"], row["df"]) == (pytest.approx(1.0, rel=1e-12), 1.0)
    assert "'severe'" in row["note"]


def test_stuart_maxwell_two_separate_blocks_is_sum_of_mcnemars():
    """Hand: with no subject moving between {c0, c1} and {c2, c3}, the covariance is block
    diagonal, its rank is 2 and the Moore-Penrose form is the sum of the two blocks' McNemar
    statistics: (6 - 2)^2 / 8 + (1 - 5)^2 / 6 = 2 + 8/3, df 2."""
    table = np.array([[4, 6, 0, 0], [2, 3, 0, 0], [0, 0, 5, 1], [0, 0, 5, 2]])
    row = sm_table(table)
    assert row["statistic"] == pytest.approx(2 + 8 / 3, rel=1e-12)
    assert row["df"] == 2
    assert "{c0, c1} | {c2, c3}" in row["note"]


def test_stuart_maxwell_reduced_table_equals_statsmodels_on_random_tables():
    """Reference: statsmodels SquareTable.homogeneity() on the table without the categories nobody
    moved into or out of (DescTools' rule), for 40 random tables (seed 11) with one to two such
    categories at random positions; agreement to 1e-9, df = rank = k_used - 1."""
    rng = np.random.default_rng(11)
    for _ in range(40):
        k_used = int(rng.integers(2, 5))
        core = rng.integers(0, 9, size=(k_used, k_used))
        core[0, 1] += 1  # at least one change, linking all used categories:
        core[np.arange(k_used - 1), np.arange(1, k_used)] += 1
        n_stable = int(rng.integers(1, 3))
        table = core
        for _ in range(n_stable):
            table = insert_stable(table, int(rng.integers(0, len(table) + 1)), int(rng.integers(0, 6)))
        ref = SquareTable(core, shift_zeros=False).homogeneity()
        row = sm_table(table)
        assert row["statistic"] == pytest.approx(ref.statistic, rel=1e-9), table
        assert row["df"] == ref.df == k_used - 1, table


def test_stuart_maxwell_rank_is_k_minus_connected_groups():
    """Property of the covariance (a graph Laplacian of the changes): rank = k minus the number of
    groups of categories with no change between groups; checked by enumeration over all patterns
    of which off-diagonal cells of a 4 x 4 table are non-zero (a sample of 200, seed 12)."""
    rng = np.random.default_rng(12)
    patterns = list(itertools.product([0, 1], repeat=12))
    for idx in rng.choice(len(patterns), 200, replace=False):
        off = np.zeros((4, 4), dtype=int)
        off[~np.eye(4, dtype=bool)] = np.array(patterns[idx]) * rng.integers(1, 5, 12)
        table = off + np.diag(rng.integers(0, 4, 4))
        moved = (off + off.T) > 0
        groups = len(contingency._components(moved))
        stat, rank = contingency._stuart_maxwell_table(table)
        assert rank == 4 - groups, table


# ============================================================================================
# Fisher-Freeman-Halton


def test_fisher_job_satisfaction_within_002():
    """R ?fisher.test: ``fisher.test(Job) # 0.7827`` (Agresti 2002, p. 57; N = 96, 4 x 4). Its
    time is measured by benchmarks/bench_stats.py (README: speed is never measured by timed tests)."""
    res = st.fisher_freeman_halton(JOB)
    assert JOB.sum() == 96
    assert abs(res.pvalue - 0.7827) < 0.002
    assert res.pvalue == pytest.approx(0.7827, abs=5e-5)  # exact: R's 4 printed digits
    assert res.method == "exact"


def test_fisher_job_satisfaction_monte_carlo_seeded():
    """R ?fisher.test: ``fisher.test(Job, simulate.p.value = TRUE, B = 1e5) # also close to 0.78``.
    Seeded, so reproducible; within 0.002 of 0.7827 and within 4 standard errors."""
    res = st.fisher_freeman_halton(JOB, method="monte-carlo")
    assert res.method == "monte-carlo" and res.n_draws == contingency.MC_DRAWS
    assert abs(res.pvalue - 0.7827) < 0.002
    assert abs(res.pvalue - 0.7827) < 4 * res.se
    assert res == st.fisher_freeman_halton(JOB, method="monte-carlo")  # same seed, same value
    assert res.se == pytest.approx(np.sqrt(res.pvalue * (1 - res.pvalue) / res.n_draws), rel=1e-12)


def test_fisher_mp6_5x7_r_documentation():
    """R ?fisher.test, 6th example of Mehta & Patel (1983): ``fisher.test(MP6)``, a 5 x 7 table
    (N = 39) that overflowed the old enumeration. R prints p-value = 0.03929 (as quoted in
    R-checked tests elsewhere); checked here independently against scipy's Monte Carlo
    fisher_exact (seed 3, 100,000 tables) within 4 standard errors."""
    res = st.fisher_freeman_halton(MP6)
    assert MP6.shape == (5, 7) and MP6.sum() == 39
    assert res.method == "exact"
    assert res.pvalue == pytest.approx(0.03929, abs=5e-6)
    ref = sps.fisher_exact(MP6, method=sps.MonteCarloMethod(n_resamples=100_000, rng=np.random.default_rng(3)))
    se = np.sqrt(ref.pvalue * (1 - ref.pvalue) / 100_000)
    assert abs(res.pvalue - ref.pvalue) < 4 * se


def test_fisher_large_5x7_returns_monte_carlo_p_value_that_scipy_confirms():
    """A 5 x 7 table with N = 150 (seed 5) is beyond the exact work limit: 'auto' gives a seeded
    Monte Carlo p value with draws and standard error, never an exception; scipy's own Monte Carlo
    (seed 4) agrees within 4 combined standard errors."""
    table = np.random.default_rng(5).multinomial(150, np.ones(35) / 35).reshape(5, 7)
    res = st.fisher_freeman_halton(table)
    assert res.method == "monte-carlo" and res.n_draws == contingency.MC_DRAWS and 0 < res.se < 0.002
    assert 0 < res.pvalue <= 1
    ref = sps.fisher_exact(table, method=sps.MonteCarloMethod(n_resamples=50_000, rng=np.random.default_rng(4)))
    se_ref = np.sqrt(ref.pvalue * (1 - ref.pvalue) / 50_000)
    assert abs(res.pvalue - ref.pvalue) < 4 * np.hypot(res.se, se_ref)


@pytest.mark.parametrize("shape,n,seed", [((2, 5), 14, 1), ((3, 3), 15, 2), ((4, 3), 12, 3), ((2, 6), 12, 4),
                                          ((3, 4), 13, 5), ((5, 2), 16, 6)])
def test_fisher_network_equals_brute_force_enumeration(shape, n, seed):
    """Reference: r_fisher_pvalue (all tables with the margins, exact rational arithmetic, R's
    tolerance) for 5 random tables per shape; agreement to 1e-9."""
    rng = np.random.default_rng(seed)
    for _ in range(5):
        table = rng.multinomial(n, rng.dirichlet(np.ones(shape[0] * shape[1]))).reshape(shape)
        table = table[table.sum(axis=1) > 0][:, table.sum(axis=0) > 0]
        if min(table.shape) < 2:
            continue
        assert st.fisher_freeman_halton(table).pvalue == pytest.approx(r_fisher_pvalue(table), rel=1e-9), table


def test_fisher_exact_and_monte_carlo_agree_and_p_is_r_simulate_formula():
    """R's simulate.p.value: p = (1 + #{simulated tables no more probable}) / (B + 1). The count
    behind p must be a whole number in [0, B]; with 20,000 draws the Monte Carlo value is within 4
    standard errors of the exact one, for a 3 x 4 table."""
    table = np.array([[3, 0, 4, 2], [1, 5, 0, 3], [2, 2, 6, 0]])
    exact = st.fisher_freeman_halton(table, method="exact")
    mc = st.fisher_freeman_halton(table, method="monte-carlo", n_draws=20_000, seed=8)
    hits = mc.pvalue * (mc.n_draws + 1) - 1
    assert hits == pytest.approx(round(hits), abs=1e-6) and 0 <= round(hits) <= mc.n_draws
    assert abs(mc.pvalue - exact.pvalue) < 4 * mc.se
    assert exact.pvalue == pytest.approx(r_fisher_pvalue(table), rel=1e-9)


def test_fisher_invariant_to_transposing_and_permuting():
    """The p value depends on the table only up to the order of rows and columns."""
    p = st.fisher_freeman_halton(JOB).pvalue
    assert st.fisher_freeman_halton(JOB.T).pvalue == pytest.approx(p, rel=1e-12)
    assert st.fisher_freeman_halton(JOB[[2, 0, 3, 1]][:, [1, 3, 0, 2]]).pvalue == pytest.approx(p, rel=1e-12)
