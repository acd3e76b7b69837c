"""Shared pieces of the statistics package: input errors, result types, input checks."""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
import pandas as pd

from veiligverder.vocab import TIMES as TIME_LEVELS


MIXED_ANOVA_COLUMNS = ["source", "ss", "df1", "df2", "ms", "F", "p_unc", "np2", "note"]

#: An error sum of squares at or below this fraction of the raw sum of squares is zero (rounding).
ZERO_SS = 1e-20

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

    >>> from veiligverder.stats import effect_size_word
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


