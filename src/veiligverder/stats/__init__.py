"""Statistical tests and effect-size words of the effect study (CONTRACT §3).

One module per kind of test; this package re-exports the public functions:
``anova``, ``contingency``, ``ttest``, ``effsize``, ``intervals``, ``models`` (all-waves
MixedLM/GEE) and ``power`` (simulated and analytic power of the change-score comparison).

Every test takes a tidy long DataFrame plus column names and returns a tidy DataFrame, in the
manner of pingouin: one row per effect, a fixed column order, p values in ``p_unc`` (uncorrected).

- :func:`mixed_anova` -- 2 (time) x G (group) mixed-design ANOVA, Type III sums of squares as SPSS
  GLM repeated measures computes them.
- :func:`stuart_maxwell` -- change of a k-category outcome between two time points.
- :func:`chi2_groups` -- chi-square test of independence, Fisher-Freeman-Halton (exact, or Monte
  Carlo for very large tables, :func:`fisher_freeman_halton`) when an expected count is below 5.
- :func:`welch_ttest` -- two groups, unequal variances.
- :func:`effect_size_word` -- the word of Tabel 1 of the report for an eta squared;
  :func:`describe_effect` adds significance for the prose.
- :func:`mean_ci`, :func:`proportion_ci` -- error bars for the figures.

Conventions for input that cannot be analysed
---------------------------------------------
Two kinds of trouble are told apart, the same way in every function:

- **The input does not describe the design the function tests** -- a column is missing, the time
  column does not hold exactly two levels, fewer than two groups are left once incomplete subjects
  are dropped, a subject sits in two groups or has two rows for one time point, a table holds
  negative, fractional or missing counts. The function raises :class:`StatsInputError`, whose
  message names the column or the values and says what to do.
- **The design is right but the data leave a statistic undefined** -- nobody changed category,
  every subject in a group changed by the same amount (no error variance), one subject per group
  (no error degrees of freedom), a group with fewer than two values. The statistic, its p value and
  the numbers derived from them are NaN, never a number that only looks like one (no ``F = 1e33``,
  no ``partial eta squared = 1`` from a zero error term, no ``t = -inf, p = 0``), and the ``note``
  column of the returned frame says why. ``note`` is the empty string when every number of the row
  is defined and computed the standard way; otherwise it gives the reason (also for a reduced df or
  a Monte Carlo p value). :func:`effect_size_word` gives no word (``''``) for a NaN eta squared.

Sums of squares below ``ZERO_SS`` times the raw sum of squares of the values they come from count
as zero: they are rounding (a float mean of identical values is not exact), not variance.
"""


from typing import TYPE_CHECKING

from veiligverder.lazy import lazy_exports

from veiligverder.stats._base import MIXED_ANOVA_COLUMNS, Estimate, FisherResult, StatsInputError
from veiligverder.stats.effsize import THRESHOLDS, describe_effect, effect_size_word, is_difference

#: Names re-exported from the modules that import scipy: imported on first use (PEP 562), so that a
#: process that only loads and scores data (a build's stage 0, ``veiligverder validate``) does not
#: pay for scipy.stats (about 1.5 s).
_LAZY = {"mixed_anova": "anova", "chi2_groups": "contingency", "fisher_freeman_halton": "contingency",
         "stuart_maxwell": "contingency", "mean_ci": "intervals", "proportion_ci": "intervals",
         "bootstrap_mean_ci": "intervals", "welch_ttest": "ttest"}

if TYPE_CHECKING:
    from veiligverder.stats.anova import mixed_anova
    from veiligverder.stats.contingency import chi2_groups, fisher_freeman_halton, stuart_maxwell
    from veiligverder.stats.intervals import bootstrap_mean_ci, mean_ci, proportion_ci
    from veiligverder.stats.ttest import welch_ttest


__getattr__, __dir__ = lazy_exports(__name__, _LAZY, globals())
from veiligverder.vocab import EFFECT_KIND

# the public names are this package's: messages and doctests read veiligverder.stats.StatsInputError
for _public in (StatsInputError, Estimate, FisherResult):
    _public.__module__ = __name__
del _public

__all__ = [
    "EFFECT_KIND",
    "MIXED_ANOVA_COLUMNS",
    "THRESHOLDS",
    "Estimate",
    "FisherResult",
    "StatsInputError",
    "chi2_groups",
    "describe_effect",
    "effect_size_word",
    "fisher_freeman_halton",
    "is_difference",
    "mean_ci",
    "mixed_anova",
    "proportion_ci",
    "stuart_maxwell",
    "welch_ttest",
]
