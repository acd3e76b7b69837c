"""Statistical tests and effect-size words of the effect study (CONTRACT §3).

Every test takes a tidy long DataFrame plus column names and returns a tidy DataFrame, in the
manner of pingouin: one row per effect, a fixed column order, p values in ``p_unc`` (uncorrected).

- :func:`mixed_anova` -- 2 (time) x G (group) mixed-design ANOVA, Type III sums of squares as SPSS
  GLM repeated measures computes them.
- :func:`stuart_maxwell` -- change of a k-category outcome between two time points.
- :func:`chi2_groups` -- chi-square test of independence, Fisher-Freeman-Halton (exact) when an
  expected count is below 5.
- :func:`welch_ttest` -- two groups, unequal variances.
- :func:`effect_size_word`, :func:`describe_effect` -- the words of Tabel 1 of the report.
- :func:`mean_ci`, :func:`proportion_ci` -- error bars for the figures.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from typing import Literal, NamedTuple

import numpy as np
import pandas as pd
from scipy import special
from scipy import stats as sps

__all__ = [
    "EFFECT_KIND",
    "MIXED_ANOVA_COLUMNS",
    "Estimate",
    "StatsInputError",
    "chi2_groups",
    "describe_effect",
    "effect_size_word",
    "fisher_freeman_halton",
    "mean_ci",
    "mixed_anova",
    "proportion_ci",
    "stuart_maxwell",
    "welch_ttest",
]

MIXED_ANOVA_COLUMNS = ["source", "ss", "df1", "df2", "ms", "F", "p_unc", "np2"]
CATEGORIES = ("none", "mild", "severe")
TIME_LEVELS = ("baseline", "follow_up")

#: Which row of Tabel 1 each mixed-ANOVA effect is judged by (see :func:`effect_size_word`).
EFFECT_KIND: dict[str, str] = {"time": "repeated", "group": "between", "interaction": "between"}

#: Tabel 1 of the report: eta squared thresholds for small, medium, large.
THRESHOLDS: dict[str, tuple[float, float, float]] = {
    "between": (0.01, 0.06, 0.14),
    "repeated": (0.02, 0.13, 0.26),
}

#: Largest number of tables the exact Fisher-Freeman-Halton enumeration will visit.
MAX_EXACT_TABLES = 5_000_000

ERR_MISSING_COLUMNS = "{func}: column(s) {missing} not in the data (columns: {have}); pass the right names."
ERR_LEVELS = (
    "{func}: column {col!r} must have exactly {k} levels, found {found}; "
    "select the rows of the {k} levels you want to compare first."
)
ERR_SUBJECT_GROUP = (
    "{func}: subject(s) {bad} appear in more than one level of {col!r}; a subject belongs to one group."
)
ERR_DUPLICATE = (
    "{func}: subject(s) {bad} have more than one row for the same level of {col!r}; "
    "keep one row per subject and time."
)
ERR_KIND = "effect_size_word: kind must be one of {allowed}, got {kind!r}."
ERR_CATEGORY = (
    "stuart_maxwell: column {col!r} holds values {bad} outside the categories {allowed}; "
    "recode them or pass categories=."
)


class StatsInputError(ValueError):
    """Input to a statistical function that it cannot analyse (names the column and the fix)."""


class Estimate(NamedTuple):
    """A point estimate with its confidence interval and the number of values behind it."""

    estimate: float
    low: float
    high: float
    n: int


# --------------------------------------------------------------------------------------------
# helpers


def _require(data: pd.DataFrame, columns: Sequence[str], func: str) -> None:
    missing = [c for c in columns if c not in data.columns]
    if missing:
        raise StatsInputError(
            ERR_MISSING_COLUMNS.format(func=func, missing=missing, have=list(data.columns))
        )


def _few(values) -> str:
    values = list(values)
    shown = ", ".join(repr(v) for v in values[:5])
    return shown + (f" (+{len(values) - 5} more)" if len(values) > 5 else "")


def _paired_wide(
    data: pd.DataFrame, *, dv: str, within: str, subject: str, func: str, extra: Sequence[str] = ()
) -> tuple[pd.DataFrame, list]:
    """One row per subject with both levels of ``within`` (columns = the two levels)."""
    _require(data, [dv, within, subject, *extra], func)
    levels = list(pd.unique(data[within].dropna()))
    if set(levels) == set(TIME_LEVELS):
        levels = list(TIME_LEVELS)  # contract order: baseline first
    if len(levels) != 2:
        raise StatsInputError(ERR_LEVELS.format(func=func, col=within, k=2, found=_few(levels)))
    rows = data.loc[data[dv].notna() & data[within].isin(levels), [subject, within, dv, *extra]]
    dup = rows.duplicated([subject, within])
    if dup.any():
        raise StatsInputError(
            ERR_DUPLICATE.format(func=func, bad=_few(rows.loc[dup, subject].unique()), col=within)
        )
    wide = rows.pivot(index=subject, columns=within, values=dv).reindex(columns=levels).dropna()
    return wide, levels


# --------------------------------------------------------------------------------------------
# mixed ANOVA


def _oneway(y: pd.Series, groups: pd.Series) -> tuple[float, float, float, np.ndarray, np.ndarray]:
    """Between SS, error SS, error df, group means and group sizes of a one-way layout."""
    g = y.groupby(groups)
    means, sizes = g.mean().to_numpy(), g.size().to_numpy()
    ss_between = float(np.sum(sizes * (means - y.mean()) ** 2))
    ss_error = float(((y - g.transform("mean")) ** 2).sum())
    return ss_between, ss_error, float(len(y) - len(sizes)), means, sizes


def mixed_anova(
    data: pd.DataFrame, *, dv: str, within: str, subject: str, between: str
) -> pd.DataFrame:
    """Two-time-point mixed-design ANOVA with Type III sums of squares (as SPSS GLM).

    Parameters
    ----------
    data : DataFrame
        Long format: one row per subject and time point.
    dv, within, subject, between : str
        Columns holding the outcome, the time point (exactly two levels), the subject id and the
        group (two or more levels; every subject in one group).

    Returns
    -------
    DataFrame
        One row per effect, ``source`` in ``time``, ``group``, ``interaction`` (always these names,
        whatever the columns are called), with columns

        - ``ss``: Type III sum of squares, ``df1``, ``df2``: effect and error degrees of freedom,
        - ``ms``: ``ss / df1``, ``F``, ``p_unc``: uncorrected p value,
        - ``np2``: partial eta squared, ``ss / (ss + ss_error)``.

        ``attrs['n']`` holds the subjects used per group, ``attrs['dropped']`` the subjects left
        out because they lack a value at one of the time points.

    Notes
    -----
    Subjects without a value at both time points are dropped (SPSS's listwise deletion).

    With two time points the design splits into two one-way ANOVAs (Maxwell & Delaney, 2004,
    ch. 12): on the subject sums ``s = (y1 + y2) / sqrt(2)`` for ``group``, and on the
    difference scores ``d = (y2 - y1) / sqrt(2)`` (SPSS's orthonormal contrast) for ``time`` and
    ``interaction``. With ``G`` groups of sizes ``n_g`` and group means ``dbar_g`` of ``d``:

    - interaction: the between-group SS of ``d``, ``sum_g n_g (dbar_g - dbar)^2``, df ``G - 1``;
    - time (Type III): the intercept of the one-way model of ``d``, testing that the *unweighted*
      mean of the group means is zero: ``SS = G^2 mean_g(dbar_g)^2 / sum_g(1 / n_g)``, df 1;
    - both tested against the pooled within-group SS of ``d``, df ``N - G``;
    - group: the between-group SS of ``s`` against its within-group SS, df ``G - 1`` and ``N - G``.

    With equal group sizes every row equals the classical textbook and pingouin values. With
    unequal sizes pingouin's ``mixed_anova`` tests the *weighted* grand mean change (Type II) in its
    time row, while SPSS (and this function) test the unweighted mean of the groups' changes; the
    group and interaction rows agree. Sphericity does not arise with two time points.
    """
    func = "mixed_anova"
    _require(data, [dv, within, subject, between], func)
    per_subject_groups = data.dropna(subset=[between]).groupby(subject)[between].nunique()
    if (per_subject_groups > 1).any():
        raise StatsInputError(
            ERR_SUBJECT_GROUP.format(
                func=func, bad=_few(per_subject_groups.index[per_subject_groups > 1]), col=between
            )
        )
    wide, (first, second) = _paired_wide(
        data, dv=dv, within=within, subject=subject, func=func
    )
    group_of = data.dropna(subset=[between]).drop_duplicates(subject).set_index(subject)[between]
    kept = wide.index.intersection(group_of.index)
    groups = group_of.loc[kept]
    wide = wide.loc[kept]
    if groups.nunique() < 2:
        raise StatsInputError(
            ERR_LEVELS.format(func=func, col=between, k="at least 2", found=_few(groups.unique()))
        )
    diff = (wide[second] - wide[first]) / math.sqrt(2.0)
    total = (wide[second] + wide[first]) / math.sqrt(2.0)

    ss_inter, ss_err_w, df_err, dbar, sizes = _oneway(diff, groups)
    n_groups = len(sizes)
    ss_time = n_groups**2 * dbar.mean() ** 2 / np.sum(1.0 / sizes)
    ss_group, ss_err_b, _, _, _ = _oneway(total, groups)

    table = pd.DataFrame(
        {
            "source": ["time", "group", "interaction"],
            "ss": [ss_time, ss_group, ss_inter],
            "df1": [1.0, n_groups - 1.0, n_groups - 1.0],
            "df2": [df_err] * 3,
        }
    )
    ss_error = np.array([ss_err_w, ss_err_b, ss_err_w])
    table["ms"] = table["ss"] / table["df1"]
    with np.errstate(divide="ignore", invalid="ignore"):
        table["F"] = table["ms"] / (ss_error / df_err)
        table["np2"] = table["ss"] / (table["ss"] + ss_error)
    table["p_unc"] = sps.f.sf(table["F"], table["df1"], table["df2"])
    table = table[MIXED_ANOVA_COLUMNS]
    table.attrs["n"] = groups.value_counts().sort_index().to_dict()
    table.attrs["dropped"] = int(data.loc[data[subject].notna(), subject].nunique() - len(wide))
    return table


# --------------------------------------------------------------------------------------------
# categorical tests


def stuart_maxwell(
    data: pd.DataFrame,
    *,
    dv: str,
    within: str,
    subject: str,
    categories: Sequence[str] = CATEGORIES,
) -> pd.DataFrame:
    """Stuart-Maxwell test of marginal homogeneity of a k-category outcome at two time points.

    Parameters
    ----------
    data : DataFrame
        Long format: one row per subject and time point.
    dv, within, subject : str
        Columns of the category, the time point (two levels; ``baseline`` comes first when the
        levels are ``baseline``/``follow_up``) and the subject id.
    categories : sequence of str
        All categories in order, so that a category nobody is in still has its row and column
        (default ``none``, ``mild``, ``severe``).

    Returns
    -------
    DataFrame
        One row: ``statistic`` (chi-square), ``df``, ``p_unc``, ``n`` (subjects with both values),
        ``note`` (empty, or why the statistic is NaN or why the df was reduced).
        ``attrs['table']`` holds the k x k table (rows: first time point, columns: second).

    Notes
    -----
    Computed by ``statsmodels.stats.contingency_tables.SquareTable(table, shift_zeros=False)
    .homogeneity()`` (Stuart, 1955; Maxwell, 1970), which reproduces R's ``coin::mh_test``
    (statsmodels' own tests). SPSS has no Stuart-Maxwell test (its McNemar-Bowker test answers
    the different question of symmetry). A category empty at both time points carries no
    information; it is dropped before the test and ``df`` becomes ``k_used - 1`` (statsmodels
    would keep ``df = k - 1`` while its covariance matrix has lower rank). When no subject changes
    category, or fewer than two categories are used, the statistic and p are NaN with a note.
    """
    from statsmodels.stats.contingency_tables import SquareTable
    from statsmodels.tools.sm_exceptions import SingularMatrixWarning

    wide, levels = _paired_wide(data, dv=dv, within=within, subject=subject, func="stuart_maxwell")
    categories = list(categories)
    bad = set(pd.unique(wide.to_numpy().ravel())) - set(categories)
    if bad:
        raise StatsInputError(ERR_CATEGORY.format(col=dv, bad=_few(sorted(map(str, bad))), allowed=categories))
    table = pd.crosstab(
        pd.Categorical(wide[levels[0]], categories=categories),
        pd.Categorical(wide[levels[1]], categories=categories),
        dropna=False,
    ).reindex(index=categories, columns=categories, fill_value=0)
    table.index.name, table.columns.name = levels[0], levels[1]
    counts = table.to_numpy()
    used = (counts.sum(axis=0) + counts.sum(axis=1)) > 0
    notes = []
    if not used.all():
        notes.append("dropped empty categories: " + ", ".join(np.array(categories)[~used]))
    reduced = counts[np.ix_(used, used)]
    statistic, df, p = np.nan, np.nan, np.nan
    if reduced.shape[0] < 2:
        notes.append("fewer than two categories used: nothing to test")
    elif np.trace(reduced) == reduced.sum():
        notes.append("no subject changed category: marginal homogeneity holds trivially, no test")
    else:
        with warnings.catch_warnings():
            warnings.simplefilter("error", SingularMatrixWarning)
            try:
                res = SquareTable(reduced, shift_zeros=False).homogeneity()
                statistic, df, p = float(res.statistic), float(res.df), float(res.pvalue)
            except SingularMatrixWarning:
                notes.append("covariance of the margin differences is singular: no test")
    out = pd.DataFrame(
        {"statistic": [statistic], "df": [df], "p_unc": [p], "n": [len(wide)], "note": ["; ".join(notes)]}
    )
    out.attrs["table"] = table
    return out


def _fisher_rxc_pvalue(table: np.ndarray, max_tables: int = MAX_EXACT_TABLES) -> float:
    """Exact Fisher-Freeman-Halton p value by enumerating all tables with the observed margins.

    The cells of the first ``r - 1`` rows and ``c - 1`` columns are filled one at a time; each
    partial table carries the bounds that keep its margins reachable, so the enumeration has no
    dead ends. The p value sums the probabilities of tables no more probable than the observed
    one, with R's relative tolerance of 1e-7 (``fisher.test``).
    """
    table = np.asarray(table, dtype=np.int64)
    if table.shape[0] > table.shape[1]:
        table = table.T
    rows, cols = table.sum(axis=1), table.sum(axis=0)
    n_rows, n_cols = table.shape
    const = special.gammaln(rows + 1).sum() + special.gammaln(cols + 1).sum() - special.gammaln(table.sum() + 1)
    log_p_obs = const - special.gammaln(table + 1).sum()

    row_rem = np.tile(rows.astype(np.int64), (1, 1))
    col_rem = np.tile(cols.astype(np.int64), (1, 1))
    logp = np.zeros(1)
    for i in range(n_rows - 1):
        for j in range(n_cols - 1):
            later = col_rem[:, j + 1 :].sum(axis=1)
            low = np.maximum(0, row_rem[:, i] - later)
            high = np.minimum(row_rem[:, i], col_rem[:, j])
            width = high - low + 1
            if width.sum() > max_tables:
                raise OverflowError(f"more than {max_tables} tables to enumerate")
            parent = np.repeat(np.arange(len(low)), width)
            x = low[parent] + (np.arange(width.sum()) - np.repeat(np.cumsum(width) - width, width))
            row_rem, col_rem, logp = row_rem[parent].copy(), col_rem[parent].copy(), logp[parent]
            row_rem[:, i] -= x
            col_rem[:, j] -= x
            logp = logp - special.gammaln(x + 1)
        last = row_rem[:, i].copy()  # the row's remainder fills its last column
        col_rem[:, -1] -= last
        row_rem[:, i] = 0
        logp = logp - special.gammaln(last + 1)
    logp = const + logp - special.gammaln(col_rem + 1).sum(axis=1)  # the last row is determined
    keep = logp <= log_p_obs + math.log1p(1e-7)
    return float(min(1.0, np.exp(logp[keep]).sum()))


def fisher_freeman_halton(table: np.ndarray | pd.DataFrame) -> float:
    """Two-sided exact p value of the Fisher-Freeman-Halton test for an r x c table.

    Parameters
    ----------
    table : array_like of int
        Counts; empty rows or columns are dropped first.

    Returns
    -------
    float
        The probability, given the margins, of a table no more probable than the observed one,
        as R's ``fisher.test`` (Freeman & Halton, 1951). ``scipy.stats.fisher_exact`` in scipy 1.17
        is exact for 2 x 2 only (r x c by Monte Carlo or permutation), so r x c tables are
        enumerated here; tables with more than ``MAX_EXACT_TABLES`` arrangements raise
        :class:`OverflowError`.
    """
    counts = np.asarray(table)
    counts = counts[counts.sum(axis=1) > 0][:, counts.sum(axis=0) > 0]
    if min(counts.shape) < 2:
        return 1.0
    return _fisher_rxc_pvalue(counts)


def chi2_groups(data: pd.DataFrame, *, x: str, y: str) -> pd.DataFrame:
    """Chi-square test of independence of two categorical columns, exact when counts are small.

    Parameters
    ----------
    data : DataFrame
        One row per unit; rows with ``x`` or ``y`` missing are left out.
    x, y : str
        The two columns (for example ``group`` and ``violence_category``).

    Returns
    -------
    DataFrame
        One row: ``statistic`` (Pearson chi-square, no continuity correction), ``df``, ``p_unc``,
        ``method`` (``'chi2'`` or ``'fisher-freeman-halton'``), ``min_expected``.
        ``attrs['table']`` holds the observed table (only levels that occur).

    Notes
    -----
    Where any expected count is below 5 the p value is the exact Fisher-Freeman-Halton one
    (:func:`fisher_freeman_halton`, as R's ``fisher.test``); ``statistic`` and ``df`` still report
    Pearson's chi-square for the text. SPSS prints both in its Crosstabs output (the exact test
    needs its Exact Tests module); SPSS's Pearson chi-square has no continuity correction, as here.
    """
    _require(data, [x, y], "chi2_groups")
    rows = data[[x, y]].dropna()
    table = pd.crosstab(rows[x], rows[y])
    counts = table.to_numpy()
    if min(counts.shape) < 2:
        out = pd.DataFrame(
            {"statistic": [np.nan], "df": [np.nan], "p_unc": [np.nan], "method": ["none"], "min_expected": [np.nan]}
        )
        out.attrs["table"] = table
        return out
    statistic, p, df, expected = sps.chi2_contingency(counts, correction=False)
    min_expected = float(expected.min())
    method = "chi2"
    if min_expected < 5:
        method, p = "fisher-freeman-halton", fisher_freeman_halton(counts)
    out = pd.DataFrame(
        {
            "statistic": [float(statistic)],
            "df": [float(df)],
            "p_unc": [float(p)],
            "method": [method],
            "min_expected": [min_expected],
        }
    )
    out.attrs["table"] = table
    return out


# --------------------------------------------------------------------------------------------
# Welch t-test


def welch_ttest(
    data: pd.DataFrame, *, dv: str, between: str, order: Sequence[str] | None = None
) -> pd.DataFrame:
    """Welch's t-test of ``dv`` between two groups (unequal variances).

    Parameters
    ----------
    data : DataFrame
        One row per unit; missing ``dv`` values are left out.
    dv, between : str
        Outcome and group columns.
    order : sequence of two str, optional
        The groups, first minus second; default the two levels sorted.

    Returns
    -------
    DataFrame
        One row: ``T``, ``dof`` (Welch-Satterthwaite), ``p_unc`` (two-sided), then ``mean_<g>``
        and ``n_<g>`` for each group in ``order``.

    Notes
    -----
    ``scipy.stats.ttest_ind(equal_var=False)``; equals SPSS's 'Equal variances not assumed' row
    and R's default ``t.test``.
    """
    _require(data, [dv, between], "welch_ttest")
    rows = data.loc[data[dv].notna() & data[between].notna(), [between, dv]]
    levels = list(order) if order is not None else sorted(pd.unique(rows[between]))
    if len(levels) != 2:
        raise StatsInputError(ERR_LEVELS.format(func="welch_ttest", col=between, k=2, found=_few(levels)))
    a, b = (rows.loc[rows[between] == lv, dv].to_numpy(float) for lv in levels)
    res = sps.ttest_ind(a, b, equal_var=False)
    out = {"T": float(res.statistic), "dof": float(res.df), "p_unc": float(res.pvalue)}
    out.update({f"mean_{lv}": float(np.mean(v)) if len(v) else np.nan for lv, v in zip(levels, (a, b))})
    out.update({f"n_{lv}": len(v) for lv, v in zip(levels, (a, b))})
    return pd.DataFrame([out])


# --------------------------------------------------------------------------------------------
# effect-size words


def effect_size_word(eta2: float, *, kind: Literal["between", "repeated"]) -> str:
    """The size word of Tabel 1 of the report for an (partial) eta squared.

    Parameters
    ----------
    eta2 : float
        Partial eta squared.
    kind : {'between', 'repeated'}
        'between': difference in means between groups, thresholds .01 / .06 / .14;
        'repeated': repeated measures, thresholds .02 / .13 / .26.

    Returns
    -------
    str
        ``'none'`` below the small threshold, else ``'small'``, ``'medium'`` or ``'large'``;
        a threshold itself belongs to the larger word (0.01 is small). NaN gives ``'none'``.

    Notes
    -----
    Reading of Tabel 1 for the mixed ANOVA (:data:`EFFECT_KIND`): the time effect is a repeated
    measures effect ('repeated'); the group effect and the interaction (a difference between the
    groups in their change) are judged as differences between groups ('between').
    """
    if kind not in THRESHOLDS:
        raise StatsInputError(ERR_KIND.format(allowed=sorted(THRESHOLDS), kind=kind))
    small, medium, large = THRESHOLDS[kind]
    if not eta2 >= small:  # also NaN
        return "none"
    return "large" if eta2 >= large else "medium" if eta2 >= medium else "small"


def describe_effect(
    p: float, eta2: float, kind: Literal["between", "repeated"], *, alpha: float = 0.05
) -> str:
    """Words for the prose: significance and size, following Tabel 1.

    Returns ``'not computable'`` (p is NaN), ``'not significant'`` (p >= alpha),
    ``'significant, too small to call a difference'`` (significant but below 'small': the report
    does not call that a difference), or ``'significant, small|medium|large'``.
    """
    if p is None or not np.isfinite(p):
        return "not computable"
    if p >= alpha:
        return "not significant"
    word = effect_size_word(eta2, kind=kind)
    return "significant, too small to call a difference" if word == "none" else f"significant, {word}"


# --------------------------------------------------------------------------------------------
# error bars


def mean_ci(values, confidence: float = 0.95) -> Estimate:
    """Mean with its t-based confidence interval (missing values left out).

    ``mean +/- t_{(1+confidence)/2, n-1} * sd / sqrt(n)``, as R's ``t.test`` and SPSS Explore;
    the interval is NaN for fewer than two values.
    """
    x = pd.Series(values, dtype=float).dropna().to_numpy()
    n = len(x)
    if n == 0:
        return Estimate(np.nan, np.nan, np.nan, 0)
    mean = float(x.mean())
    if n < 2:
        return Estimate(mean, np.nan, np.nan, n)
    half = sps.t.ppf((1 + confidence) / 2, n - 1) * x.std(ddof=1) / math.sqrt(n)
    return Estimate(mean, mean - half, mean + half, n)


def proportion_ci(values, confidence: float = 0.95) -> Estimate:
    """Proportion of 1s among 0/1 values with its Wilson score interval (missing left out).

    Wilson (1927), recommended by Newcombe (1998) over the Wald interval for small n and
    proportions near 0 or 1; computed by ``statsmodels.stats.proportion.proportion_confint
    (method='wilson')``.
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
