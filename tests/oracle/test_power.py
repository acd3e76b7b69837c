"""Validation of ``veiligverder.stats.power`` against analytic results.

Sources
-------
- The 2 x 2 mixed-design group x time F equals the square of the pooled two-sample t on the change
  scores (follow-up minus baseline): Maxwell, Delaney & Kelley, *Designing Experiments and Analyzing
  Data*, ch. 12. Checked numerically against :func:`veiligverder.stats.mixed_anova` and
  ``scipy.stats.ttest_ind(equal_var=True)``.
- Analytic power of the pooled t-test (noncentral t): ``statsmodels.stats.power.TTestIndPower``.
- Group sizes for 80 % power at alpha .05 two-sided: Cohen (1988), *Statistical Power Analysis for
  the Behavioral Sciences*, Table 2.4.1, repeated in Cohen (1992), "A power primer", Table 2:
  d = .2 -> 393, d = .5 -> 64, d = .8 -> 26 per group. Cohen's tables round an approximation;
  the exact noncentral-t answer for d = .2 is 393.4, i.e. 394 whole units.
- Monte-Carlo error of a simulated rejection rate p over R replications: sqrt(p (1 - p) / R).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps
from statsmodels.stats.power import TTestIndPower

from veiligverder import stats
from veiligverder.stats import power


def _long(base: np.ndarray, fu: np.ndarray, groups: np.ndarray) -> pd.DataFrame:
    """An analysis sample ``[unit_id, group, time, value]`` (two rows per unit)."""
    ids = [f"u{i:03d}" for i in range(len(base))]
    return pd.concat([
        pd.DataFrame({"unit_id": ids, "group": groups, "time": "baseline", "value": base}),
        pd.DataFrame({"unit_id": ids, "group": groups, "time": "follow_up", "value": fu}),
    ], ignore_index=True)


def _exact_scores(d: float, n: int = 1000, seed: int = 0) -> power.ChangeScores:
    """Change scores whose pooled SD is exactly 1 and whose mean difference is exactly ``d``."""
    z = np.random.default_rng(seed).normal(size=n)
    z = (z - z.mean()) / z.std(ddof=1)
    return power.ChangeScores("x", vv=z + d, control=z.copy())


def _mc_tol(p: float, reps: int) -> float:
    return 3 * math.sqrt(p * (1 - p) / reps)


# --------------------------------------------------------------------------------------------
# a) the interaction F is the squared pooled t on change scores


@pytest.mark.parametrize("seed, n_vv, n_control", [(11, 12, 12), (12, 9, 23), (13, 40, 65), (14, 3, 4)])
def test_interaction_F_equals_squared_t_on_change_scores(seed, n_vv, n_control):
    rng = np.random.default_rng(seed)
    groups = np.array(["VV"] * n_vv + ["control"] * n_control)
    base = rng.normal(50, 10, n_vv + n_control)
    fu = 0.6 * base + rng.normal(np.where(groups == "VV", 15.0, 22.0), 6.0)
    sample = _long(base, fu, groups)

    anova = stats.mixed_anova(sample, dv="value", within="time", subject="unit_id", between="group")
    inter = anova.set_index("source").loc["interaction"]
    change = fu - base
    t = sps.ttest_ind(change[groups == "VV"], change[groups == "control"], equal_var=True)

    assert inter["F"] == pytest.approx(t.statistic ** 2, rel=1e-10)
    assert inter["p_unc"] == pytest.approx(t.pvalue, rel=1e-8, abs=1e-300)
    assert (inter["df1"], inter["df2"]) == (1.0, n_vv + n_control - 2.0)

    # change_scores takes follow-up minus baseline per group ...
    scores = power.change_scores(sample, "x")
    np.testing.assert_allclose(np.sort(scores.vv), np.sort(change[groups == "VV"]), rtol=0, atol=1e-12)
    np.testing.assert_allclose(np.sort(scores.control), np.sort(change[groups == "control"]), rtol=0, atol=1e-12)
    # ... its standardised difference is the pooled t times sqrt(1/n1 + 1/n2) ...
    assert scores.cohen_d == pytest.approx(t.statistic * math.sqrt(1 / n_vv + 1 / n_control), rel=1e-10)
    # ... and the simulation's test rejects exactly when the ANOVA's p < .05
    rejects = power.pooled_t_rejects(scores.vv[None, :], scores.control[None, :])
    assert rejects.shape == (1,)
    assert bool(rejects[0]) == bool(inter["p_unc"] < 0.05)


@pytest.mark.parametrize("alpha", [0.05, 0.01])
def test_pooled_t_rejects_agrees_with_scipy_row_by_row(alpha):
    rng = np.random.default_rng(21)
    a = rng.normal(0.45, 1.0, size=(500, 15))
    b = rng.normal(0.0, 1.0, size=(500, 22))
    p = sps.ttest_ind(a, b, axis=1, equal_var=True).pvalue
    got = power.pooled_t_rejects(a, b, alpha)
    np.testing.assert_array_equal(got, p < alpha)
    assert 0 < got.sum() < len(got)  # both outcomes occur, so the comparison means something


def test_pooled_t_rejects_with_zero_variance_rows():
    a = np.array([[1.0, 1.0, 1.0], [1.0, 1.0, 1.0]])
    b = np.array([[1.0, 1.0, 1.0], [2.0, 2.0, 2.0]])
    np.testing.assert_array_equal(power.pooled_t_rejects(a, b), [False, True])


def test_change_scores_rejects_samples_without_two_units_per_group():
    sample = _long(np.array([1.0, 2.0, 3.0]), np.array([2.0, 2.0, 5.0]), np.array(["VV", "control", "control"]))
    with pytest.raises(power.PowerInputError, match="VV 1, control 2"):
        power.change_scores(sample, "x")
    with pytest.raises(power.PowerInputError, match="baseline and follow_up"):
        power.change_scores(sample[sample["time"] == "baseline"], "x")


# --------------------------------------------------------------------------------------------
# b) simulated power against analytic power


def test_exact_scores_helper_has_the_intended_effect():
    s = _exact_scores(0.5)
    assert s.pooled_sd == pytest.approx(1.0, rel=1e-12)
    assert s.cohen_d == pytest.approx(0.5, rel=1e-12)


REPS = 2000


def test_normal_simulation_matches_statsmodels_power_at_d_05_n_64():
    expected = TTestIndPower().power(effect_size=0.5, nobs1=64, alpha=0.05)
    assert expected == pytest.approx(0.80, abs=0.005)  # Cohen's 80 % at 64 per group
    got = power.simulate_power(_exact_scores(0.5), 64, replications=REPS, seed=3, method="normal")
    assert abs(got - expected) < _mc_tol(expected, REPS)


def test_bootstrap_from_a_large_normal_sample_matches_statsmodels_power():
    expected = TTestIndPower().power(effect_size=0.5, nobs1=64, alpha=0.05)
    got = power.simulate_power(_exact_scores(0.5, n=20_000, seed=1), 64, replications=REPS, seed=4)
    assert abs(got - expected) < _mc_tol(expected, REPS)


@pytest.mark.parametrize("method", ["normal", "bootstrap"])
def test_type_one_error_at_zero_effect_is_alpha(method):
    got = power.simulate_power(_exact_scores(0.0, n=20_000, seed=2), 40, replications=REPS, seed=5, method=method)
    assert abs(got - 0.05) < _mc_tol(0.05, REPS)


def test_simulate_power_is_seeded_and_validates_the_method():
    s = _exact_scores(0.3)
    one = power.simulate_power(s, 30, replications=300, seed=9, method="normal")
    assert one == power.simulate_power(s, 30, replications=300, seed=9, method="normal")
    assert one != power.simulate_power(s, 30, replications=300, seed=10, method="normal")
    with pytest.raises(ValueError, match="method"):
        power.simulate_power(s, 30, replications=10, seed=0, method="poisson")


# --------------------------------------------------------------------------------------------
# c) analytic power and group sizes


@pytest.mark.parametrize("d, n", [(0.2, 100), (0.5, 64), (0.8, 26), (1.1, 10)])
def test_analytic_power_is_statsmodels(d, n):
    expected = TTestIndPower().power(effect_size=d, nobs1=n, alpha=0.05, ratio=1.0)
    assert power.analytic_power(d, n) == pytest.approx(expected, rel=1e-12)
    assert power.analytic_power(-d, n) == pytest.approx(expected, rel=1e-12)  # two-sided: sign is irrelevant


def test_analytic_power_at_zero_effect_is_alpha():
    assert power.analytic_power(0.0, 50) == 0.05
    assert power.analytic_power(0.0, 50, alpha=0.01) == 0.01


@pytest.mark.parametrize("d, cohen, exact", [(0.2, 393, 394), (0.5, 64, 64), (0.8, 26, 26)])
def test_analytic_n_for_power_matches_cohen_and_statsmodels(d, cohen, exact):
    n = power.analytic_n_for_power(d)
    assert n == exact
    assert n == math.ceil(TTestIndPower().solve_power(effect_size=d, power=0.8, alpha=0.05, ratio=1.0))
    assert abs(n - cohen) <= 1  # Cohen's table rounds an approximation (393.4 for d = .2)
    # the smallest whole n reaching 80 %
    assert power.analytic_power(d, int(n)) >= 0.8 > power.analytic_power(d, int(n) - 1)
    assert power.analytic_n_for_power(-d) == n


def test_analytic_n_for_power_zero_effect_is_infinite():
    assert power.analytic_n_for_power(0.0) == math.inf


# --------------------------------------------------------------------------------------------
# d) n_for_power on hand-made curves


def _curve(powers, sizes=(20, 40, 60)) -> pd.DataFrame:
    return pd.DataFrame({"outcome": "x", "n_per_group": list(sizes), "power": list(powers)})


def test_n_for_power_interpolates_linearly():
    # between 20 (0.5) and 40 (0.9): 20 + 0.3 / 0.4 * 20 = 35
    assert power.n_for_power(_curve([0.5, 0.9, 0.95])) == 35
    # not a whole number: 20 + 0.3 / 0.35 * 20 = 37.14 -> 38
    assert power.n_for_power(_curve([0.5, 0.85, 0.95])) == 38
    assert power.n_for_power(_curve([0.5, 0.9, 0.95]), target=0.9) == 40


def test_n_for_power_edges():
    assert power.n_for_power(_curve([0.81, 0.9, 0.95])) == 20  # first grid point already above
    assert power.n_for_power(_curve([0.1, 0.3, 0.79])) == math.inf  # never reached
    assert power.n_for_power(_curve([0.1, 0.3, 0.80])) == 60  # reaching the target exactly counts


def test_n_for_power_sorts_an_unordered_curve_and_uses_the_first_crossing():
    shuffled = _curve([0.95, 0.5, 0.9], sizes=(60, 20, 40)).set_index(pd.Index([7, 3, 5]))
    assert power.n_for_power(shuffled) == 35
    # a noisy curve that crosses, dips and crosses again: the first crossing counts
    noisy = _curve([0.5, 0.9, 0.78, 0.95], sizes=(20, 40, 60, 80))
    assert power.n_for_power(noisy) == 35


# --------------------------------------------------------------------------------------------
# e) reproducibility of power curves


@pytest.fixture(scope="module")
def two_outcomes() -> dict[str, power.ChangeScores]:
    rng = np.random.default_rng(8)
    return {
        "skewed": power.ChangeScores("skewed", vv=rng.poisson(2.0, 40) - 3.0, control=rng.poisson(3.0, 55) - 3.0),
        "normal": power.ChangeScores("normal", vv=rng.normal(0.4, 1, 30), control=rng.normal(0, 1, 30)),
    }


CURVE_KW = {"sizes": (20, 60, 120), "replications": 150, "progress": False}


def test_power_curves_reproducible_seeded_and_worker_independent(two_outcomes):
    serial = power.power_curves(two_outcomes, seed=42, n_jobs=1, **CURVE_KW)
    again = power.power_curves(two_outcomes, seed=42, n_jobs=1, **CURVE_KW)
    parallel = power.power_curves(two_outcomes, seed=42, n_jobs=2, **CURVE_KW)
    other = power.power_curves(two_outcomes, seed=43, n_jobs=1, **CURVE_KW)

    assert list(serial.columns) == ["outcome", "n_per_group", "power", "analytic"]
    assert list(zip(serial["outcome"], serial["n_per_group"])) == [
        (o, n) for o in ("normal", "skewed") for n in (20, 60, 120)]
    pd.testing.assert_frame_equal(serial, again)
    pd.testing.assert_frame_equal(serial, parallel)
    assert not np.array_equal(serial["power"].to_numpy(), other["power"].to_numpy())
    pd.testing.assert_series_equal(serial["analytic"], other["analytic"])  # analytic needs no seed
    for r in serial.itertuples():
        assert r.analytic == pytest.approx(power.analytic_power(two_outcomes[r.outcome].cohen_d, r.n_per_group))
        assert 0 <= r.power <= 1


def test_power_curve_row_equals_simulate_power_with_its_derived_seed(two_outcomes):
    """Each (outcome, size) job is seeded from SeedSequence(seed) in task order (documented)."""
    curves = power.power_curves(two_outcomes, seed=42, n_jobs=1, **CURVE_KW)
    tasks = [(o, n) for o in two_outcomes for n in CURVE_KW["sizes"]]
    seeds = np.random.SeedSequence(42).generate_state(len(tasks))
    for (o, n), sd in zip(tasks, seeds):
        expected = power.simulate_power(two_outcomes[o], n, replications=150, seed=int(sd))
        got = curves.loc[(curves["outcome"] == o) & (curves["n_per_group"] == n), "power"].item()
        assert got == expected


# --------------------------------------------------------------------------------------------
# f) summary table


SUMMARY_COLUMNS = ["n VV / control", "effect (d)", "power at observed n", "n per group for 80 % (simulated)",
                   "n per group for 80 % (analytic)"]


def test_summary_table_values_and_capped_sizes():
    samples = {"medium": _exact_scores(0.5), "null": _exact_scores(0.0)}
    sizes = [20, 40, 100, 300]
    curves = pd.concat([
        pd.DataFrame({"outcome": "medium", "n_per_group": sizes, "power": [0.5, 0.9, 0.99, 1.0]}),
        pd.DataFrame({"outcome": "null", "n_per_group": sizes, "power": [0.05, 0.06, 0.04, 0.05]}),
    ], ignore_index=True)
    table = power.summary_table(samples, curves, {"medium": (34, 65), "null": (20, 20)},
                                labels={"medium": "Medium effect"})

    assert table.index.name == "outcome"
    assert list(table.index) == ["Medium effect", "null"]  # labels rename, unlabelled outcomes keep their key
    assert list(table.columns) == SUMMARY_COLUMNS
    med, null = table.loc["Medium effect"], table.loc["null"]
    assert med["n VV / control"] == "34 / 65"
    assert med["effect (d)"] == 0.5
    # unequal groups via the harmonic mean; statsmodels with ratio n2/n1 gives the same to 2 decimals
    exact = TTestIndPower().power(effect_size=0.5, nobs1=34, ratio=65 / 34, alpha=0.05)
    assert abs(med["power at observed n"] - exact) <= 0.01
    assert med["power at observed n"] == round(power.analytic_power(0.5, 45), 2)  # 2 / (1/34 + 1/65) = 44.6
    assert med["n per group for 80 % (simulated)"] == "35"
    assert med["n per group for 80 % (analytic)"] == "64"
    assert null["effect (d)"] == 0.0
    assert null["power at observed n"] == 0.05
    assert null["n per group for 80 % (simulated)"] == "> 300"  # largest simulated size
    assert null["n per group for 80 % (analytic)"] == "> 10 000"  # ANALYTIC_CAP, thousands grouped by a space


def test_summary_table_caps_a_tiny_analytic_effect():
    samples = {"tiny": _exact_scores(0.02)}  # 39 246 per group, beyond ANALYTIC_CAP
    curves = pd.DataFrame({"outcome": "tiny", "n_per_group": [20, 300], "power": [0.05, 0.06]})
    row = power.summary_table(samples, curves, {"tiny": (30, 30)}).loc["tiny"]
    assert power.analytic_n_for_power(0.02) > power.ANALYTIC_CAP
    assert row["n per group for 80 % (analytic)"] == "> 10 000"
    assert row["n per group for 80 % (simulated)"] == "> 300"


def test_fmt_n():
    assert power._fmt_n(35.0, 300) == "35"
    assert power._fmt_n(300.0, 300) == "300"
    assert power._fmt_n(301.0, 300) == "> 300"
    assert power._fmt_n(math.inf, 300) == "> 300"
    assert power._fmt_n(float("nan"), power.ANALYTIC_CAP) == "> 10 000"
