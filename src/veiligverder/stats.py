"""Statistical tests and effect-size words of the effect study (CONTRACT §3).

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

from __future__ import annotations

import math
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
    "FisherResult",
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

MIXED_ANOVA_COLUMNS = ["source", "ss", "df1", "df2", "ms", "F", "p_unc", "np2", "note"]
CATEGORIES = ("none", "mild", "severe")
TIME_LEVELS = ("baseline", "follow_up")

#: Which row of Tabel 1 each mixed-ANOVA effect is judged by (see :func:`effect_size_word`).
EFFECT_KIND: dict[str, str] = {"time": "repeated", "group": "between", "interaction": "between"}

#: Tabel 1 of the report: eta squared thresholds for small, medium, large.
THRESHOLDS: dict[str, tuple[float, float, float]] = {
    "between": (0.01, 0.06, 0.14),
    "repeated": (0.02, 0.13, 0.26),
}
#: Other spellings of the two kinds of Tabel 1 (its row labels).
KIND_ALIASES: dict[str, str] = {"between groups": "between", "repeated measures": "repeated"}

#: An error sum of squares at or below this fraction of the raw sum of squares is zero (rounding).
ZERO_SS = 1e-20

#: Work limit of the exact Fisher-Freeman-Halton network algorithm: the number of partial tables
#: (path x column choice) it may generate, one to two seconds on one core. Tables that need more
#: get a Monte Carlo p value in ``method='auto'`` (R's 4 x 4 and 5 x 7 examples stay exact).
MAX_EXACT_WORK = 5_000_000
#: A column choice (sorted, hashed into a state) counts as this many partial tables of work.
COMBO_COST = 4
#: Draws and seed of the Monte Carlo p value (standard error at most 0.0016 with 100,000 draws).
MC_DRAWS = 100_000
MC_SEED = 20201231
#: R's relative tolerance for "no more probable than the observed table" (``fisher.test``).
REL_TOL = 1e-7

ERR_MISSING_COLUMNS = "{func}: column(s) {missing} not in the data (columns: {have}); pass the right names."
ERR_LEVELS = (
    "{func}: column {col!r} must have {k} levels, found {found}; "
    "select the rows of the levels you want to compare first."
)
ERR_SUBJECT_GROUP = (
    "{func}: subject(s) {bad} appear in more than one level of {col!r}; a subject belongs to one group."
)
ERR_DUPLICATE = (
    "{func}: subject(s) {bad} have more than one row for the same level of {col!r}; "
    "keep one row per subject and time."
)
ERR_GROUPS_LOST = (
    "mixed_anova: column {col!r} must have at least 2 groups with subjects measured at both time "
    "points; {lost} {have} none left (subjects dropped for a missing time point: {dropped}). "
    "Check those subjects' values of {dv!r}, or analyse the remaining group on its own."
)
ERR_KIND = "effect_size_word: kind must be one of {allowed}, got {kind!r}."
ERR_CATEGORY = (
    "stuart_maxwell: column {col!r} holds values {bad} outside the categories {allowed}; "
    "recode them or pass categories=."
)
ERR_COUNTS = (
    "fisher_freeman_halton: the table must hold non-negative whole counts; found {bad}. "
    "Pass the counts of a cross-tabulation (pandas.crosstab), not shares or coded values."
)
ERR_METHOD = "fisher_freeman_halton: method must be one of {allowed}, got {method!r}."


class StatsInputError(ValueError):
    """Input to a statistical function that it cannot analyse (names the column and the fix).

    >>> try:
    ...     effect_size_word(0.1, kind="within")
    ... except StatsInputError as err:
    ...     print(err)
    effect_size_word: kind must be one of ['between', 'between groups', 'repeated', 'repeated measures'], got 'within'.
    """


class Estimate(NamedTuple):
    """A point estimate with its confidence interval and the number of values behind it."""

    estimate: float
    low: float
    high: float
    n: int


class FisherResult(NamedTuple):
    """Result of :func:`fisher_freeman_halton`.

    ``pvalue``; ``method``: ``'exact'`` or ``'monte-carlo'``; ``n_draws``: simulated tables
    (0 when exact); ``se``: Monte Carlo standard error of ``pvalue`` (0.0 when exact).
    """

    pvalue: float
    method: str
    n_draws: int
    se: float


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
    if not values:
        return "none"
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
        raise StatsInputError(ERR_LEVELS.format(func=func, col=within, k="exactly 2", found=_few(levels)))
    rows = data.loc[data[dv].notna() & data[within].isin(levels), [subject, within, dv, *extra]]
    dup = rows.duplicated([subject, within])
    if dup.any():
        raise StatsInputError(
            ERR_DUPLICATE.format(func=func, bad=_few(rows.loc[dup, subject].unique()), col=within)
        )
    wide = rows.pivot(index=subject, columns=within, values=dv).reindex(columns=levels).dropna()
    return wide, levels


def _is_zero_ss(ss: float, raw: float) -> bool:
    """True when a sum of squares is zero up to rounding (see ``ZERO_SS``)."""
    return bool(ss <= ZERO_SS * raw)


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
        - ``np2``: partial eta squared, ``ss / (ss + ss_error)``,
        - ``note``: empty, or why ``F``, ``p_unc`` and ``np2`` are NaN.

        ``attrs['n']`` holds the subjects used per group, ``attrs['dropped']`` the number of
        subjects left out because they lack a value at one of the time points.

    Raises
    ------
    StatsInputError
        A column is missing, ``within`` does not have two levels, a subject is in two groups or
        has two rows for one time point, or fewer than two groups keep a subject with both values
        (the message names the subjects dropped).

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

    Undefined rows (NaN with a note, see the module's conventions): no error degrees of freedom
    (one subject per group: SPSS prints no F), and a zero error sum of squares (every subject in a
    group changed by the same amount, or has the same sum over time: F would be x / 0 and partial
    eta squared a meaningless 1). ``ss``, ``df1``, ``df2`` and ``ms`` stay as computed.

    Examples
    --------
    The hand-computed example of the tests (two subjects per group):

    >>> import pandas as pd
    >>> data = pd.DataFrame({
    ...     "sid": ["s1", "s1", "s2", "s2", "s3", "s3", "s4", "s4"],
    ...     "grp": ["A", "A", "A", "A", "B", "B", "B", "B"],
    ...     "time": ["baseline", "follow_up"] * 4,
    ...     "score": [1, 3, 3, 7, 5, 5, 8, 10],
    ... })
    >>> res = mixed_anova(data, dv="score", within="time", subject="sid", between="grp")
    >>> print(res[["source", "ss", "df1", "df2", "F", "np2"]].round(4).to_string(index=False))
         source   ss  df1  df2    F    np2
           time  8.0  1.0  2.0 8.00 0.8000
          group 24.5  1.0  2.0 1.96 0.4949
    interaction  2.0  1.0  2.0 2.00 0.5000
    >>> round(float(res.loc[0, "p_unc"]), 4)
    0.1056

    One subject per group leaves no error degrees of freedom: no F, no p, no effect size.

    >>> one = data[data["sid"].isin(["s1", "s3"])]
    >>> res = mixed_anova(one, dv="score", within="time", subject="sid", between="grp")
    >>> bool(res.loc[0, ["F", "p_unc", "np2"]].isna().all())
    True
    >>> res.loc[0, "note"]
    'no error degrees of freedom (one subject per group): F, p and partial eta squared undefined'
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
        all_groups = list(pd.unique(group_of))
        if len(all_groups) < 2:
            raise StatsInputError(
                ERR_LEVELS.format(func=func, col=between, k="at least 2", found=_few(all_groups))
            )
        lost = [g for g in all_groups if g not in set(groups)]
        dropped = group_of.index[group_of.isin(lost)]
        raise StatsInputError(
            ERR_GROUPS_LOST.format(
                col=between, lost="group(s) " + _few(lost), have="has" if len(lost) == 1 else "have",
                dropped=_few(dropped), dv=dv,
            )
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
    raw = np.array([(diff**2).sum(), (total**2).sum(), (diff**2).sum()])
    table["ms"] = table["ss"] / table["df1"]
    with np.errstate(divide="ignore", invalid="ignore"):
        table["F"] = table["ms"] / (ss_error / df_err)
        table["np2"] = table["ss"] / (table["ss"] + ss_error)
    table["p_unc"] = sps.f.sf(table["F"], table["df1"], table["df2"])
    notes = [""] * 3
    for i, source in enumerate(table["source"]):
        if df_err == 0:
            notes[i] = "no error degrees of freedom (one subject per group): F, p and partial eta squared undefined"
        elif _is_zero_ss(ss_error[i], raw[i]):
            what = ("every subject in a group has the same total over the two time points" if source == "group"
                    else "every subject in a group changed by the same amount")
            notes[i] = f"no error variance ({what}): F, p and partial eta squared undefined"
    undefined = np.array([bool(n) for n in notes])
    table.loc[undefined, ["F", "p_unc", "np2"]] = np.nan
    table["note"] = notes
    table = table[MIXED_ANOVA_COLUMNS]
    table.attrs["n"] = groups.value_counts().sort_index().to_dict()
    table.attrs["dropped"] = int(data.loc[data[subject].notna(), subject].nunique() - len(wide))
    return table


# --------------------------------------------------------------------------------------------
# Stuart-Maxwell


def _components(adjacent: np.ndarray) -> list[list[int]]:
    """Connected components of an undirected graph given by a boolean adjacency matrix."""
    k = len(adjacent)
    seen, parts = np.zeros(k, bool), []
    for start in range(k):
        if seen[start]:
            continue
        stack, part = [start], []
        seen[start] = True
        while stack:
            i = stack.pop()
            part.append(i)
            for j in np.flatnonzero(adjacent[i] & ~seen):
                seen[j] = True
                stack.append(int(j))
        parts.append(sorted(part))
    return parts


def _stuart_maxwell_table(counts: np.ndarray) -> tuple[float, int]:
    """Stuart-Maxwell statistic ``d' V^+ d`` with the Moore-Penrose inverse, and ``rank(V)``.

    ``d``: row minus column margins; ``V``: their covariance, ``V_ii = n_i. + n_.i - 2 n_ii``,
    ``V_ij = -(n_ij + n_ji)``. Eigenvalues at or below ``sqrt(eps)`` times the largest count as
    zero, the tolerance of coin's ``MPinv``.
    """
    n = np.asarray(counts, dtype=float)
    d = n.sum(axis=1) - n.sum(axis=0)
    v = -(n + n.T)
    np.fill_diagonal(v, n.sum(axis=1) + n.sum(axis=0) - 2 * np.diag(n))
    eig, vec = np.linalg.eigh(v)
    if eig.max(initial=0.0) <= 0:
        return np.nan, 0
    keep = eig > math.sqrt(np.finfo(float).eps) * eig.max()
    proj = vec[:, keep].T @ d
    return float(np.sum(proj**2 / eig[keep])), int(keep.sum())


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
        ``note`` (empty, or why the statistic is NaN or why the df is below ``k - 1``).
        ``attrs['table']`` holds the k x k table (rows: first time point, columns: second).

    Raises
    ------
    StatsInputError
        A column is missing, ``within`` does not have two levels, a subject has two rows for one
        time point, or a value lies outside ``categories``.

    Notes
    -----
    Stuart's (1955) and Maxwell's (1970) statistic ``W = d' V^+ d``, with ``d`` the differences
    between the row and column margins and ``V`` their covariance, on ``df = rank(V)`` degrees
    of freedom, as R's ``coin::mh_test`` computes it (a quadratic form with the Moore-Penrose
    inverse of the covariance). When every category is linked to every other by subjects moving
    between them, ``rank(V) = k - 1`` and ``W`` is the classical statistic, equal to
    statsmodels' ``SquareTable.homogeneity()`` and to R. A category nobody moved into or out of
    (empty, or everyone in it stayed) carries no information about change: it lowers the rank by
    one, wherever it sits in the table, and the statistic is that of the other categories (as
    DescTools' ``StuartMaxwellTest`` documents: such a category is left out). In general
    ``rank(V) = k`` minus the number of groups of categories with no subject moving between the
    groups. Only when nobody changed category (rank 0) is the statistic NaN, with a note.
    SPSS has no Stuart-Maxwell test (its McNemar-Bowker test answers the different question of
    symmetry).

    Examples
    --------
    Everyone in ``none`` stays there; between ``mild`` and ``severe`` 3 move up and 1 down:

    >>> import pandas as pd
    >>> pairs = ([("none", "none")] * 10 + [("mild", "mild")] * 7 + [("mild", "severe")] * 3
    ...          + [("severe", "mild")] * 1 + [("severe", "severe")] * 9)
    >>> data = pd.DataFrame([(i, t, c) for i, pair in enumerate(pairs)
    ...                      for t, c in zip(["baseline", "follow_up"], pair)],
    ...                     columns=["sid", "time", "cat"])
    >>> res = stuart_maxwell(data, dv="cat", within="time", subject="sid")
    >>> res.attrs["table"].to_numpy().tolist()
    [[10, 0, 0], [0, 7, 3], [0, 1, 9]]
    >>> print(res[["statistic", "df", "p_unc", "n"]].round(4).to_string(index=False))
     statistic  df  p_unc  n
           1.0 1.0 0.3173 30
    >>> res.loc[0, "note"]
    "df 1 = rank of the covariance (k - 1 = 2): no subject moved into or out of 'none'"
    """
    wide, levels = _paired_wide(data, dv=dv, within=within, subject=subject, func="stuart_maxwell")
    categories = list(categories)
    bad = set(pd.unique(wide.to_numpy().ravel())) - set(categories)
    if bad:
        raise StatsInputError(ERR_CATEGORY.format(col=dv, bad=_few(sorted(map(str, bad))), allowed=categories))
    k = len(categories)
    codes = [pd.Categorical(wide[lv], categories=categories).codes for lv in levels]
    counts = np.zeros((k, k), dtype=np.int64)
    np.add.at(counts, (codes[0], codes[1]), 1)
    table = pd.DataFrame(counts, index=pd.Index(categories, name=levels[0]),
                         columns=pd.Index(categories, name=levels[1]))
    statistic, df, p, note = np.nan, np.nan, np.nan, ""
    if len(wide) == 0:
        note = f"no subject has a value of {dv!r} at both time points: nothing to test"
    else:
        off = counts - np.diag(np.diag(counts))
        if not off.any():
            note = "no subject changed category: marginal homogeneity holds trivially, no test"
        else:
            statistic, rank = _stuart_maxwell_table(counts)
            df, p = float(rank), float(sps.chi2.sf(statistic, rank))
            if rank < k - 1:
                moved = (off + off.T) > 0
                isolated = [categories[i] for i in range(k) if not moved[i].any()]
                linked = [part for part in _components(moved) if len(part) > 1]
                reasons = []
                if isolated:
                    empty = [c for c in isolated if counts[categories.index(c)].sum() == 0
                             and counts[:, categories.index(c)].sum() == 0]
                    reasons.append("no subject moved into or out of " + _few(isolated)
                                   + (f" (empty: {_few(empty)})" if empty else ""))
                if len(linked) > 1:
                    reasons.append("no subject moved between the groups of categories "
                                   + " | ".join("{" + ", ".join(categories[i] for i in part) + "}"
                                                for part in linked))
                note = f"df {rank} = rank of the covariance (k - 1 = {k - 1}): " + "; ".join(reasons)
    out = pd.DataFrame(
        {"statistic": [statistic], "df": [df], "p_unc": [p], "n": [len(wide)], "note": [note]}
    )
    out.attrs["table"] = table
    return out


# --------------------------------------------------------------------------------------------
# Fisher-Freeman-Halton


class _TooLarge(Exception):
    """The exact network algorithm would exceed its work limit."""


def _expand(nodes: np.ndarray, total: int, limit: float) -> tuple[np.ndarray, np.ndarray]:
    """Every column ``x`` with ``0 <= x <= R`` and ``sum(x) = total`` for each row-sum state ``R``.

    Returns the index of the state each column belongs to and the columns (one per row).
    """
    n, r = nodes.shape
    tail = np.cumsum(nodes[:, ::-1], axis=1)[:, ::-1]  # tail[:, i] = sum of R_i .. R_r
    parent = np.arange(n)
    left = np.full(n, total, dtype=np.int64)
    columns: list[np.ndarray] = []
    for i in range(r - 1):
        low = np.maximum(0, left - tail[parent, i + 1])
        high = np.minimum(nodes[parent, i], left)
        width = high - low + 1
        size = int(width.sum())
        if size > limit:
            raise _TooLarge
        rep = np.repeat(np.arange(len(parent)), width)
        value = low[rep] + (np.arange(size) - np.repeat(np.cumsum(width) - width, width))
        columns = [c[rep] for c in columns] + [value]
        parent, left = parent[rep], left[rep] - value
    columns.append(left)
    return parent, np.column_stack(columns)


def _unique_rows(states: np.ndarray, base: int) -> tuple[np.ndarray, np.ndarray]:
    """Distinct rows of a non-negative integer matrix (entries < base) and the inverse index."""
    n, r = states.shape
    if r * math.log2(base) < 62:
        code = states[:, 0].astype(np.int64)
        for i in range(1, r):
            code = code * base + states[:, i]
        _, first, inverse = np.unique(code, return_index=True, return_inverse=True)
        return states[first], inverse.ravel()
    order = np.lexsort(states.T[::-1])
    ordered = states[order]
    new = np.r_[True, (ordered[1:] != ordered[:-1]).any(axis=1)]
    inverse = np.empty(n, dtype=np.int64)
    inverse[order] = np.cumsum(new) - 1
    return ordered[new], inverse


def _path_bounds(states: np.ndarray, rest: np.ndarray, lf: np.ndarray):
    """For each row-sum state, bounds on the completions by the remaining columns ``rest``.

    Returns ``low`` <= the smallest and ``high`` >= the largest ``sum log x!`` of a completion,
    and the log of the total mass ``sum over completions of prod 1 / x!``, which is
    ``M! / (prod R_i! prod c_j!)``. ``low`` relaxes one margin at a time (spreading each row, or
    each column, as evenly as possible); ``high`` fills the largest cells first, row by row
    under the column sums, or column by column under the row sums, and keeps the smaller.
    """
    n, r = states.shape
    m = len(rest)
    q, rem = np.divmod(states, m)
    low_rows = (rem * lf[q + 1] + (m - rem) * lf[q]).sum(axis=1)
    q, rem = np.divmod(rest, r)
    low_cols = float((rem * lf[q + 1] + (r - rem) * lf[q]).sum())
    low = np.maximum(low_rows, low_cols)
    caps = np.sort(rest)[::-1]
    before = np.r_[0, np.cumsum(caps)[:-1]]
    cells = np.clip(states[:, :, None] - before[None, None, :], 0, caps[None, None, :])
    high_rows = lf[cells].sum(axis=(1, 2))
    desc = states[:, ::-1]
    before = np.concatenate([np.zeros((n, 1), np.int64), np.cumsum(desc, axis=1)[:, :-1]], axis=1)
    cells = np.clip(caps[None, :, None] - before[:, None, :], 0, desc[:, None, :])
    high_cols = lf[cells].sum(axis=(1, 2))
    log_mass = lf[states.sum(axis=1)] - lf[states].sum(axis=1) - lf[rest].sum()
    return low, np.minimum(high_rows, high_cols), log_mass


def _fisher_exact_network(table: np.ndarray, max_work: float | None = MAX_EXACT_WORK) -> float:
    """Exact Fisher-Freeman-Halton p value by a network algorithm (Mehta & Patel, 1983).

    The table is built column by column. A node is the multiset of row sums still to fill (rows
    are interchangeable, so the sorted vector is the key); a path to it carries the part of
    ``sum log x!`` fixed so far, and paths with the same node and the same value (to 1e-8) are
    merged, their multiplicities added. At each node, bounds on the remaining part
    (:func:`_path_bounds`) settle whole bundles of tables at once: when even the most probable
    completion is no more probable than the observed table, all completions count and their
    total probability is added in closed form; when even the least probable one is more probable,
    none do. The last two columns are settled exactly: each choice of the next-to-last column
    fixes the table, and the pasts of a node are matched against its sorted completions.

    Probabilities are handled in log space. A table counts when its probability is at most the
    observed one times ``1 + REL_TOL`` (R's ``fisher.test``). Raises :class:`_TooLarge` when more
    than ``max_work`` partial tables would be generated.
    """
    t = np.asarray(table, dtype=np.int64)
    if t.shape[0] > t.shape[1]:
        t = t.T  # fewer rows: smaller states
    rows, cols = np.sort(t.sum(axis=1)), np.sort(t.sum(axis=0))
    total = int(t.sum())
    lf = special.gammaln(np.arange(total + 2) + 1.0)
    const = lf[rows].sum() + lf[cols].sum() - lf[total]
    s_crit = lf[t].sum() - math.log1p(REL_TOL)  # tables with sum log x! >= s_crit count
    limit = math.inf if max_work is None else float(max_work)
    nodes = rows[None, :]
    path_node, past, weight = np.array([0]), np.array([0.0]), np.array([0.0])  # weight: log count
    p, work = 0.0, 0
    for j in range(len(cols) - 1):
        parent, x = _expand(nodes, int(cols[j]), (limit - work) / COMBO_COST)
        work += COMBO_COST * len(x)
        if work > limit:
            raise _TooLarge
        child = nodes[parent] - x
        step = lf[x].sum(axis=1)
        if j == len(cols) - 2:  # the last column is fixed by the remaining row sums
            future = step + lf[child].sum(axis=1)
            order = np.lexsort((future, parent))
            future, parent = future[order], parent[order]
            starts = np.searchsorted(parent, np.arange(len(nodes)), side="left")
            ends = np.searchsorted(parent, np.arange(len(nodes)), side="right")
            path_starts = np.searchsorted(path_node, np.arange(len(nodes)), side="left")
            path_ends = np.searchsorted(path_node, np.arange(len(nodes)), side="right")
            work += len(past) + 50 * len(nodes)
            if work > limit:
                raise _TooLarge
            for node in range(len(nodes)):
                f = future[starts[node]:ends[node]]
                a, b = path_starts[node], path_ends[node]
                if not len(f) or a == b:
                    continue
                mass = np.r_[np.cumsum(np.exp(f[0] - f)[::-1])[::-1], 0.0]  # mass of f[i:]
                idx = np.searchsorted(f, s_crit - past[a:b], side="left")
                p += float(np.sum(np.exp(const + weight[a:b] - past[a:b] - f[0]) * mass[idx]))
            break
        per_path = np.bincount(parent, minlength=len(nodes))[path_node]
        first_choice = np.r_[0, np.cumsum(np.bincount(parent, minlength=len(nodes)))[:-1]]
        size = int(per_path.sum())
        work += size
        if work > limit:
            raise _TooLarge
        states, inverse = _unique_rows(np.sort(child, axis=1), total + 1)
        rep = np.repeat(np.arange(len(past)), per_path)
        choice = first_choice[path_node[rep]] + (np.arange(size) - np.repeat(np.cumsum(per_path) - per_path, per_path))
        s, w, key = past[rep] + step[choice], weight[rep], inverse[choice]
        low, high, log_mass = _path_bounds(states, cols[j + 1:], lf)
        settled = s + low[key] >= s_crit
        if settled.any():
            p += float(np.exp(const + w[settled] - s[settled] + log_mass[key[settled]]).sum())
        keep = ~settled & (s + high[key] >= s_crit)
        s, w, key = s[keep], w[keep], key[keep]
        if not len(s):
            break
        rounded = np.round(s * 1e8).astype(np.int64)
        order = np.lexsort((rounded, key))
        s, w, key, rounded = s[order], w[order], key[order], rounded[order]
        new = np.r_[True, (key[1:] != key[:-1]) | (rounded[1:] != rounded[:-1])]
        first = np.flatnonzero(new)
        top = np.maximum.reduceat(w, first)
        w = top + np.log(np.add.reduceat(np.exp(w - top[np.cumsum(new) - 1]), first))
        s, key = s[first], key[first]
        used, path_node = np.unique(key, return_inverse=True)
        nodes, path_node, past, weight = states[used], path_node.ravel(), s, w
    return min(1.0, p)


def _fisher_monte_carlo(table: np.ndarray, n_draws: int, seed: int) -> tuple[float, float]:
    """Monte Carlo p value and its standard error, as R's ``fisher.test(simulate.p.value=TRUE)``.

    ``n_draws`` tables with the observed margins are drawn by Patefield's (1981) algorithm
    (``scipy.stats.random_table``, seeded); ``p = (1 + #{drawn tables no more probable than the
    observed one}) / (n_draws + 1)``, with the tolerance ``REL_TOL``; ``se = sqrt(p (1 - p) /
    n_draws)``.
    """
    t = np.asarray(table, dtype=np.int64)
    s_crit = special.gammaln(t + 1.0).sum() - math.log1p(REL_TOL)
    dist = sps.random_table(t.sum(axis=1), t.sum(axis=0), seed=np.random.default_rng(seed))
    hits, done = 0, 0
    while done < n_draws:
        size = min(20_000, n_draws - done)
        draws = dist.rvs(size=size, method="patefield")
        hits += int((special.gammaln(draws + 1.0).sum(axis=(1, 2)) >= s_crit).sum())
        done += size
    p = (1 + hits) / (n_draws + 1)
    return p, math.sqrt(p * (1 - p) / n_draws)


def _check_counts(table) -> np.ndarray:
    """The table as a 2-D integer array, or StatsInputError naming the offending entries."""
    try:
        values = np.asarray(table, dtype=float)
    except (TypeError, ValueError):
        raise StatsInputError(ERR_COUNTS.format(bad="values that are not numbers")) from None
    if values.ndim != 2:
        raise StatsInputError(ERR_COUNTS.format(bad=f"an array with {values.ndim} dimension(s), not a 2-D table"))
    bad = values[~np.isfinite(values) | (values < 0) | (values != np.round(values))]
    if bad.size:
        raise StatsInputError(ERR_COUNTS.format(bad=_few(sorted({float(v) for v in bad}, key=str))))
    return values.astype(np.int64)


def fisher_freeman_halton(
    table: np.ndarray | pd.DataFrame,
    *,
    method: Literal["auto", "exact", "monte-carlo"] = "auto",
    n_draws: int = MC_DRAWS,
    seed: int = MC_SEED,
) -> FisherResult:
    """Fisher-Freeman-Halton test of independence for an r x c table (two-sided).

    Parameters
    ----------
    table : array_like of int
        Counts (non-negative whole numbers); empty rows or columns are dropped first.
    method : {'auto', 'exact', 'monte-carlo'}
        'exact': the network algorithm, however long it takes; 'monte-carlo': simulated tables;
        'auto' (default): exact unless the network algorithm would generate more than
        ``MAX_EXACT_WORK`` partial tables (one to two seconds), then Monte Carlo.
    n_draws, seed : int
        Number of simulated tables and the seed of the Monte Carlo p value.

    Returns
    -------
    FisherResult
        ``pvalue``, ``method`` (``'exact'`` or ``'monte-carlo'``), ``n_draws`` (0 when exact) and
        ``se`` (the Monte Carlo standard error; 0.0 when exact).

    Raises
    ------
    StatsInputError
        The table is not 2-D or holds negative, fractional, missing or infinite entries.

    Notes
    -----
    The p value is the probability, given the margins, of a table no more probable than the
    observed one (Freeman & Halton, 1951), with R's relative tolerance of 1e-7, as R's
    ``fisher.test``. The exact value comes from a network algorithm in the spirit of Mehta &
    Patel (1983) and R's FEXACT (:func:`_fisher_exact_network`), which settles whole bundles
    of tables at once instead of listing them: R's 4 x 4 job-satisfaction example (N = 96)
    takes well under a second. The Monte Carlo p value follows R's ``simulate.p.value``:
    ``(1 + #{simulated tables no more probable}) / (n_draws + 1)``, tables drawn with the
    observed margins by Patefield's algorithm. ``scipy.stats.fisher_exact`` (scipy 1.17) is
    exact for 2 x 2 only. A table with fewer than two non-empty rows or columns has p = 1.

    Examples
    --------
    Cardillo's MyFisher23 example (p = 0.088235):

    >>> res = fisher_freeman_halton([[0, 3, 2], [6, 5, 1]])
    >>> round(res.pvalue, 6), res.method
    (0.088235, 'exact')

    The same table by simulation, with its standard error:

    >>> mc = fisher_freeman_halton([[0, 3, 2], [6, 5, 1]], method="monte-carlo", n_draws=20_000)
    >>> mc.method, mc.n_draws, abs(mc.pvalue - res.pvalue) < 4 * mc.se
    ('monte-carlo', 20000, True)

    Shares are not counts:

    >>> fisher_freeman_halton([[0.5, 0.5], [0.2, 0.8]])
    Traceback (most recent call last):
    ...
    veiligverder.stats.StatsInputError: fisher_freeman_halton: the table must hold non-negative whole counts; found 0.2, 0.5, 0.8. Pass the counts of a cross-tabulation (pandas.crosstab), not shares or coded values.
    """
    if method not in ("auto", "exact", "monte-carlo"):
        raise StatsInputError(ERR_METHOD.format(allowed=["auto", "exact", "monte-carlo"], method=method))
    counts = _check_counts(table)
    counts = counts[counts.sum(axis=1) > 0][:, counts.sum(axis=0) > 0]
    if min(counts.shape, default=0) < 2:
        return FisherResult(1.0, "exact", 0, 0.0)
    if method != "monte-carlo":
        try:
            p = _fisher_exact_network(counts, None if method == "exact" else MAX_EXACT_WORK)
            return FisherResult(p, "exact", 0, 0.0)
        except (_TooLarge, MemoryError):
            pass
    p, se = _fisher_monte_carlo(counts, n_draws, seed)
    return FisherResult(p, "monte-carlo", int(n_draws), se)


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
        ``method`` (``'chi2'``, ``'fisher-freeman-halton'`` (exact) or ``'fisher-freeman-halton
        (monte carlo)'``), ``min_expected``, ``n_draws`` and ``se`` (Monte Carlo draws and
        standard error of ``p_unc``; 0 when the p value is not simulated), ``note`` (empty, or why
        the numbers are NaN, or the Monte Carlo details). ``attrs['table']`` holds the observed
        table (only levels that occur).

    Notes
    -----
    Where any expected count is below 5 the p value is the Fisher-Freeman-Halton one
    (:func:`fisher_freeman_halton`, as R's ``fisher.test``): exact, or for tables beyond the
    exact algorithm's work limit a seeded Monte Carlo value with its number of draws and standard
    error; ``statistic`` and ``df`` still report Pearson's chi-square for the text. SPSS prints
    both in its Crosstabs output (the exact test needs its Exact Tests module); SPSS's Pearson
    chi-square has no continuity correction, as here. With fewer than two levels of ``x`` or
    ``y`` there is nothing to test: NaN with a note. No table of counts makes this function raise.

    Examples
    --------
    >>> import pandas as pd
    >>> data = pd.DataFrame({"group": ["VV"] * 10 + ["control"] * 11,
    ...                      "outcome": ["a"] * 7 + ["b"] * 3 + ["a"] * 3 + ["b"] * 8})
    >>> res = chi2_groups(data, x="group", y="outcome")
    >>> res.attrs["table"].to_numpy().tolist()
    [[7, 3], [3, 8]]
    >>> print(res[["statistic", "df", "p_unc", "method", "min_expected"]].round(4).to_string(index=False))
     statistic  df  p_unc                method  min_expected
        3.8338 1.0 0.0861 fisher-freeman-halton        4.7619
    """
    _require(data, [x, y], "chi2_groups")
    rows = data[[x, y]].dropna()
    table = pd.crosstab(rows[x], rows[y])
    counts = table.to_numpy()
    if min(counts.shape) < 2:
        short = [f"{col!r} has {_few(levels)}" for col, levels in ((x, table.index), (y, table.columns))
                 if len(levels) < 2]
        out = pd.DataFrame(
            {"statistic": [np.nan], "df": [np.nan], "p_unc": [np.nan], "method": ["none"],
             "min_expected": [np.nan], "n_draws": [0], "se": [0.0],
             "note": ["fewer than two levels to compare (" + "; ".join(short) + "): nothing to test"]}
        )
        out.attrs["table"] = table
        return out
    statistic, p, df, expected = sps.chi2_contingency(counts, correction=False)
    min_expected = float(expected.min())
    method, n_draws, se, note = "chi2", 0, 0.0, ""
    if min_expected < 5:
        res = fisher_freeman_halton(counts)
        p, n_draws, se = res.pvalue, res.n_draws, res.se
        method = "fisher-freeman-halton" if res.method == "exact" else "fisher-freeman-halton (monte carlo)"
        if res.method != "exact":
            note = (f"Monte Carlo p value: {res.n_draws} tables with the observed margins (seed {MC_SEED}), "
                    f"standard error {res.se:.4f}; the table is beyond the exact algorithm's work limit")
    out = pd.DataFrame(
        {
            "statistic": [float(statistic)],
            "df": [float(df)],
            "p_unc": [float(p)],
            "method": [method],
            "min_expected": [min_expected],
            "n_draws": [int(n_draws)],
            "se": [float(se)],
            "note": [note],
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
        and ``n_<g>`` for each group in ``order``, and ``note`` (empty, or why ``T``, ``dof``
        and ``p_unc`` are NaN).

    Raises
    ------
    StatsInputError
        A column is missing, or ``between`` does not have two levels (or ``order`` does not
        name two).

    Notes
    -----
    ``scipy.stats.ttest_ind(equal_var=False)``; equals SPSS's 'Equal variances not assumed' row
    and R's default ``t.test``. Undefined (NaN with a note): a group with fewer than two values
    (its variance is undefined; scipy would report ``dof = 1``), and two groups that each hold one
    value only, repeated (zero standard error: scipy would report ``T = -inf, p = 0``).

    Examples
    --------
    >>> import pandas as pd
    >>> data = pd.DataFrame({"grp": ["VV"] * 4 + ["control"] * 5,
    ...                      "y": [5.0, 6.0, 7.0, 6.5, 4.0, 5.5, 3.0, 4.5, 5.0]})
    >>> res = welch_ttest(data, dv="y", between="grp", order=["VV", "control"])
    >>> print(res.drop(columns="note").round(4).to_string(index=False))
         T    dof  p_unc  mean_VV  mean_control  n_VV  n_control
    2.8463 6.8712 0.0253    6.125           4.4     4          5

    >>> welch_ttest(data.iloc[3:], dv="y", between="grp").loc[0, "note"]
    "group 'VV' has 1 value(s): its variance, and with it T, dof and p, is undefined"
    """
    _require(data, [dv, between], "welch_ttest")
    rows = data.loc[data[dv].notna() & data[between].notna(), [between, dv]]
    levels = list(order) if order is not None else sorted(pd.unique(rows[between]))
    if len(levels) != 2:
        raise StatsInputError(ERR_LEVELS.format(func="welch_ttest", col=between, k="exactly 2", found=_few(levels)))
    a, b = (rows.loc[rows[between] == lv, dv].to_numpy(float) for lv in levels)
    small = [f"group {lv!r} has {len(v)} value(s)" for lv, v in zip(levels, (a, b)) if len(v) < 2]
    note = ""
    if small:
        note = "; ".join(small) + ": its variance, and with it T, dof and p, is undefined"
    elif np.ptp(a) == 0 and np.ptp(b) == 0:
        note = "every value is the same within each group (zero standard error): T, dof and p are undefined"
    if note:
        out = {"T": np.nan, "dof": np.nan, "p_unc": np.nan}
    else:
        res = sps.ttest_ind(a, b, equal_var=False)
        out = {"T": float(res.statistic), "dof": float(res.df), "p_unc": float(res.pvalue)}
    out.update({f"mean_{lv}": float(np.mean(v)) if len(v) else np.nan for lv, v in zip(levels, (a, b))})
    out.update({f"n_{lv}": len(v) for lv, v in zip(levels, (a, b))})
    out["note"] = note
    return pd.DataFrame([out])


# --------------------------------------------------------------------------------------------
# effect-size words


def effect_size_word(eta2: float | None, *, kind: Literal["between", "repeated"]) -> str:
    """The size word of Tabel 1 of the report for an (partial) eta squared.

    This is the one place where Tabel 1's thresholds turn into words; :func:`describe_effect`
    and the chapters use it.

    Parameters
    ----------
    eta2 : float
        Partial eta squared.
    kind : {'between', 'repeated'}
        'between' (or 'between groups'): difference in means between groups, thresholds
        .01 / .06 / .14; 'repeated' (or 'repeated measures'): repeated measures, thresholds
        .02 / .13 / .26 (:data:`THRESHOLDS`).

    Returns
    -------
    str
        ``'none'`` below the small threshold (the report does not call that a difference), else
        ``'small'``, ``'medium'`` or ``'large'``; a threshold itself belongs to the larger word
        (0.01 is small). A NaN or None eta squared (an undefined effect size) gives no word:
        the empty string ``''``.

    Notes
    -----
    Reading of Tabel 1 for the mixed ANOVA (:data:`EFFECT_KIND`): the time effect is a repeated
    measures effect ('repeated'); the group effect and the interaction (a difference between the
    groups in their change) are judged as differences between groups ('between').

    Examples
    --------
    The report's time effect on total violence (Figuur 2), eta squared .24, by Tabel 1:

    >>> effect_size_word(0.24, kind="repeated")
    'medium'
    >>> effect_size_word(0.24, kind="between")
    'large'
    >>> effect_size_word(0.005, kind="between")
    'none'
    >>> effect_size_word(float("nan"), kind="repeated")
    ''
    """
    kind = KIND_ALIASES.get(kind, kind)
    if kind not in THRESHOLDS:
        raise StatsInputError(ERR_KIND.format(allowed=sorted([*THRESHOLDS, *KIND_ALIASES]), kind=kind))
    if eta2 is None or not np.isfinite(eta2):
        return ""
    small, medium, large = THRESHOLDS[kind]
    if eta2 < small:
        return "none"
    return "large" if eta2 >= large else "medium" if eta2 >= medium else "small"


def describe_effect(
    p: float | None, eta2: float | None, kind: Literal["between", "repeated"], *, alpha: float = 0.05
) -> str:
    """Words for the prose: significance and size, following Tabel 1 (:func:`effect_size_word`).

    Returns ``'not computable'`` (p is NaN or None), ``'not significant'`` (p >= alpha),
    ``'significant, too small to call a difference'`` (significant but below 'small': the report
    does not call that a difference), ``'significant, small|medium|large'``, or
    ``'significant, size not computable'`` (eta squared is NaN).

    Examples
    --------
    >>> describe_effect(0.001, 0.24, "repeated")
    'significant, medium'
    >>> describe_effect(0.03, 0.005, "between")
    'significant, too small to call a difference'
    >>> describe_effect(0.2, 0.3, "between")
    'not significant'
    >>> describe_effect(float("nan"), float("nan"), "between")
    'not computable'
    """
    if p is None or not np.isfinite(p):
        return "not computable"
    if p >= alpha:
        return "not significant"
    word = effect_size_word(eta2, kind=kind)
    if word == "":
        return "significant, size not computable"
    return "significant, too small to call a difference" if word == "none" else f"significant, {word}"


# --------------------------------------------------------------------------------------------
# error bars


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
    x = pd.Series(values, dtype=float).dropna().to_numpy()
    n = len(x)
    if n == 0:
        return Estimate(np.nan, np.nan, np.nan, 0)
    mean = float(x.mean())
    if n < 2:
        return Estimate(mean, np.nan, np.nan, n)
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
