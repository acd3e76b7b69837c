"""The percentile bootstrap interval of a mean (veiligverder.stats.intervals.bootstrap_mean_ci), used
for the error bars of counts (incidents a year, drinks a week: Figuur 2-4, 15, 16).

References: ``scipy.stats.bootstrap(..., method='percentile')`` with the same generator (it draws
the resamples in the same order, so the intervals agree to rounding), and the exact bootstrap
distribution of a four-value sample, enumerated (4**4 resamples) and worked out by hand.
"""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from veiligverder.analysis.outcomes import COUNT_OUTCOMES, summarise
from veiligverder.stats import mean_ci
from veiligverder.stats._base import StatsInputError
from veiligverder.stats.intervals import bootstrap_mean_ci

# incidents a year of 12 families: most none, a few many (skewed, as the CTS counts are)
COUNTS = [0, 0, 0, 0, 0, 1, 2, 0, 40, 0, 3, 25]


# n = 5000: 800 resamples a block, so the 999 come in two blocks (bounded memory), same draws as scipy's one
@pytest.mark.parametrize("n,confidence,seed", [(5, 0.95, 1), (12, 0.95, 2), (40, 0.90, 3), (67, 0.99, 4),
                                               (5000, 0.95, 5)])
def test_equals_scipy_bootstrap_percentile(n, confidence, seed):
    """Reference: scipy.stats.bootstrap((x,), np.mean, method='percentile', n_resamples=999,
    rng=default_rng(seed)) - same draws, same percentiles."""
    x = np.random.default_rng(100 + seed).poisson(3, n) * np.random.default_rng(200 + seed).integers(0, 2, n)
    ref = sps.bootstrap((x.astype(float),), np.mean, method="percentile", n_resamples=999,
                        confidence_level=confidence, rng=np.random.default_rng(seed), vectorized=True)
    est = bootstrap_mean_ci(x, confidence, n_resamples=999, seed=seed)
    assert est.n == n and est.estimate == pytest.approx(x.mean(), abs=1e-12)
    assert est.low == pytest.approx(ref.confidence_interval.low, abs=1e-12)
    assert est.high == pytest.approx(ref.confidence_interval.high, abs=1e-12)


def test_exact_bootstrap_distribution_by_hand():
    """x = (0, 0, 1, 10), mean 2.75. A resample draws each value with probability 1/4 per draw.
    Lower end: all four draws 0 has probability (1/2)**4 = 1/16 = .0625 > .025, so the 2.5 %
    point is 0. Upper end: a mean above 5.5 needs three or four 10s; P(at most two 10s) =
    1 - (4 * (1/4)**3 * 3/4 + (1/4)**4) = 243/256 = .949 < .975, and adding 'three 10s and a 0'
    (mean 7.5, 4 * (1/4)**3 * 1/2 = 8/256) gives 251/256 = .980 >= .975: the 97.5 % point is 7.5.
    The same quantiles from the enumerated 256 resamples, and from 200,000 random ones."""
    x = [0, 0, 1, 10]
    means = np.array([np.mean(r) for r in itertools.product(x, repeat=4)])
    assert np.mean(means <= 5.5) == pytest.approx(243 / 256) and np.mean(means <= 7.5) == pytest.approx(251 / 256)
    exact_low = np.sort(means)[int(np.ceil(0.025 * len(means))) - 1]
    exact_high = np.sort(means)[int(np.ceil(0.975 * len(means))) - 1]
    assert (exact_low, exact_high) == (0.0, 7.5)
    est = bootstrap_mean_ci(x, n_resamples=200_000)
    assert (est.estimate, est.low, est.high, est.n) == (2.75, 0.0, 7.5, 4)


def test_counts_never_below_zero_where_the_t_interval_is():
    """The t interval of the skewed counts reaches below zero; the bootstrap interval does not, and
    it is longer above the mean than below (the skew), with the same mean."""
    t = mean_ci(COUNTS)
    boot = bootstrap_mean_ci(COUNTS)
    assert t.low < 0 <= boot.low
    assert boot.estimate == t.estimate == pytest.approx(71 / 12)
    assert boot.high - boot.estimate > boot.estimate - boot.low
    for seed in range(20):
        x = np.random.default_rng(seed).negative_binomial(0.3, 0.05, 15)
        assert bootstrap_mean_ci(x, seed=seed).low >= 0


def test_seeded_reproducible_and_seed_dependent():
    assert bootstrap_mean_ci(COUNTS) == bootstrap_mean_ci(COUNTS)
    assert bootstrap_mean_ci(COUNTS, seed=1) == bootstrap_mean_ci(COUNTS, seed=1)
    x = np.random.default_rng(5).exponential(4, 30)  # continuous: another seed moves the percentiles
    assert bootstrap_mean_ci(x, seed=1) != bootstrap_mean_ci(x, seed=2)


def test_small_empty_constant_and_bad_arguments():
    one = bootstrap_mean_ci([4.0, np.nan])
    assert one.n == 1 and one.estimate == 4.0 and np.isnan(one.low) and np.isnan(one.high)
    for empty in ([], [np.nan]):
        est = bootstrap_mean_ci(empty)
        assert est.n == 0 and all(np.isnan(v) for v in est[:3])
    assert tuple(bootstrap_mean_ci([3, 3, 3])) == (3.0, 3.0, 3.0, 3)
    with pytest.raises(StatsInputError, match="confidence"):
        bootstrap_mean_ci(COUNTS, 95)
    with pytest.raises(StatsInputError, match="n_resamples"):
        bootstrap_mean_ci(COUNTS, n_resamples=0)


def test_summarise_counts_keep_the_means_and_bound_the_interval_at_zero():
    """analysis.summarise(count=True): the same means (the published values) as the t-based summary,
    only the interval changes, and it stays at or above zero. The count outcomes are the
    incidents and drinks."""
    rng = np.random.default_rng(7)
    rows = [{"unit_id": f"{g}{i}", "group": g, "time": t, "value": float(v)}
            for g in ("VV", "control") for t in ("baseline", "follow_up")
            for i, v in enumerate(rng.negative_binomial(0.4, 0.08, 30))]
    sample = pd.DataFrame(rows)
    plain, counted = summarise(sample), summarise(sample, count=True)
    pd.testing.assert_series_equal(plain["mean"], counted["mean"])
    assert (counted["ci_low"] >= 0).all() and (counted["ci_low"] <= counted["mean"]).all()
    assert (counted["ci_high"] >= counted["mean"]).all()
    assert set(COUNT_OUTCOMES) == {"violence_total", "violence_partner", "violence_child_direct",
                                   "drinks_own", "drinks_partner"}
