"""Confidence intervals for the error bars of the figures.

- :func:`mean_ci` -- t-based interval of a mean (scores and grades);
- :func:`proportion_ci` -- Wilson interval of a share (0/1 outcomes);
- :func:`bootstrap_mean_ci` -- percentile bootstrap interval of a mean (counts such as incidents
  or drinks a year: skewed, never below zero, where a t interval can reach below zero).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy import stats as sps
from veiligverder.stats._base import Estimate, StatsInputError, _few
from veiligverder.vocab import DEFAULT_SEED

#: Resamples of :func:`bootstrap_mean_ci` (as scipy.stats.bootstrap's default).
N_RESAMPLES = 9999


def _values(values) -> tuple[np.ndarray, Estimate | None]:
    """The values without missing ones, and the estimate itself when there are too few for an
    interval (none: all NaN with n = 0; one: its mean, NaN bounds)."""
    x = pd.Series(values, dtype=float).dropna().to_numpy()
    if len(x) == 0:
        return x, Estimate(np.nan, np.nan, np.nan, 0)
    if len(x) < 2:
        return x, Estimate(float(x.mean()), np.nan, np.nan, len(x))
    return x, None


def mean_ci(values, confidence: float = 0.95) -> Estimate:
    """Mean with its t-based confidence interval (missing values left out).

    ``mean +/- t_{(1+confidence)/2, n-1} * sd / sqrt(n)``, as R's ``t.test`` and SPSS Explore;
    the interval is NaN for fewer than two values, everything is NaN (n = 0) without values.

    Examples
    --------
    >>> est = mean_ci([1, 2, 3, None, 4, 5])
    >>> est.n, est.estimate, round(est.low, 4), round(est.high, 4)
    (5, 3.0, 1.0368, 4.9632)
    >>> mean_ci([4.0])
    Estimate(estimate=4.0, low=nan, high=nan, n=1)
    """
    x, short = _values(values)
    if short is not None:
        return short
    n, mean = len(x), float(x.mean())
    half = float(sps.t.ppf((1 + confidence) / 2, n - 1) * x.std(ddof=1) / math.sqrt(n))
    return Estimate(mean, mean - half, mean + half, n)


def proportion_ci(values, confidence: float = 0.95) -> Estimate:
    """Proportion of 1s among 0/1 values with its Wilson score interval (missing left out).

    Wilson (1927), recommended by Newcombe (1998) over the Wald interval for small n and
    proportions near 0 or 1; computed by ``statsmodels.stats.proportion.proportion_confint
    (method='wilson')``. Values other than 0 and 1 raise :class:`StatsInputError`.

    Examples
    --------
    >>> est = proportion_ci([1, 1, 1, 0, 0, 0, 0, 0, 0, 0])
    >>> est.n, est.estimate, round(est.low, 4), round(est.high, 4)
    (10, 0.3, 0.1078, 0.6032)
    """
    from statsmodels.stats.proportion import proportion_confint

    x = pd.Series(values, dtype=float).dropna().to_numpy()
    n = len(x)
    if n == 0:
        return Estimate(np.nan, np.nan, np.nan, 0)
    if not np.isin(x, (0.0, 1.0)).all():
        raise StatsInputError(
            f"proportion_ci: values must be 0/1, found {_few(sorted(set(x) - {0.0, 1.0}))}; "
            "pass a 0/1 outcome."
        )
    k = int(x.sum())
    low, high = proportion_confint(k, n, alpha=1 - confidence, method="wilson")
    return Estimate(k / n, float(low), float(high), n)


def bootstrap_mean_ci(values, confidence: float = 0.95, *, n_resamples: int = N_RESAMPLES,
                      seed: int = DEFAULT_SEED) -> Estimate:
    """Mean with its percentile bootstrap confidence interval (missing values left out).

    ``n_resamples`` samples of the same size are drawn with replacement from the values; the
    interval runs from the ``(1 - confidence) / 2`` to the ``(1 + confidence) / 2`` percentile of
    their means (Efron & Tibshirani 1993, ch. 13). The bounds are means of the values themselves,
    so they stay within the values' range: for counts (incidents, drinks) never below zero, and
    wider above the mean than below when the values are skewed, which a t interval cannot be.

    The draws come from ``numpy.random.default_rng(seed)`` (the same seed gives the same
    interval), in the order ``scipy.stats.bootstrap(..., method='percentile')`` uses, so that for
    the same generator the two give the same interval. The interval is NaN for fewer than two
    values, everything is NaN (n = 0) without values; identical values give a zero-width interval.

    Examples
    --------
    >>> est = bootstrap_mean_ci([0, 0, 0, 1, 2, 0, 30, 0, 4, 0])
    >>> est.n, est.estimate, est.low >= 0, est.high > est.estimate + (est.estimate - est.low)
    (10, 3.7, True, True)
    >>> bootstrap_mean_ci([4.0])
    Estimate(estimate=4.0, low=nan, high=nan, n=1)
    """
    if not 0 < confidence < 1:
        raise StatsInputError(f"bootstrap_mean_ci: confidence must lie between 0 and 1, got {confidence!r}.")
    if int(n_resamples) < 1:
        raise StatsInputError(f"bootstrap_mean_ci: n_resamples must be at least 1, got {n_resamples!r}.")
    x, short = _values(values)
    if short is not None:
        return short
    n, mean = len(x), float(x.mean())
    rng = np.random.default_rng(seed)
    # resamples drawn in blocks of at most ~4M indices (bounded memory for a registry-sized group);
    # block by block the generator gives the same indices as in one call
    rows = max(1, 4_000_000 // n)
    means = np.concatenate([x[rng.integers(0, n, (min(rows, int(n_resamples) - start), n))].mean(axis=1)
                            for start in range(0, int(n_resamples), rows)])
    tail = (1 - confidence) / 2
    low, high = np.percentile(means, [100 * tail, 100 * (1 - tail)])
    # a resampled mean can differ from a value it equals in the last bit: keep the bounds in the data's range
    low, high = max(float(low), float(x.min())), min(float(high), float(x.max()))
    return Estimate(mean, min(low, mean), max(high, mean), n)
