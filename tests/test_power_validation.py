"""The power chapter's simulation, validated against analytic power.

Sources: the equivalence of the 2 x 2 mixed-design interaction F with the pooled two-sample t-test on
change scores (Maxwell, Delaney & Kelley, *Designing Experiments and Analyzing Data*, 3rd ed., ch. 12),
checked here numerically against ``veiligverder.stats.mixed_anova`` and ``scipy.stats.ttest_ind``;
analytic power of the pooled t-test from ``statsmodels.stats.power.TTestIndPower`` (noncentral t);
group sizes from Cohen (1988), *Statistical Power Analysis*, Table 2.4.1 (alpha .05 two-sided,
power .80: d = .2 -> 393, d = .5 -> 64, d = .8 -> 26 per group; statsmodels' solve_power agrees up to
rounding).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps
from statsmodels.stats.power import TTestIndPower

from veiligverder import power, stats


def _long(base: np.ndarray, fu: np.ndarray, groups: np.ndarray) -> pd.DataFrame:
    ids = np.arange(len(base))
    return pd.concat([
        pd.DataFrame({"unit_id": ids, "group": groups, "time": "baseline", "value": base}),
        pd.DataFrame({"unit_id": ids, "group": groups, "time": "follow_up", "value": fu}),
    ], ignore_index=True)


@pytest.mark.parametrize("seed, n1, n2", [(1, 9, 14), (2, 34, 60), (3, 5, 5)])
def test_interaction_F_is_the_squared_t_on_change_scores(seed, n1, n2):
    rng = np.random.default_rng(seed)
    groups = np.array(["VV"] * n1 + ["control"] * n2)
    base = rng.normal(10, 3, n1 + n2)
    fu = base + rng.normal(np.where(groups == "VV", -2.0, -0.5), 2.5)
    sample = _long(base, fu, groups)
    anova = stats.mixed_anova(sample, dv="value", within="time", subject="unit_id", between="group")
    inter = anova.set_index("source").loc["interaction"]
    d = fu - base
    t = sps.ttest_ind(d[groups == "VV"], d[groups == "control"], equal_var=True)
    assert inter["F"] == pytest.approx(t.statistic ** 2, rel=1e-10)
    assert inter["p_unc"] == pytest.approx(t.pvalue, rel=1e-8)
    # and the simulation's vectorised test agrees with scipy, rejecting exactly when p < .05
    scores = power.change_scores(sample, "x")
    rejects = power.pooled_t_rejects(scores.vv[None, :], scores.control[None, :])[0]
    assert rejects == (t.pvalue < 0.05)


def test_vectorised_t_matches_scipy_row_by_row():
    rng = np.random.default_rng(7)
    a, b = rng.normal(0.4, 1, (300, 12)), rng.normal(0, 1, (300, 15))
    p = sps.ttest_ind(a, b, axis=1, equal_var=True).pvalue
    np.testing.assert_array_equal(power.pooled_t_rejects(a, b), p < 0.05)


def _scores(d: float, n: int = 4000, seed: int = 0) -> power.ChangeScores:
    """Large normal change-score samples whose standardised difference is exactly ``d``."""
    rng = np.random.default_rng(seed)
    a, b = rng.normal(0, 1, n), rng.normal(0, 1, n)
    a = (a - a.mean()) / a.std(ddof=1)
    b = (b - b.mean()) / b.std(ddof=1)
    return power.ChangeScores("x", a + d, b)


@pytest.mark.parametrize("method", ["normal", "bootstrap"])
@pytest.mark.parametrize("d, n", [(0.5, 64), (0.3, 100), (0.8, 20)])
def test_simulated_power_matches_analytic_power(method, d, n):
    reps = 4000
    scores = _scores(d)
    assert scores.cohen_d == pytest.approx(d, abs=1e-9)
    expected = TTestIndPower().power(effect_size=d, nobs1=n, alpha=0.05, ratio=1.0)
    simulated = power.simulate_power(scores, n, replications=reps, seed=11, method=method)
    mc_se = np.sqrt(expected * (1 - expected) / reps)
    assert abs(simulated - expected) < 3.5 * mc_se, (simulated, expected)
    assert power.analytic_power(d, n) == pytest.approx(expected, rel=1e-12)


def test_type_one_error_of_the_simulation():
    reps = 6000
    simulated = power.simulate_power(_scores(0.0), 40, replications=reps, seed=3, method="normal")
    assert abs(simulated - 0.05) < 3.5 * np.sqrt(0.05 * 0.95 / reps)
    assert power.analytic_power(0.0, 40) == 0.05


@pytest.mark.parametrize("d, cohen", [(0.2, 393), (0.5, 64), (0.8, 26)])
def test_group_size_for_80_percent_power(d, cohen):
    n = power.analytic_n_for_power(d)
    assert n == np.ceil(TTestIndPower().solve_power(effect_size=d, power=0.8, alpha=0.05, ratio=1.0))
    assert abs(n - cohen) <= 1  # Cohen's table rounds; solve_power is exact to the noncentral t
    assert power.analytic_power(d, int(n)) >= 0.8 > power.analytic_power(d, int(n) - 1)
    assert power.analytic_n_for_power(-d) == n  # the sign of the effect does not matter
    assert power.analytic_n_for_power(0.0) == float("inf")


def test_n_for_power_interpolates_between_grid_points():
    curve = pd.DataFrame({"n_per_group": [20, 40, 60], "power": [0.5, 0.9, 0.95]})
    assert power.n_for_power(curve) == np.ceil(20 + (0.8 - 0.5) / (0.9 - 0.5) * 20)  # 35
    assert power.n_for_power(curve.assign(power=[0.85, 0.9, 0.95])) == 20
    assert power.n_for_power(curve.assign(power=[0.1, 0.2, 0.79])) == float("inf")
    assert power.n_for_power(curve.assign(power=[0.1, 0.2, 0.8])) == 60  # reaching the target exactly counts


def test_power_curves_are_reproducible_and_independent_of_workers():
    samples = {"a": _scores(0.4, n=200, seed=1), "b": _scores(0.1, n=200, seed=2)}
    kw = dict(sizes=(20, 60), replications=200, progress=False)
    one = power.power_curves(samples, seed=5, n_jobs=1, **kw)
    two = power.power_curves(samples, seed=5, n_jobs=2, **kw)
    pd.testing.assert_frame_equal(one, two)
    other = power.power_curves(samples, seed=6, n_jobs=1, **kw)
    assert not one["power"].equals(other["power"])
    assert list(one.columns) == ["outcome", "n_per_group", "power", "analytic"]
    # power grows with the group size for a real effect
    a = one[one["outcome"] == "a"].set_index("n_per_group")["power"]
    assert a[60] > a[20]


def test_summary_table_marks_sizes_beyond_the_range():
    samples = {"big": _scores(0.9, n=300), "tiny": _scores(0.0001, n=300, seed=4)}
    curves = power.power_curves(samples, sizes=(20, 40), replications=300, seed=1, n_jobs=1, progress=False)
    table = power.summary_table(samples, curves, {"big": (30, 30), "tiny": (30, 30)})
    assert table.loc["tiny", "n per group for 80 % (simulated)"] == "> 40"
    assert table.loc["tiny", "n per group for 80 % (analytic)"] == "> 10 000"
    assert int(table.loc["big", "n per group for 80 % (analytic)"]) == power.analytic_n_for_power(samples["big"].cohen_d)


def test_change_scores_need_both_groups():
    sample = _long(np.array([1.0, 2.0, 3.0]), np.array([2.0, 2.0, 2.0]), np.array(["VV", "VV", "control"]))
    with pytest.raises(power.PowerInputError, match="fewer than two units"):
        power.change_scores(sample, "x")
