"""Welch's t-test of two groups with unequal variances."""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats as sps
from veiligverder.stats._base import ERR_LEVELS, StatsInputError, _few, _require


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
        with warnings.catch_warnings():
            # one group of identical values is a valid case (its variance is 0; the standard error is
            # the other group's), where scipy warns of "precision loss" computing that zero variance
            warnings.filterwarnings("ignore", "Precision loss occurred", RuntimeWarning)
            res = sps.ttest_ind(a, b, equal_var=False)
        out = {"T": float(res.statistic), "dof": float(res.df), "p_unc": float(res.pvalue)}
    out.update({f"mean_{lv}": float(np.mean(v)) if len(v) else np.nan for lv, v in zip(levels, (a, b))})
    out.update({f"n_{lv}": len(v) for lv, v in zip(levels, (a, b))})
    out["note"] = note
    return pd.DataFrame([out])


# --------------------------------------------------------------------------------------------
# effect-size words


